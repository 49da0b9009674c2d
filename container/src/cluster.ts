/**
 * All cores: the primary process only supervises (forks one worker per core, restarts a dead one,
 * forwards SIGTERM); each worker runs its own server and onnxruntime session on the shared port.
 */
import cluster, { Worker } from 'node:cluster';
import { ENV } from '../../contract/env';
import { ServeSettings } from './config';
import { log } from './log';
import { resolveModelDir } from './model-source';
import { startInProcess } from './server';

const RESTART_DELAY_MS = 1000;

interface ReadyMessage {
  type: 'ready';
  port: number;
}

function isReady(m: unknown): m is ReadyMessage {
  return typeof m === 'object' && m !== null && (m as ReadyMessage).type === 'ready';
}

export async function serveCluster(settings: ServeSettings, host: string): Promise<void> {
  if (cluster.isPrimary) await runPrimary(settings);
  else await runWorker(settings, host);
}

async function runPrimary(settings: ServeSettings): Promise<void> {
  // Download from S3 once, here, rather than once per worker.
  const modelDir = await resolveModelDir({ modelDir: settings.modelDir });
  let stopping = false;
  let announced = false;
  const ready = new Set<number>();

  const fork = (): Worker => {
    const worker = cluster.fork({ [ENV.MODEL_DIR]: modelDir });
    worker.on('message', (m: unknown) => {
      if (!isReady(m)) return;
      ready.add(worker.id);
      if (!announced && ready.size >= settings.workers) {
        announced = true;
        log('info', 'ready', { port: m.port, workers: settings.workers, model: modelDir });
      }
    });
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id);
    if (stopping) return;
    log('error', 'worker died; restarting', { worker: worker.id, code: code ?? undefined, signal: signal ?? undefined });
    setTimeout(() => !stopping && fork(), RESTART_DELAY_MS);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log('info', 'stopping', { signal });
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    let left = workers.length;
    if (left === 0) process.exit(0);
    for (const w of workers) {
      w.once('exit', () => --left === 0 && process.exit(0));
      w.process.kill('SIGTERM');
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  for (let i = 0; i < settings.workers; i++) fork();
}

async function runWorker(settings: ServeSettings, host: string): Promise<void> {
  const server = await startInProcess({
    host,
    port: settings.port,
    maxBatchSize: settings.maxBatchSize,
    maxBatchDelayUs: settings.maxBatchDelayUs,
    concurrency: settings.workers,
    waitForModel: false,
  });
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      (e) => {
        log('error', 'shutdown failed', { error: String(e) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  // The primary forwards SIGTERM; Ctrl-C reaches every process of the group, so wait for the primary's.
  process.on('SIGINT', () => undefined);
  try {
    await server.ready;
  } catch (e) {
    log('error', 'model failed to load', { error: (e as Error).message });
    process.exit(1);
  }
  process.send?.({ type: 'ready', port: server.port } satisfies ReadyMessage);
}
