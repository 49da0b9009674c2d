/**
 * Decodes a request's images on a worker thread, so the event loop stays free for `/ping` and other
 * requests, and abandons the work when the caller's deadline passes or the caller goes away: the thread
 * is terminated mid-decode and a fresh one starts for the next request.
 *
 * The headers of every image are checked here first against the request's pixel budget, so a request
 * that could not be decoded within it is refused before any decoding starts.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ApiError, type ErrorCode, errorMessage } from '../../contract/errors';
import { maxImagePixels } from '../../contract/limits';
import type { ImageInput } from '../../contract/manifest';
import { PixelBudget, readImageHeader } from './image';

export interface DecodeJob {
  id: number;
  input: ImageInput;
  images: { b64: string; field: string }[];
}

export type DecodeResult =
  | { id: number; rows: Float32Array[] }
  | { id: number; error: { code: ErrorCode; message: string; field?: string } };

interface Pending {
  readonly worker: Worker;
  resolve(rows: Float32Array[]): void;
  reject(e: unknown): void;
}

export class ImageDecoder {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Jobs run one at a time on the thread; this chain keeps them in order. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Threads started so far (tests check an abandoned decode cost a restart). */
  started = 0;

  constructor(
    private readonly input: ImageInput,
    private readonly script?: string,
  ) {}

  /** Rows for `images`, in order; rejects with the decode error, or with `signal.reason` once aborted. */
  decode(images: { b64: string; field: string }[], signal?: AbortSignal): Promise<Float32Array[]> {
    // Cheap checks first, on this thread: structure and claimed sizes against the request's budget.
    const budget = new PixelBudget(this.input);
    const perImage = maxImagePixels(this.input.width, this.input.height);
    for (const img of images) budget.charge(readImageHeader(Buffer.from(img.b64, 'base64'), perImage, img.field), img.field);
    const run = this.queue.then(() => this.runJob(images, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private runJob(images: { b64: string; field: string }[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.worker ??= this.spawn();
    const worker = this.worker;
    const id = this.nextId++;
    return new Promise<Float32Array[]>((resolve, reject) => {
      const onAbort = () => {
        // The caller gave up: stop the decode where it is.
        this.pending.delete(id);
        this.worker = undefined;
        void worker.terminate();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        worker,
        resolve: (rows) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(rows);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      worker.postMessage({ id, input: this.input, images } satisfies DecodeJob);
    });
  }

  private spawn(): Worker {
    this.started++;
    const worker = startWorker(this.script);
    worker.on('message', (m: DecodeResult) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('rows' in m) p.resolve(m.rows);
      else p.reject(new ApiError(m.error.code, m.error.message, m.error.field));
    });
    const fail = (e: unknown) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, p] of this.pending) {
        if (p.worker !== worker) continue;
        this.pending.delete(id);
        p.reject(new ApiError('INTERNAL', `Image decoding failed: ${errorMessage(e)}`));
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the decoding thread exited with code ${code}`)));
    worker.unref();
    return worker;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}

/** From the TypeScript source (tsx, tests) or from the bundle's own `decode-worker.js`. */
function startWorker(script?: string): Worker {
  const source = path.join(__dirname, 'decode-worker.ts');
  if (!script && __filename.endsWith('.ts') && existsSync(source)) {
    return new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(source)});`, { eval: true });
  }
  const file = script ?? path.join(__dirname, 'decode-worker.js');
  if (!existsSync(file))
    throw new Error(
      `The image decoding script ${file} is missing: bundle container/src/decode-worker.ts as decode-worker.js beside the entry.`,
    );
  return new Worker(file);
}
