/**
 * Starting the model server (routes and state in model-server.ts): one server in this process
 * (workers: 0) or the cluster in a child process.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { ENV } from '../../contract/env';
import { LIMITS } from '../../contract/limits';
import type { Batcher } from './batcher';
import { answerParserErrors } from './early-answer';
import { readLogLines } from './log';
import { type LoadedModel, loadModel } from './model';
import {
  loaderOver,
  type RegisteredFetcher,
  type RegistrySource,
  registeredLoader,
  registryEnv,
  registrySourceFromEnv,
} from './model-registry';
import { ModelServer } from './model-server';
import { loadModels } from './model-set';
import { resolveModelDir } from './model-source';

export interface StartServerOptions {
  /** Model directory. @default - resolved from MODEL_DIR, MODEL_S3_URI or /opt/ml/model */
  readonly modelDir?: string;
  /** Supplies the model instead of loading `modelDir` (a caller that already holds one shares it). */
  readonly load?: () => Promise<LoadedModel>;
  /** A challenger hosted beside the model (docs/versions.md). @default - CHALLENGER_MODEL_DIR or CHALLENGER_MODEL_S3_URI, else none */
  readonly challengerDir?: string;
  /** Supplies the challenger instead of loading `challengerDir`. */
  readonly loadChallenger?: () => Promise<LoadedModel | undefined>;
  /**
   * The model's registry: a request naming a registered version the server does not host loads it from
   * there (docs/retraining.md). @default - MLSHIP_MODEL_REGISTRY_S3_URI, else none
   */
  readonly registry?: RegistrySource;
  /** Puts a registered version on disk instead of reading `registry` here (a cluster worker asks its primary, so an instance downloads once). */
  readonly fetchRegistered?: RegisteredFetcher;
  /** @default 0 - a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 serves in this process; N > 0 starts the cluster (N worker processes) in a child process. @default 0 */
  readonly workers?: number;
  /** @default LIMITS.defaultMaxBatchSize */
  readonly maxBatchSize?: number;
  /** 0 turns micro-batching off. @default LIMITS.defaultMaxBatchDelayUs */
  readonly maxBatchDelayUs?: number;
  /** Resolve only once the model is loaded (otherwise /ping answers 503 until `ready` settles). @default true */
  readonly waitForModel?: boolean;
  /** Reported to Batch Transform as MaxConcurrentTransforms. @default 1 */
  readonly concurrency?: number;
  /**
   * A built server bundle (the image's `/app/server.js`) to start the cluster from, instead of these
   * sources (workers > 0 only). @default - the sources (through tsx when they are TypeScript)
   */
  readonly bundle?: string;
  /** Called with each JSON log line of the cluster's processes, primary and workers (workers > 0 only). @default - none */
  readonly onLog?: (rec: Record<string, unknown>) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Settles when the model is loaded (rejects when loading failed). */
  readonly ready: Promise<void>;
  /** Process id of the cluster's primary (workers > 0). */
  readonly pid?: number;
  /** Batching counters of an in-process server. */
  readonly stats?: Batcher['stats'];
  /** Stops accepting, finishes in-flight requests, releases the model. */
  close(): Promise<void>;
}

/** Longer than an ALB's 60 s idle timeout, so the balancer closes idle connections first. */
const KEEP_ALIVE_MS = 65_000;
/** SageMaker sends SIGKILL 30 s after SIGTERM: give up on slow connections before that. */
const DRAIN_TIMEOUT_MS = 25_000;

export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  if (opts.registry && opts.fetchRegistered) throw new Error('Pass either `registry` or `fetchRegistered`, not both.');
  if ((opts.workers ?? 0) > 0) return startCluster(opts);
  if (opts.bundle) throw new Error('`bundle` starts the cluster: pass `workers` > 0 with it.');
  if (opts.onLog) throw new Error("`onLog` reads the cluster's output: pass `workers` > 0 with it.");
  return startInProcess(opts);
}

/** A server in this process, which can load a registered version ahead of the requests naming it. */
export interface InProcessServer extends RunningServer {
  warm(version: string): Promise<void>;
}

