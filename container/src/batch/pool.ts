/**
 * The model workers of a batch run: worker threads, each with its own onnxruntime session. A chunk goes
 * to the worker with the fewest chunks in hand; the chunk's bytes are transferred, not copied.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { cachedEntry } from './code-cache';
import { startOnnxruntime } from './onnxruntime-start';
import type { ChunkRequest, WorkerBoot, WorkerInit, WorkerMessage } from './types';

type Done = Extract<WorkerMessage, { kind: 'done' }>;

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, { resolve: (d: Done) => void; reject: (e: Error) => void }>;
}

/** A roomy young generation: each chunk makes many short-lived strings and objects, and small semi-spaces mean constant scavenges. */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 64 };

/** How to start a worker: from the TypeScript source (tsx, tests) or from the bundle's own worker file. */
function spawn(boot: WorkerBoot, script?: string): Worker {
  const source = path.join(__dirname, 'worker.ts');
  if (!script && __filename.endsWith('.ts') && existsSync(source)) {
    // Running from source: let tsx compile the worker too.
    const code = `require('tsx/cjs/api').register(); require(${JSON.stringify(source)});`;
    return new Worker(code, { eval: true, workerData: boot, resourceLimits: RESOURCE_LIMITS });
  }
  const file = script ?? path.join(__dirname, 'batch-worker.js');
  if (!existsSync(file))
    throw new Error(
      `The batch worker script ${file} is missing: bundle container/src/batch/worker.ts as batch-worker.js beside the entry.`,
    );
  // Run from V8's code cache beside the bundle when there is one (`code-cache.ts`).
  return new Worker(cachedEntry(file), {
    eval: true,
    workerData: boot,
    resourceLimits: RESOURCE_LIMITS,
    execArgv: withoutTsx(process.execArgv),
  });
}

const PRELOAD_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * The parent's node flags minus TypeScript loaders: a bundled worker is plain JavaScript, and a worker
 * inherits `--import tsx` (the bench, `npx tsx`), whose loader costs about 0.14 CPU s per worker at start.
 */
export function withoutTsx(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i] as string; // i < length
    const eq = a.indexOf('=');
    const [flag, value] = eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, execArgv[i + 1]];
    if (PRELOAD_FLAGS.has(flag) && value !== undefined && isTsx(value)) {
      if (eq < 0) i++;
      continue;
    }
    kept.push(a);
  }
  return kept;
}

const isTsx = (module: string) => module === 'tsx' || module.startsWith('tsx/') || /[\\/]node_modules[\\/]tsx[\\/]/.test(module);

export class WorkerPool {
  private failure: Error | undefined;
  private constructor(private readonly slots: Slot[]) {}

  /**
   * Starts `count` workers and waits until each has loaded the model; `configure` then gives them the
   * run's settings, so the caller can open its input while the workers start.
   */
  static async start(count: number, boot: WorkerBoot, script?: string): Promise<WorkerPool> {
    const slots: Slot[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const worker = spawn(boot, script);
      const slot: Slot = { worker, pending: new Map() };
      slots.push(slot);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: WorkerMessage) => {
            if (m.kind === 'ready') resolve();
            else if (m.kind === 'failed') reject(new Error(m.message));
            worker.off('message', onMessage);
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
        }),
      );
    }
    // The workers' threads take tens of milliseconds to boot: onnxruntime's environment is made meanwhile.
    startOnnxruntime();
    const pool = new WorkerPool(slots);
    try {
      await Promise.all(ready);
    } catch (e) {
      await pool.close();
      throw e;
    }
    for (const slot of slots) pool.listen(slot);
    return pool;
  }

  /** The run's settings, every worker's first message: chunks may follow at once. */
  configure(init: WorkerInit): void {
    for (const slot of this.slots) slot.worker.postMessage(init);
  }

  /** Chunks sent and not yet answered. */
  get inFlight(): number {
    return this.slots.reduce((n, s) => n + s.pending.size, 0);
  }

  submit(req: ChunkRequest): Promise<Done> {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return new Promise<Done>((resolve, reject) => {
      slot.pending.set(req.seq, { resolve, reject });
      const buffer = req.bytes.buffer as ArrayBuffer;
      slot.worker.postMessage(req, req.answers ? [buffer, req.answers] : [buffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private listen(slot: Slot): void {
    slot.worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'done') {
        const p = slot.pending.get(m.seq);
        slot.pending.delete(m.seq);
        p?.resolve(m);
      } else if (m.kind === 'failed') this.fail(new Error(m.message));
    });
    slot.worker.on('error', (e) => this.fail(e));
    slot.worker.on('exit', (code) => {
      if (slot.pending.size > 0) this.fail(new Error(`A batch worker exited with code ${code} while predicting.`));
    });
  }

  /** A worker failure ends the run: every chunk in hand is rejected with the cause. */
  private fail(e: Error): void {
    this.failure ??= e;
    for (const slot of this.slots) {
      for (const p of slot.pending.values()) p.reject(this.failure);
      slot.pending.clear();
    }
  }
}
