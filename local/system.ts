/**
 * `startLocal`: the whole system on 127.0.0.1, composed from parts that mirror the stacks, the way
 * `buildMlshipApp` composes them: Data (embedded DynamoDB, S3 and SQS), Serving (the model packed and
 * uploaded as the deploy path does, the model server started from `MODEL_S3_URI` as on Fargate), the
 * functions, Analytics (the table stream's writer and the compactor's schedule) and Api (the gateway in
 * front of the same Lambda handlers). Each part returns its endpoints and a `stop()`; the system stops
 * them in reverse order, and a failed start stops what had started.
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { operatorHandlers, type RouteAuthModes } from '../contract/auth';
import type { Backend } from '../contract/limits';
import { MANIFEST_FILE, type ModelManifest } from '../contract/manifest';
import { readManifestFile } from '../contract/model-files';
import type { CompactionResult } from '../lambda/analytics/compact';
import { WEB_DIST } from '../web/build';
import type { LocalAuthOptions } from './auth/gateway-auth';
import type { LocalChallenger } from './challenger';
import { lockDataDir } from './data-dir-lock';
import { type AccessLogEntry, apiKeyIdOf, type GatewayOptions } from './gateway';
import { checkPortFree } from './listen';
import { startAnalytics } from './parts/analytics';
import { type ApiKeys, startApi } from './parts/api';
import { startData } from './parts/data';
import { startFunctions } from './parts/functions';
import { type Switchable, startPart } from './parts/part';
import { startServing } from './parts/serving';
import { DEFAULT_DATA_DIR, DEFAULT_MODEL_DIR, dataPaths, resolveApiKey, type ServicePorts, servicePortsFor, writeState } from './paths';
import type { DrainResult } from './replay-loop';

export type { Switchable };

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
  /**
   * IAM or JWT on the routes besides the keys, as a deployment's `auth` has them (docs/auth.md); IAM checks
   * signatures by the local credentials. Operator keys act as operators only where the deployed API lets them.
   * @default - the keys alone
   */
  auth?: LocalAuthOptions;
  /** Called after each API request (the CLI prints an access log). */
  onRequest?: (entry: AccessLogEntry) => void;
  /** Called with each API answer as sent (tests check them against the OpenAPI document). */
  onResponse?: GatewayOptions['onResponse'];
  /** Progress lines while starting. */
  onProgress?: (message: string) => void;
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
  /** What the routes ask for besides the keys, when more than the keys (docs/auth.md). */
  readonly auth?: RouteAuthModes;
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
  const progress = opts.onProgress ?? (() => undefined);
  const inMemory = opts.inMemory ?? false;
  const dataDir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  const paths = dataPaths(dataDir);
  const modelDir = resolve(opts.modelDir ?? DEFAULT_MODEL_DIR);
  const manifestPath = join(modelDir, MANIFEST_FILE);
  const manifest = readManifestFile(manifestPath);
  const keys = apiKeysOf(dataDir, opts, !inMemory);
  const staticDir = opts.staticDir ?? WEB_DIST;
  const apiPort = opts.port ?? 3000;
  const ports = opts.servicePorts ?? servicePortsFor(apiPort);

  return startPart(async (parts) => {
    mkdirSync(dataDir, { recursive: true });
    // Before anything starts: a second run on the same folder would fight over LevelDB's lock.
    if (!inMemory) parts.defer(lockDataDir(dataDir));
    const uncleanStop = !inMemory && existsSync(paths.state);
    // Fail fast, before the slower start-up work, when any of the fixed ports is taken.
    await checkPortFree(apiPort, 'API gateway');
    await checkPortFree(ports.dynamodb, 'embedded DynamoDB');
    await checkPortFree(ports.s3, 'embedded S3');
    await checkPortFree(ports.sqs, 'embedded SQS');
    await checkPortFree(ports.model, 'model server');

    // In memory, the bucket and the work files go to a temporary folder removed at stop().
    const scratch = inMemory ? mkdtempSync(join(tmpdir(), 'mlship-local-')) : undefined;
    if (scratch) parts.defer(() => rmSync(scratch, { recursive: true, force: true }));
    const workDir = scratch ? join(scratch, 'work') : paths.work;

    const data = parts.add(
      await startData({
        dynamodbDir: inMemory ? undefined : paths.dynamodb,
        s3Dir: scratch ? join(scratch, 's3') : paths.s3,
        sqsFile: inMemory ? undefined : paths.sqs,
        streamDir: inMemory ? undefined : paths.stream,
        // The state file outlives only a run that did not stop cleanly.
        repairIndexes: !inMemory && uncleanStop,
        ports,
        onProgress: progress,
      }),
    );
    const serving = parts.add(
      await startServing({
        modelDir,
        manifest,
        workDir,
        s3Url: data.s3Url,
        port: ports.model,
        workers: opts.modelWorkers ?? 1,
        challengerDir: opts.challenger?.dir,
        onProgress: progress,
      }),
    );
    const functions = parts.add(
      await startFunctions({
        data,
        modelUrl: serving.modelUrl,
        manifestPath,
        manifest,
        dashboardDir: staticDir,
        logTtlDays: opts.logTtlDays ?? 0,
        operatorKeyIds: [keys.apiKeyId],
        operatorHandlers: opts.auth ? operatorHandlers(opts.auth.modes) : undefined,
        workDir,
        predictS3Url: await opts.predictS3Via?.(data.s3Url),
        challenger: opts.challenger,
        onProgress: progress,
      }),
    );
    const analytics = parts.add(
      await startAnalytics({
        data,
        functions,
        intervalMs: opts.analyticsIntervalMs,
        compactionIntervalMs: opts.analyticsCompactionIntervalMs ?? 3_600_000,
      }),
    );
    const api = parts.add(
      await startApi({
        functions,
        keys,
        port: apiPort,
        staticDir,
        buildDashboard: opts.buildDashboard ?? false,
        data,
        replayIntervalMs: opts.replayIntervalMs ?? 5000,
        auth: opts.auth,
        onRequest: opts.onRequest,
        onResponse: opts.onResponse,
        onProgress: progress,
      }),
    );

    // What the CLI needs to find this system: written to the state file and returned alike.
    const endpoints = {
      url: api.url,
      tableName: data.tableName,
      bucketName: data.bucketName,
      dynamodbUrl: data.dynamodbUrl,
      s3Url: data.s3Url,
      sqsUrl: data.sqsUrl,
      logDlqUrl: data.logDlqUrl,
      modelUrl: serving.modelUrl,
    };
    if (!inMemory) {
      writeState(dataDir, {
        pid: process.pid,
        ...endpoints,
        startedAt: new Date().toISOString(),
        ...(opts.auth ? { auth: opts.auth.modes } : {}),
      });
      parts.defer(() => rmSync(paths.state, { force: true }));
    }
    return {
      ...endpoints,
      ...keys,
      ...(opts.auth ? { auth: opts.auth.modes } : {}),
      modelS3Uri: serving.modelS3Uri,
      manifest,
      dataDir,
      dynamodb: data.dynamodb,
      model: serving.model,
      replay: api.replay,
      flushAnalytics: analytics.flush,
      compactAnalytics: analytics.compact,
    };
  });
}

/** The operator and client keys: given, else from the environment, else the ones kept in the data folder, else new ones. */
function apiKeysOf(dataDir: string, opts: Pick<StartLocalOptions, 'apiKey' | 'clientApiKey'>, persist: boolean): ApiKeys {
  const apiKey = resolveApiKey(dataDir, opts.apiKey ?? envApiKey('MLSHIP_API_KEY'), persist);
  const clientApiKey = resolveApiKey(dataDir, opts.clientApiKey ?? envApiKey('MLSHIP_CLIENT_API_KEY'), persist, 'clientApiKey');
  if (clientApiKey === apiKey) throw new Error('The client API key must differ from the operator API key.');
  return { apiKey, apiKeyId: apiKeyIdOf(apiKey), clientApiKey, clientApiKeyId: apiKeyIdOf(clientApiKey) };
}

function envApiKey(name: 'MLSHIP_API_KEY' | 'MLSHIP_CLIENT_API_KEY'): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}