/** One server in this process. */
export async function startInProcess(opts: StartServerOptions): Promise<InProcessServer> {
  const modelServer = new ModelServer({
    batching: {
      maxBatchSize: opts.maxBatchSize ?? LIMITS.defaultMaxBatchSize,
      maxDelayUs: opts.maxBatchDelayUs ?? LIMITS.defaultMaxBatchDelayUs,
    },
    concurrency: opts.concurrency ?? 1,
    registry: registryOf(opts),
  });
  const server = http.createServer({ keepAliveTimeout: KEEP_ALIVE_MS, headersTimeout: KEEP_ALIVE_MS + 1000 }, modelServer.listener);
  answerParserErrors(server);
  const host = opts.host ?? '127.0.0.1';
  const port = await listen(server, opts.port ?? 0, host);

  const ready = (async () => {
    const champion = async () => (opts.load ? opts.load() : loadModel(await resolveModelDir({ modelDir: opts.modelDir })));
    const [model, ...challengers] = await loadModels(champion, opts);
    if (model) modelServer.serve(model, ...challengers);
  })();
  // Callers that do not wait still see a failed load through `ready`; avoid an unhandled rejection.
  ready.catch(() => undefined);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      modelServer.markStopping();
      await closeServer(server);
      await ready.catch(() => undefined);
      await modelServer.stop();
    })());

  const running: InProcessServer = {
    url: `http://${host}:${port}`,
    port,
    ready,
    get stats() {
      return modelServer.stats;
    },
    close,
    warm: (version) => modelServer.warm(version),
  };
  if (opts.waitForModel ?? true) {
    try {
      await ready;
    } catch (e) {
      await close();
      throw e;
    }
  }
  return running;
}

function registryOf(opts: StartServerOptions) {
  if (opts.fetchRegistered) return loaderOver(opts.fetchRegistered);
  const source = opts.registry ?? registrySourceFromEnv();
  return source === undefined ? undefined : registeredLoader(source);
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, closes idle keep-alive connections, and the rest once answered (or after the drain timeout). */
function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** The cluster (`main.ts serve --workers N`) in a child process, for tests, the benchmark and the local runner. */
async function startCluster(opts: StartServerOptions): Promise<RunningServer> {
  if (opts.load || opts.loadChallenger) throw new Error('`load` works in-process only; pass `modelDir` with `workers` > 0.');
  if (opts.fetchRegistered) throw new Error('`fetchRegistered` works in-process only; pass `registry` with `workers` > 0.');
  // Under tsx this file is TypeScript and the child needs the loader; in the bundle main and server are one file.
  const entry = opts.bundle
    ? [opts.bundle]
    : __filename.endsWith('.ts')
      ? ['--import', 'tsx', path.join(__dirname, 'main.ts')]
      : [__filename];
  const args = [...entry, 'serve', '--port', String(opts.port ?? 0), '--workers', String(opts.workers), '--host', opts.host ?? '127.0.0.1'];
  if (opts.modelDir) args.push('--model', opts.modelDir);
  if (opts.challengerDir) args.push('--challenger', opts.challengerDir);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (opts.maxBatchSize !== undefined) env[ENV.MAX_BATCH_SIZE] = String(opts.maxBatchSize);
  if (opts.maxBatchDelayUs !== undefined) env[ENV.MAX_BATCH_DELAY_US] = String(opts.maxBatchDelayUs);
  // The primary fetches a registered version once for the instance; each worker loads it from there.
  if (opts.registry) Object.assign(env, registryEnv(opts.registry));
  // The IPC channel is a lifeline: the cluster stops when this process goes away, even by SIGKILL.
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  child.channel?.unref();
  const stdout = child.stdout;
  if (stdout === null) {
    child.kill();
    throw new Error('The model server was started without a stdout pipe to read its ready line from.');
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    readLogLines(stdout, (rec) => {
      opts.onLog?.(rec);
      if (rec.msg === 'ready' && typeof rec.port === 'number') resolve(rec.port);
    });
    void exited.then((code) => reject(new Error(`The model server exited with code ${code} before it was ready`)));
  });
  const host = opts.host ?? '127.0.0.1';
  return {
    url: `http://${host}:${port}`,
    port,
    pid: child.pid,
    ready: Promise.resolve(),
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`The model server exited with code ${code} on SIGTERM`);
    },
  };
}
