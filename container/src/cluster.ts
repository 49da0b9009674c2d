/**
 * All cores: the primary process only supervises (forks one worker per core, restarts a dead one,
 * forwards SIGTERM); each worker runs its own server and onnxruntime session on the shared port.
 *
 * Workers listen at once and answer `/ping` 503 while the primary fetches the model (an S3 download on
 * Fargate can take a while); each asks the primary for the model directory and loads it when it comes.
 * Registered versions go the same way: the primary fetches, the workers load (cluster-registry.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import { errorMessage } from '../../contract/errors';
import { type RegisteredRequest, registryFromPrimary, registryOfInstance } from './cluster-registry';
import type { ServeSettings } from './config';
import { log } from './log';
import { loadModel } from './model';
import { registrySourceFromEnv } from './model-registry';
import { resolveChallengerDir, resolveModelDir } from './model-source';
import { startInProcess } from './server';

const RESTART_DELAY_MS = 1000;

/** Worker → primary: listening (model still loading), model loaded, asking where the model is, or where a registered version is. */
type WorkerMessage = { type: 'listening'; port: number } | { type: 'ready'; port: number } | { type: 'model?' } | RegisteredRequest;
/** Primary → worker: the model directory, and the challenger's when one is hosted beside it. */
interface ModelMessage {
  type: 'model';
  dir: string;
  challengerDir?: string;
}

function isWorkerMessage(m: unknown): m is WorkerMessage {
  const type = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
  if (type === 'registered?') return typeof (m as Partial<RegisteredRequest>).version === 'string';
  return type === 'listening' || type === 'ready' || type === 'model?';
}

function isModelMessage(m: unknown): m is ModelMessage {
  return typeof m === 'object' && m !== null && (m as ModelMessage).type === 'model' && typeof (m as ModelMessage).dir === 'string';
}

export async function serveCluster(settings: ServeSettings, host: string): Promise<void> {
  if (cluster.isPrimary) await runPrimary(settings);
  else await runWorker(settings, host);
}

/** Exit code of a worker whose model did not load (EX_CONFIG): the primary stops instead of restarting it. */
const MODEL_LOAD_FAILED = 78;

async function runPrimary(settings: ServeSettings): Promise<void> {
  let stopping = false;
  // Each announced once: a restarted worker does not repeat them.
  let announcedListening = false;
  let announced = false;
  const listening = new Set<number>();
  const ready = new Set<number>();
  // Settles once the model is on local disk; the workers ask for it (a restarted one too).
  let modelDir: string | undefined;
  let challengerDir: string | undefined;
  const waiting: Worker[] = [];

  const registry = registryOfInstance();

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (m: unknown) => {
      if (!isWorkerMessage(m)) return;
      if (m.type === 'registered?') registry.answer(worker, m.version);
      else if (m.type === 'model?') {
        if (modelDir !== undefined) worker.send({ type: 'model', dir: modelDir, challengerDir } satisfies ModelMessage);
        else waiting.push(worker);
      } else if (m.type === 'listening') {
        listening.add(worker.id);
        if (!announcedListening && listening.size >= settings.workers) {
          announcedListening = true;
          log('info', 'listening', { port: m.port, workers: settings.workers, model: 'loading; /ping answers 503 until it is ready' });
        }
      } else {
        ready.add(worker.id);
        registry.warmRestarted(worker);
        if (!announced && ready.size >= settings.workers) {
          announced = true;
          log('info', 'ready', { port: m.port, workers: settings.workers, model: modelDir, challenger: challengerDir });
        }
      }
    });
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id);
    ready.delete(worker.id);
    if (stopping) return;
    if (code === MODEL_LOAD_FAILED) {
      // Every worker loads the same files: a model that does not load will not load on a restart either.
      stop('failure', 1);
      return;
    }
    log('error', 'worker died; restarting', { worker: worker.id, code: code ?? undefined, signal: signal ?? undefined });
    setTimeout(() => !stopping && fork(), RESTART_DELAY_MS);
  });

  const stop = (signal: NodeJS.Signals | 'failure' | 'parent exited', exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log('info', 'stopping', { signal });
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    let left = workers.length;
    if (left === 0) process.exit(exitCode);
    for (const w of workers) {
      w.once('exit', () => --left === 0 && process.exit(exitCode));
      w.process.kill('SIGTERM');
    }
  };
  // A signal listener gets (name, number): pass the name only, so the exit code stays 0.
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (process.channel) {
    // Started by a local process with an IPC channel (startServer): stop with it, never outlive it. Ctrl-C
    // and a closed terminal reach the whole process group: that process decides when to stop us (SIGTERM,
    // once the requests it has in flight are answered), so the model stays up for them.
    process.once('disconnect', () => stop('parent exited'));
    process.on('SIGINT', () => undefined);
    process.on('SIGHUP', () => undefined);
  } else {
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => stop('SIGHUP'));
  }

  for (let i = 0; i < settings.workers; i++) fork();

  // Download from S3 once, here, rather than once per worker.
  try {
    [modelDir, challengerDir] = await Promise.all([
      resolveModelDir({ modelDir: settings.modelDir }),
      resolveChallengerDir({ challengerDir: settings.challengerDir }),
    ]);
  } catch (e) {
    log('error', 'the model could not be fetched', { error: errorMessage(e) });
    stop('failure', 1);
    return;
  }
  for (const w of waiting.splice(0)) if (w.isConnected()) w.send({ type: 'model', dir: modelDir, challengerDir } satisfies ModelMessage);
}

async function runWorker(settings: ServeSettings, host: string): Promise<void> {
  const dirs = modelDirFromPrimary();
  const registry = registrySourceFromEnv() === undefined ? undefined : registryFromPrimary();
  const server = await startInProcess({
    host,
    port: settings.port,
    fetchRegistered: registry?.fetch,
    load: async () => loadModel((await dirs).dir),
    loadChallenger: async () => {
      const dir = (await dirs).challengerDir;
      return dir === undefined ? undefined : loadModel(dir);
    },
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
  // The primary forwards SIGTERM; Ctrl-C and a closed terminal reach every process of the group, so wait for the primary's.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  process.send?.({ type: 'listening', port: server.port } satisfies WorkerMessage);
  try {
    await server.ready;
  } catch (e) {
    log('error', 'model failed to load', { error: errorMessage(e) });
    process.exit(MODEL_LOAD_FAILED);
  }
  registry?.onWarm((version) => void server.warm(version));
  process.send?.({ type: 'ready', port: server.port } satisfies WorkerMessage);
}

/** Asks the primary for the model directories; it answers once they are on local disk. */
function modelDirFromPrimary(): Promise<ModelMessage> {
  return new Promise<ModelMessage>((resolve) => {
    const onMessage = (m: unknown) => {
      if (!isModelMessage(m)) return;
      process.off('message', onMessage);
      resolve(m);
    };
    process.on('message', onMessage);
    process.send?.({ type: 'model?' } satisfies WorkerMessage);
  });
}
