/**
 * `startLocal`: the whole system on 127.0.0.1 — embedded DynamoDB, S3 and SQS, the model packed and
 * uploaded as the deploy path does, the model server started from `MODEL_S3_URI` as on Fargate, and the
 * API gateway in front of the same Lambda handlers.
 *
 * The functions are built from their factories with this system's endpoints and clients
 * (`local/functions.ts`): several local systems can run in one process, each on its own ports and data.
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { resolveModelDir } from '../container/src/model-source';
import { type RunningServer, startServer } from '../container/src/server';
import { modelPackageKey, PACKAGE_DIGEST_LENGTH } from '../contract/bucket';
import { errorMessage } from '../contract/errors';
import type { Backend } from '../contract/limits';
import { MANIFEST_FILE, type ModelManifest } from '../contract/manifest';
import { readManifestFile } from '../contract/model-files';
import { packModel } from '../contract/model-package';
import type { CompactionResult } from '../lambda/analytics/compact';
import { ensureWebBuilt, WEB_DIST } from '../web/build';
import { duckdbEngine } from './analytics/engine';
import { type LocalChallenger, localVersions } from './challenger';
import { lockDataDir } from './data-dir-lock';
import { dynamoClient, type EmbeddedDynamoDb, ensureTable, startDynamoDbThread } from './dynamodb';
import { buildLocalFunctions } from './functions';
import { type AccessLogEntry, apiKeyIdOf, createGateway, type GatewayOptions } from './gateway';
import { checkPortFree, closeServer, listen } from './listen';
import { createLogStreamFeeder, type LogStreamFeeder } from './log-stream';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_MODEL_DIR,
  dataPaths,
  LOCAL_NAMES,
  resolveApiKey,
  type ServicePorts,
  servicePortsFor,
  writeState,
} from './paths';
import { type DrainResult, drainQueue } from './replay-loop';
import { type EmbeddedS3, modelSourceEnv, s3Client, startS3, uploadFile } from './s3';
import { startSqsServer } from './sqs-server';

export interface StartLocalOptions {
  /** Gateway port; 0 picks a free one. @default 3000 */
  port?: number;
  /** Ports of the embedded DynamoDB, S3, SQS and model server. @default - counted up from `port` (all free ones when `port` is 0) */
  servicePorts?: ServicePorts;
  /** Folder for the persisted log, bucket, queue and API key. @default .mlship/local */
  dataDir?: string;
  /** Keep DynamoDB and the queue in memory and the bucket in a temporary folder, all gone at stop(). @default false */
  inMemory?: boolean;
  /** Model directory (model.json + the ONNX file). @default models/breast-cancer */
  modelDir?: string;
  /** A second version hosted beside the model, shadowing it or answering a split (docs/versions.md). @default - none */
  challenger?: LocalChallenger;
  /** Operator API key; else MLSHIP_API_KEY, else the one kept in the data folder, else a new one. */
  apiKey?: string;
  /** Client API key (own predictions only); else MLSHIP_CLIENT_API_KEY, else the one kept in the data folder, else a new one. */
  clientApiKey?: string;
  /** Local backend path for POST /predict. @default 'fargate' */
  backend?: Extract<Backend, 'fargate'>;
  /** Dashboard folder served at `/`. @default web/dist */
  staticDir?: string;
  /** Build the dashboard into `web/dist/` first when it is missing or stale (npm start does). @default false */
  buildDashboard?: boolean;
  /** How often the dead-letter queue is drained into the replay handler; 0 turns it off. @default 5000 */
  replayIntervalMs?: number;
  /**
   * How often log writes are handed to the analytics writer (the local stand-in for the table stream's
   * batching window); 0 hands them over only on `flushAnalytics()` and at stop. @default 2000
   */
  analyticsIntervalMs?: number;
  /**
   * How often closed days of the analytics store are compacted (the compactor's schedule on AWS), besides
   * once at start; 0 compacts only on `compactAnalytics()`. @default 3600000 (hourly, as on AWS)
   */
  analyticsCompactionIntervalMs?: number;
  /** Days a log item is kept (TTL attribute). @default 0 - forever */
  logTtlDays?: number;
  /**
   * Model server worker processes. The server runs in its own process, as the container does on Fargate,
   * so a busy model never stalls the gateway (and onnxruntime's tensors stay in one JavaScript realm).
   * @default 1
   */
  modelWorkers?: number;
  /**
   * Where the predict function reaches S3, given the embedded S3's address: a fault test puts a switch
   * in between. @default - the embedded S3 itself
   */
  predictS3Via?: (s3Url: string) => Promise<string>;
  /** Called after each API request (the CLI prints an access log). */
  onRequest?: (entry: AccessLogEntry) => void;
  /** Called with each API answer as sent (tests check them against the OpenAPI document). */
  onResponse?: GatewayOptions['onResponse'];
  /** Progress lines while starting. */
  onProgress?: (message: string) => void;
}

