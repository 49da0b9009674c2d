/**
 * The Api stack on this machine: the gateway (API keys, routes, the dashboard at `/`) in front of the same
 * Lambda handlers as on AWS, and the replay function fed from the log's dead-letter queue on a timer, as
 * its event source mapping feeds it there. `loadFunctions` loads those handlers (the analytics stack's two
 * functions too) for this machine.
 */
import { join } from 'node:path';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { athenaWorkgroupName, glueDatabaseName } from '../../contract/analytics';
import { errorMessage } from '../../contract/errors';
import type { Backend } from '../../contract/limits';
import type { ModelManifest } from '../../contract/manifest';
import type { HandlerName } from '../../contract/routes';
import type { CompactionResult } from '../../lambda/analytics/compact';
import { useLocalAnalyticsEngine } from '../../lambda/commons/analytics-engine';
import { ensureWebBuilt } from '../../web/build';
import { duckdbEngine } from '../analytics/engine';
import { type AccessLogEntry, createGateway, type GatewayOptions, type ProxyHandler } from '../gateway';
import { handlerEnv } from '../handler-env';
import { closeServer, listen } from '../listen';
import type { StreamHandler } from '../log-stream';
import { LOCAL_NAMES } from '../paths';
import { type DrainResult, drainQueue } from '../replay-loop';
import { s3Client } from '../s3';
import type { DataPart } from './data';
import { startPart } from './part';

