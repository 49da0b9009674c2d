/**
 * The local system's functions: the same factories the Lambda entries call, given the local endpoints,
 * names and clients instead of an environment. Nothing here is global, so two local systems (or two
 * model versions) live side by side in one process.
 */
import { dirname, join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { BASELINE_FILE } from '../contract/baseline';
import type { ModelManifest } from '../contract/manifest';
import { optionalBaseline } from '../contract/model-files';
import type { HandlerName } from '../contract/routes';
import { type AnalyticsCompactor, createAnalyticsCompactor } from '../lambda/analytics/compactor';
import type { AnalyticsEngine } from '../lambda/analytics/engine';
import { createAnalyticsWriter } from '../lambda/analytics/writer';
import { createFeedbackHandler } from '../lambda/api/feedback';
import { createMetaHandler } from '../lambda/api/meta';
import { createPredictHandler } from '../lambda/api/predict';
import { createQueryHandler } from '../lambda/api/query';
import type { VersionsDeps } from '../lambda/api/versions-routing';
import { logTableClient, PredictionLogStore } from '../lambda/log/prediction-log-store';
import { createReplayHandler } from '../lambda/log/replay';
import { fargateBackend } from '../lambda/model/fargate-backend';
import { lazyS3, lazySqs } from '../lambda/runtime/lazy-clients';
import type { ProxyHandler } from './gateway';
import type { StreamHandler } from './log-stream';
import { LOCAL_NAMES, S3RVER_CREDENTIALS } from './paths';

export interface LocalFunctionsOptions {
  readonly manifest: ModelManifest;
  /** The model's drift baseline (served by `GET /model` when the file exists). @default `baseline.json` beside the manifest */
  readonly baselinePath?: string;
  readonly manifestPath: string;
  /** The backend path of `POST /predict`: the model server over HTTP, as on Fargate. @default 'fargate' */
  readonly backend?: 'fargate';
  /** The model server (the Fargate backend's URL). */
  readonly modelUrl: string;
  /** The built dashboard served by the meta function. */
  readonly dashboardDir: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly logDlqUrl: string;
  /**
   * Addresses of the embedded DynamoDB, S3 and SQS; `predictS3` is where the predict function reaches S3
   * (a fault test puts a switch there). @default predictS3 - `s3`
   */
  readonly endpoints: { readonly dynamodb: string; readonly s3: string; readonly sqs: string; readonly predictS3?: string };
  /** Ids of the operator keys. */
  readonly operatorKeyIds: readonly string[];
  /**
   * The functions that treat operator keys as operators: as on AWS, one reached by the key alone while the
   * operator routes ask for more treats every key as a client's (contract/auth.ts). @default - all
   */
  readonly operatorHandlers?: readonly HandlerName[];
  /** Days a log item is kept (0: forever). */
  readonly logTtlDays: number;
  /** The engine of summary windows over 24 h. @default - none (answered ANALYTICS_OFF) */
  readonly analytics?: AnalyticsEngine;
  /** A challenger beside the champion and its routing. @default - the champion only */
  readonly versions?: VersionsDeps;
}

export interface LocalFunctions {
  readonly handlers: Record<HandlerName, ProxyHandler>;
  readonly replay: (event: SQSEvent) => Promise<SQSBatchResponse>;
  readonly analyticsWriter: StreamHandler;
  readonly analyticsCompactor: AnalyticsCompactor;
  /** Closes the functions' clients. */
  close(): void;
}

export function buildLocalFunctions(opts: LocalFunctionsOptions): LocalFunctions {
  const { manifest, endpoints } = opts;
  // s3rver checks signatures against its fixed credentials; dynalite and the SQS stand-in accept any.
  const aws = { region: LOCAL_NAMES.region, credentials: { ...S3RVER_CREDENTIALS } };
  const dynamodb = logTableClient({ ...aws, endpoint: endpoints.dynamodb });
  // One attempt per SDK call where the log writer runs its own bounded retries before dead-lettering.
  const logWrites = logTableClient({ ...aws, endpoint: endpoints.dynamodb, maxAttempts: 1 });
  const s3 = new S3Client({ ...aws, endpoint: endpoints.s3, forcePathStyle: true });
  const predictS3 = endpoints.predictS3 === undefined ? s3 : new S3Client({ ...aws, endpoint: endpoints.predictS3, forcePathStyle: true });
  const sqs = new SQSClient({ ...aws, endpoint: endpoints.sqs });
  const reads = new PredictionLogStore(dynamodb, opts.tableName);
  const writes = new PredictionLogStore(logWrites, opts.tableName);
  const operators = new Set(opts.operatorKeyIds);
  const operatorKeyIdsOf = (h: HandlerName): ReadonlySet<string> =>
    opts.operatorHandlers === undefined || opts.operatorHandlers.includes(h) ? operators : new Set();
  const baselinePath = opts.baselinePath ?? join(dirname(opts.manifestPath), BASELINE_FILE);
  const baseline = optionalBaseline(manifest, baselinePath);

  const backendKind = opts.backend ?? 'fargate';
  const handlers: Record<HandlerName, ProxyHandler> = {
    predict: createPredictHandler({
      manifest,
      backendKind,
      backend: fargateBackend({ url: opts.modelUrl }),
      log: writes,
      deadLetters: { sqs: lazySqs(sqs), url: opts.logDlqUrl },
      inputs: { s3: lazyS3(predictS3), bucket: opts.bucketName, operatorKeyIds: operatorKeyIdsOf('predict') },
      ttlDays: opts.logTtlDays,
      versions: opts.versions,
    }),
    query: createQueryHandler({ manifest, log: reads, operatorKeyIds: operatorKeyIdsOf('query'), analytics: opts.analytics }),
    feedback: createFeedbackHandler({ manifest, log: reads, operatorKeyIds: operatorKeyIdsOf('feedback') }),
    meta: createMetaHandler({
      manifest,
      backendKind,
      baseline,
      dashboardDir: opts.dashboardDir,
    }),
  };
  return {
    handlers,
    replay: createReplayHandler({ log: writes, parking: { s3: lazyS3(s3), bucket: opts.bucketName }, queueUrl: opts.logDlqUrl }),
    analyticsWriter: createAnalyticsWriter({ manifest, s3, bucket: opts.bucketName }),
    analyticsCompactor: createAnalyticsCompactor({ manifest, s3, bucket: opts.bucketName, baseline }),
    close() {
      for (const c of new Set([dynamodb, logWrites, s3, predictS3, sqs])) c.destroy();
    },
  };
}