/** A component a fault test can take down and bring back on the same port. */
export interface Switchable {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface LocalSystem {
  /** Base URL of the API (routes at its root, dashboard at `/`). */
  readonly url: string;
  /** The operator key: every prediction and the metrics. */
  readonly apiKey: string;
  readonly apiKeyId: string;
  /** The client key: its own predictions only. */
  readonly clientApiKey: string;
  readonly clientApiKeyId: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly dynamodbUrl: string;
  readonly s3Url: string;
  readonly sqsUrl: string;
  readonly logDlqUrl: string;
  readonly modelUrl: string;
  /** `s3://bucket/models/<name>/<version>/<digest>/model.tar.gz` the model server loaded. */
  readonly modelS3Uri: string;
  readonly manifest: ModelManifest;
  readonly dataDir: string;
  /** Fault handles: the embedded DynamoDB and the model server. */
  readonly dynamodb: Switchable;
  readonly model: Switchable;
  /** Drains the log dead-letter queue into the replay handler now. */
  replay(): Promise<DrainResult>;
  /** Hands the log writes not yet written to the analytics store to its writer now. */
  flushAnalytics(): Promise<void>;
  /** Compacts the analytics store's closed days now (the days before `now`'s, UTC; default the real now), one run at a time. */
  compactAnalytics(now?: Date): Promise<CompactionResult>;
  /** Stops everything; the persisted data stays (in-memory data is gone). */
  stop(): Promise<void>;
}

export async function startLocal(opts: StartLocalOptions = {}): Promise<LocalSystem> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    return await boot(opts, cleanups);
  } catch (e) {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    throw e;
  }
}