export interface LocalFunctions {
  /** The API's route handlers. */
  readonly handlers: Record<HandlerName, ProxyHandler>;
  /** The replay function (the dead-letter queue's consumer). */
  readonly replay: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** The analytics writer (the table stream's consumer). */
  readonly analyticsWriter: StreamHandler;
  /** The analytics compactor (run on its schedule). */
  readonly analyticsCompactor: (event: { now?: string }) => Promise<CompactionResult>;
  stop(): Promise<void>;
}

export interface LoadFunctionsOptions {
  data: Pick<DataPart, 'tableName' | 'bucketName' | 'logDlqUrl' | 'dynamodbUrl' | 's3Url' | 'sqsUrl'>;
  modelUrl: string;
  backend: Extract<Backend, 'fargate'>;
  manifestPath: string;
  manifest: ModelManifest;
  /** Dashboard folder the meta function serves. */
  dashboardDir: string;
  logTtlDays: number;
  operatorKeyIds: string[];
  /** Where the DuckDB engine mirrors the bucket's Parquet. */
  workDir: string;
  onProgress: (message: string) => void;
}

let running = false;
let loadedSignature: string | undefined;

/**
 * The handlers read their configuration when first imported, and Node keeps one copy of a module per
 * process: the environment is set before they load, and one local system runs per process (tests run each
 * file in its own module registry).
 */
export function loadFunctions(opts: LoadFunctionsOptions): Promise<LocalFunctions> {
  return startPart(async (started) => {
    if (running) throw new Error('A local system is already running in this process; stop() it first.');
    running = true;
    started.defer(() => {
      running = false;
    });
    const { data } = opts;
    // From here on the handlers read the same environment as in AWS.
    const env = handlerEnv({
      backend: opts.backend,
      tableName: data.tableName,
      bucketName: data.bucketName,
      logDlqUrl: data.logDlqUrl,
      manifestPath: opts.manifestPath,
      dashboardDir: opts.dashboardDir,
      modelUrl: opts.modelUrl,
      dynamodbUrl: data.dynamodbUrl,
      s3Url: data.s3Url,
      sqsUrl: data.sqsUrl,
      logTtlDays: opts.logTtlDays,
      operatorKeyIds: opts.operatorKeyIds,
      // The names the deployed stack would have; locally DuckDB answers in their place (below).
      analyticsWorkgroup: athenaWorkgroupName('mlship-local'),
      analyticsDatabase: glueDatabaseName('mlship-local'),
    });
    applyEnv(env);

    // The query function's long summary windows: DuckDB over the bucket's Parquet, where Athena runs on AWS.
    const analyticsS3 = s3Client(data.s3Url);
    started.defer(() => {
      useLocalAnalyticsEngine(undefined);
      analyticsS3.destroy();
    });
    useLocalAnalyticsEngine(
      duckdbEngine({ s3: analyticsS3, bucket: data.bucketName, root: join(opts.workDir, 'analytics-mirror'), manifest: opts.manifest }),
    );

    opts.onProgress('loading the handlers');
    return loadHandlers(JSON.stringify(env));
  });
}

function applyEnv(env: Record<string, string>): void {
  // A session token or profile from the caller's shell would be sent to the local servers: drop them.
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  Object.assign(process.env, env);
}

function loadHandlers(signature: string): Omit<LocalFunctions, 'stop'> {
  if (loadedSignature !== undefined && loadedSignature !== signature) {
    throw new Error('The handlers were loaded for another local system in this process; start one local system per process.');
  }
  loadedSignature = signature;
  // require(), not import(): the handlers must load after the environment is set, under tsx's require
  // hook (the `mlship` bin) as well as under the tsx CLI and jest.
  const predict = require('../../lambda/predict') as typeof import('../../lambda/predict');
  const query = require('../../lambda/query') as typeof import('../../lambda/query');
  const feedback = require('../../lambda/feedback') as typeof import('../../lambda/feedback');
  const meta = require('../../lambda/meta') as typeof import('../../lambda/meta');
  const replay = require('../../lambda/replay') as typeof import('../../lambda/replay');
  const analyticsWriter = require('../../lambda/analytics-writer') as typeof import('../../lambda/analytics-writer');
  const analyticsCompactor = require('../../lambda/analytics-compactor') as typeof import('../../lambda/analytics-compactor');
  return {
    handlers: { predict: predict.handler, query: query.handler, feedback: feedback.handler, meta: meta.handler },
    replay: replay.handler,
    analyticsWriter: analyticsWriter.handler,
    analyticsCompactor: (event) => analyticsCompactor.handler(event),
  };
}

export interface ApiKeys {
  /** The operator key: every prediction and the metrics. */
  readonly apiKey: string;
  readonly apiKeyId: string;
  /** The client key: its own predictions only. */
  readonly clientApiKey: string;
  readonly clientApiKeyId: string;
}

export interface ApiPartOptions {
  functions: Pick<LocalFunctions, 'handlers' | 'replay'>;
  keys: ApiKeys;
  /** Gateway port; 0 picks a free one. */
  port: number;
  /** Dashboard folder served at `/`. */
  staticDir: string;
  /** Build the dashboard into `staticDir` first when it is missing or stale. */
  buildDashboard: boolean;
  /** The queue the replay function drains, and a client of it. */
  data: Pick<DataPart, 'sqs' | 'logDlqUrl'>;
  /** How often the dead-letter queue is drained into the replay function; 0 turns it off. */
  replayIntervalMs: number;
  onRequest?: (entry: AccessLogEntry) => void;
  onResponse?: GatewayOptions['onResponse'];
  onProgress: (message: string) => void;
}

export interface ApiPart {
  /** Base URL of the API (routes at its root, dashboard at `/`). */
  readonly url: string;
  /** Drains the log dead-letter queue into the replay function now. */
  replay(): Promise<DrainResult>;
  stop(): Promise<void>;
}

export function startApi(opts: ApiPartOptions): Promise<ApiPart> {
  return startPart(async (started) => {
    if (opts.buildDashboard) {
      opts.onProgress('building the dashboard');
      // The API is useful without the page: a failed build is a warning, not a failed start.
      await ensureWebBuilt(opts.staticDir).catch((e: unknown) =>
        process.stderr.write(`\nmlship: the dashboard was not built: ${errorMessage(e).split('\n')[0]}\n`),
      );
    }
    const { keys } = opts;
    const gateway = createGateway({
      handlers: opts.functions.handlers,
      apiKey: keys.apiKey,
      apiKeyId: keys.apiKeyId,
      extraApiKeys: [{ value: keys.clientApiKey, id: keys.clientApiKeyId }],
      stage: LOCAL_NAMES.stage,
      onRequest: opts.onRequest,
      onResponse: opts.onResponse,
    });
    const port = await listen(gateway, opts.port, 'API gateway');
    started.defer(() => closeServer(gateway));

    const drain = () => drainQueue(opts.data.sqs, opts.data.logDlqUrl, opts.functions.replay);
    if (opts.replayIntervalMs > 0) {
      let draining: Promise<unknown> = Promise.resolve();
      const timer = setInterval(() => {
        draining = drain().catch((e: unknown) => process.stderr.write(`replay: ${errorMessage(e)}\n`));
      }, opts.replayIntervalMs);
      started.defer(async () => {
        clearInterval(timer);
        await draining;
      });
    }
    return { url: `http://127.0.0.1:${port}`, replay: drain };
  });
}