async function boot(opts: StartLocalOptions, cleanups: (() => Promise<void>)[]): Promise<LocalSystem> {
  const progress = opts.onProgress ?? (() => undefined);
  const inMemory = opts.inMemory ?? false;
  const dataDir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  const paths = dataPaths(dataDir);
  const modelDir = resolve(opts.modelDir ?? DEFAULT_MODEL_DIR);
  const manifestPath = join(modelDir, MANIFEST_FILE);
  const manifest = readManifestFile(manifestPath);
  const apiKey = resolveApiKey(dataDir, opts.apiKey ?? envApiKey('MLSHIP_API_KEY'), !inMemory);
  const clientApiKey = resolveApiKey(dataDir, opts.clientApiKey ?? envApiKey('MLSHIP_CLIENT_API_KEY'), !inMemory, 'clientApiKey');
  if (clientApiKey === apiKey) throw new Error('The client API key must differ from the operator API key.');
  const apiKeyId = apiKeyIdOf(apiKey);
  const clientApiKeyId = apiKeyIdOf(clientApiKey);
  const backend = opts.backend ?? 'fargate';
  mkdirSync(dataDir, { recursive: true });
  // Before anything starts: a second run on the same folder would fight over LevelDB's lock.
  if (!inMemory) {
    const unlock = lockDataDir(dataDir);
    cleanups.push(async () => unlock());
  }
  const apiPort = opts.port ?? 3000;
  const ports = opts.servicePorts ?? servicePortsFor(apiPort);
  // Fail fast, before the slower start-up work, when any of the fixed ports is taken.
  await checkPortFree(apiPort, 'API gateway');
  await checkPortFree(ports.dynamodb, 'embedded DynamoDB');
  await checkPortFree(ports.s3, 'embedded S3');
  await checkPortFree(ports.sqs, 'embedded SQS');
  await checkPortFree(ports.model, 'model server');

  // In memory, the bucket and the work files go to a temporary folder removed at stop().
  const scratch = inMemory ? mkdtempSync(join(tmpdir(), 'mlship-local-')) : undefined;
  if (scratch) cleanups.push(async () => rmSync(scratch, { recursive: true, force: true }));
  const s3Dir = scratch ? join(scratch, 's3') : paths.s3;
  const workDir = scratch ? join(scratch, 'work') : paths.work;

  progress('starting DynamoDB (dynalite)');
  // On its own thread: dynalite's work runs beside the gateway and the handlers, not between their requests.
  // Its accepted writes feed the analytics writer, as the table's stream does in AWS.
  let feeder: LogStreamFeeder | undefined;
  const ddb: EmbeddedDynamoDb = await startDynamoDbThread({
    dir: inMemory ? undefined : paths.dynamodb,
    port: ports.dynamodb,
    onChange: (c) => feeder?.push(c),
  });
  cleanups.push(() => ddb.close());
  const ddbClient = dynamoClient(ddb.url);
  cleanups.push(async () => ddbClient.destroy());
  await ensureTable(ddbClient, LOCAL_NAMES.table);

  progress('starting S3 (s3rver)');
  const s3: EmbeddedS3 = await startS3({ dir: s3Dir, bucket: LOCAL_NAMES.bucket, port: ports.s3 });
  cleanups.push(() => s3.close());

  progress('starting SQS');
  const sqsServer = await startSqsServer({ port: ports.sqs, file: inMemory ? undefined : paths.sqs, queues: [LOCAL_NAMES.logDlq] });
  cleanups.push(() => sqsServer.close());
  const sqs = new SQSClient({
    endpoint: sqsServer.url,
    region: LOCAL_NAMES.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  cleanups.push(async () => sqs.destroy());
  const logDlqUrl = sqsServer.queueUrl(LOCAL_NAMES.logDlq);

  progress(`packing and uploading ${manifest.name}/${manifest.version}`);
  const archive = join(workDir, 'model.tar.gz');
  const { sha256 } = await packModel(modelDir, archive);
  // The deployed key: named by the archive's digest, as lib/serving/model-package.ts does.
  const key = modelPackageKey(manifest.name, manifest.version, sha256.slice(0, PACKAGE_DIGEST_LENGTH));
  const s3c = s3Client(s3.url);
  await uploadFile(s3c, LOCAL_NAMES.bucket, key, archive);
  s3c.destroy();
  const modelS3Uri = `s3://${LOCAL_NAMES.bucket}/${key}`;

  progress('starting the model server from MODEL_S3_URI');
  // A fresh cache each start: the archive may hold a retrained model under the same version.
  const cacheDir = join(workDir, 'model-cache');
  rmSync(cacheDir, { recursive: true, force: true });
  const servedDir = await resolveModelDir({
    env: modelSourceEnv(modelS3Uri, s3.url),
    cacheDir,
  });
  const model = await startModel(servedDir, opts.modelWorkers ?? 1, ports.model, opts.challenger?.dir);
  cleanups.push(() => model.close());

  // The query function's long summary windows: DuckDB over the bucket's Parquet, where Athena runs on AWS.
  const analyticsS3 = s3Client(s3.url);
  cleanups.push(async () => analyticsS3.destroy());

  progress('building the functions');
  const challenger =
    opts.challenger && (await localVersions({ challenger: opts.challenger, manifest, dynamodb: ddbClient, tableName: LOCAL_NAMES.table }));
  if (challenger) cleanups.push(challenger.stop);
  const functions = buildLocalFunctions({
    manifest,
    manifestPath,
    backend,
    modelUrl: model.url,
    dashboardDir: opts.staticDir ?? WEB_DIST,
    tableName: LOCAL_NAMES.table,
    bucketName: LOCAL_NAMES.bucket,
    logDlqUrl,
    endpoints: { dynamodb: ddb.url, s3: s3.url, sqs: sqsServer.url, predictS3: await opts.predictS3Via?.(s3.url) },
    operatorKeyIds: [apiKeyId],
    logTtlDays: opts.logTtlDays ?? 0,
    analytics: duckdbEngine({ s3: analyticsS3, bucket: LOCAL_NAMES.bucket, root: join(workDir, 'analytics-mirror'), manifest }),
    versions: challenger?.versions,
  });
  cleanups.push(async () => functions.close());
  const { handlers, replay, analyticsWriter, analyticsCompactor } = functions;
  const streamFeeder = createLogStreamFeeder({
    table: LOCAL_NAMES.table,
    handler: analyticsWriter,
    intervalMs: opts.analyticsIntervalMs === 0 ? 2 ** 31 - 1 : opts.analyticsIntervalMs,
    onError: (e) => process.stderr.write(`analytics: ${errorMessage(e)}\n`),
  });
  feeder = streamFeeder;
  // Stopped after the gateway (nothing more to log) and before S3 (the last batch still lands).
  cleanups.push(async () => {
    feeder = undefined;
    await streamFeeder.close();
  });

  // The compactor's schedule: once at start, then every interval; runs queue behind each other, as the
  // function's reserved concurrency of 1 makes them on AWS.
  let compacting: Promise<unknown> = Promise.resolve();
  const compact = (now?: Date): Promise<CompactionResult> => {
    const run = compacting.then(() => analyticsCompactor(now === undefined ? {} : { now: now.toISOString() }));
    compacting = run.catch(() => undefined);
    return run;
  };
  const compactInBackground = () => {
    compact().catch((e: unknown) => process.stderr.write(`analytics compaction: ${errorMessage(e)}\n`));
  };
  const compactionInterval = opts.analyticsCompactionIntervalMs ?? 3_600_000;
  if (compactionInterval > 0) {
    compactInBackground();
    const timer = setInterval(compactInBackground, compactionInterval);
    cleanups.push(async () => {
      clearInterval(timer);
      await compacting;
    });
  }

  const staticDir = opts.staticDir ?? WEB_DIST;
  if (opts.buildDashboard) {
    progress('building the dashboard');
    // The API is useful without the page: a failed build is a warning, not a failed start.
    await ensureWebBuilt(staticDir).catch((e: unknown) =>
      process.stderr.write(`\nmlship: the dashboard was not built: ${errorMessage(e).split('\n')[0]}\n`),
    );
  }
  const gateway: Server = createGateway({
    handlers,
    apiKey,
    apiKeyId,
    extraApiKeys: [{ value: clientApiKey, id: clientApiKeyId }],
    stage: LOCAL_NAMES.stage,
    onRequest: opts.onRequest,
    onResponse: opts.onResponse,
  });
  const port = await listen(gateway, apiPort, 'API gateway');
  cleanups.push(() => closeServer(gateway));
  const url = `http://127.0.0.1:${port}`;

  const drain = () => drainQueue(sqs, logDlqUrl, replay);
  const interval = opts.replayIntervalMs ?? 5000;
  let draining: Promise<unknown> = Promise.resolve();
  if (interval > 0) {
    const timer = setInterval(() => {
      draining = drain().catch((e: unknown) => process.stderr.write(`replay: ${errorMessage(e)}\n`));
    }, interval);
    cleanups.push(async () => {
      clearInterval(timer);
      await draining;
    });
  }

  // What the CLI needs to find this system: written to the state file and returned alike.
  const endpoints = {
    url,
    tableName: LOCAL_NAMES.table,
    bucketName: LOCAL_NAMES.bucket,
    dynamodbUrl: ddb.url,
    s3Url: s3.url,
    sqsUrl: sqsServer.url,
    logDlqUrl,
    modelUrl: model.url,
  };
  if (!inMemory) {
    writeState(dataDir, { pid: process.pid, ...endpoints, startedAt: new Date().toISOString() });
    cleanups.push(async () => rmSync(paths.state, { force: true }));
  }

  let stopped = false;
  return {
    ...endpoints,
    apiKey,
    apiKeyId,
    clientApiKey,
    clientApiKeyId,
    modelS3Uri,
    manifest,
    dataDir,
    dynamodb: { url: ddb.url, stop: () => ddb.stop(), start: () => ddb.start() },
    model: { url: model.url, stop: () => model.stop(), start: () => model.start() },
    replay: drain,
    flushAnalytics: () => streamFeeder.flush(),
    compactAnalytics: compact,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Reverse order: the gateway stops taking requests before what it calls goes away.
      for (const c of cleanups.reverse()) await c();
    },
  };
}

function envApiKey(name: 'MLSHIP_API_KEY' | 'MLSHIP_CLIENT_API_KEY'): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** The model server on a fixed port once started, so a fault test can stop it and start it again. */
async function startModel(
  modelDir: string,
  workers: number,
  port0: number,
  challengerDir?: string,
): Promise<Switchable & { close(): Promise<void> }> {
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`modelWorkers must be a positive integer, got ${workers}`);
  let server: RunningServer | undefined = await startServer({ modelDir, challengerDir, port: port0, host: '127.0.0.1', workers });
  const { url, port } = server;
  const stop = async () => {
    const s = server;
    server = undefined;
    await s?.close();
  };
  const start = async () => {
    if (!server) server = await startServer({ modelDir, challengerDir, port, host: '127.0.0.1', workers });
  };
  return { url, stop, start, close: stop };
}
