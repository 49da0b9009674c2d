/**
 * The real parts the handler tests run against: dynalite with the prediction table, s3rver with the
 * data bucket, the local SQS with the dead-letter queue, and the container's model server with the
 * example model. Each function is built fresh (a cold start) from the environment the CDK would set.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type RunningServer, startServer } from '../../container/src/server';
import { ENV } from '../../contract/env';
import { createFeedbackHandler, feedbackDepsFromEnv } from '../../lambda/api/feedback';
import { createMetaHandler, metaDepsFromEnv } from '../../lambda/api/meta';
import { createPredictHandler, predictDepsFromEnv } from '../../lambda/api/predict';
import { createQueryHandler, queryDepsFromEnv } from '../../lambda/api/query';
import { createReplayHandler, replayDepsFromEnv } from '../../lambda/log/replay';
import { dynamoClient, type EmbeddedDynamoDb, ensureTable, startDynamoDb } from '../../local/dynamodb';
import { type EmbeddedS3, s3Client, startS3 } from '../../local/s3';
import { type RunningSqsServer, startSqsServer } from '../../local/sqs-server';

export const MODEL_DIR = resolve(__dirname, '../../models/breast-cancer');
/** Where a function's entry lives: relative paths of its environment are read from there. */
const LAMBDA_DIR = resolve(__dirname, '../../lambda');
export const MANIFEST_PATH = join(MODEL_DIR, 'model.json');
export const TABLE = 'predictions-test';
export const BUCKET = 'mlship-test-data';
export const QUEUE = 'log-dlq';

export interface Harness {
  ddb: EmbeddedDynamoDb;
  s3: EmbeddedS3;
  sqs: RunningSqsServer;
  model: RunningServer;
  /** The served model's manifest, given to the handlers. */
  manifestPath: string;
  /** Lines the handlers wrote to stdout (structured logs and EMF metrics), parsed. */
  stdout: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startHarness(opts: { model?: boolean; modelDir?: string; challengerDir?: string } = {}): Promise<Harness> {
  const modelDir = opts.modelDir ?? MODEL_DIR;
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  process.env.AWS_REGION = 'us-east-1';
  const dir = mkdtempSync(join(tmpdir(), 'mlship-lambda-'));
  const [ddb, s3, sqs, model] = await Promise.all([
    startDynamoDb({}),
    startS3({ dir: join(dir, 's3'), bucket: BUCKET }),
    startSqsServer({ queues: [QUEUE] }),
    opts.model === false
      ? Promise.resolve(undefined as unknown as RunningServer)
      : // A worker process: onnxruntime rejects typed arrays made in jest's sandboxed globals.
        startServer({ modelDir, challengerDir: opts.challengerDir, workers: 1, port: 0 }),
  ]);
  await ensureTable(dynamoClient(ddb.url), TABLE);
  const stdout: Record<string, unknown>[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = chunk.toString();
    if (text.startsWith('{')) {
      for (const line of text.split('\n').filter(Boolean)) stdout.push(JSON.parse(line) as Record<string, unknown>);
      return true;
    }
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write);
  return {
    ddb,
    s3,
    sqs,
    model,
    manifestPath: join(modelDir, 'model.json'),
    stdout,
    async close() {
      spy.mockRestore();
      await Promise.all([ddb.close(), s3.close(), sqs.close(), model?.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type ApiHandler = (e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** What each function's entry does at cold start, with `env` in place of the one the CDK sets. */
const FACTORIES = {
  predict: (env: NodeJS.ProcessEnv) => createPredictHandler(predictDepsFromEnv(env, LAMBDA_DIR)),
  query: (env: NodeJS.ProcessEnv) => createQueryHandler(queryDepsFromEnv(env, LAMBDA_DIR)),
  feedback: (env: NodeJS.ProcessEnv) => createFeedbackHandler(feedbackDepsFromEnv(env, LAMBDA_DIR)),
  meta: (env: NodeJS.ProcessEnv) => createMetaHandler(metaDepsFromEnv(env, LAMBDA_DIR)),
};

/** The function built from the environment the CDK sets for it, as a cold start does. */
export function loadHandler(file: keyof typeof FACTORIES, env: Record<string, string>): ApiHandler {
  return FACTORIES[file](env);
}

export function loadReplay(env: Record<string, string>): (e: SQSEvent) => Promise<SQSBatchResponse> {
  return createReplayHandler(replayDepsFromEnv(env));
}

/** The operator key id the functions are given in the tests (events default to the client key `key-1`). */
export const OPERATOR_KEY_ID = 'operator-1';

/** The environment of the predict function for a harness and backend. */
export function predictEnv(
  h: Harness,
  backend: 'fargate' | { sagemakerEndpoint: string; runtimeUrl: string },
  modelUrl?: string,
): Record<string, string> {
  return {
    [ENV.PREDICTION_TABLE]: TABLE,
    [ENV.DATA_BUCKET]: BUCKET,
    [ENV.LOG_DLQ_URL]: h.sqs.queueUrl(QUEUE),
    [ENV.MODEL_MANIFEST_PATH]: h.manifestPath,
    [ENV.LOG_TTL_DAYS]: '30',
    [ENV.CHALLENGER]: 'none',
    [ENV.OPERATOR_KEY_IDS]: OPERATOR_KEY_ID,
    [ENV.DYNAMODB_URL]: h.ddb.url,
    [ENV.S3_URL]: h.s3.url,
    [ENV.SQS_URL]: h.sqs.url,
    ...(backend === 'fargate'
      ? { [ENV.BACKEND]: 'fargate', [ENV.MODEL_URL]: modelUrl ?? h.model.url }
      : {
          [ENV.BACKEND]: 'sagemaker',
          [ENV.SAGEMAKER_ENDPOINT]: backend.sagemakerEndpoint,
          [ENV.SAGEMAKER_RUNTIME_URL]: backend.runtimeUrl,
        }),
  };
}

/** The query function's environment; `analytics` names the Athena workgroup and database (default: none deployed). */
export function queryEnv(
  h: Harness,
  analytics: { workgroup: string; database: string } = { workgroup: 'off', database: 'off' },
): Record<string, string> {
  return {
    [ENV.PREDICTION_TABLE]: TABLE,
    [ENV.MODEL_MANIFEST_PATH]: h.manifestPath,
    [ENV.DYNAMODB_URL]: h.ddb.url,
    [ENV.OPERATOR_KEY_IDS]: OPERATOR_KEY_ID,
    [ENV.ANALYTICS_WORKGROUP]: analytics.workgroup,
    [ENV.ANALYTICS_DATABASE]: analytics.database,
  };
}

export function replayEnv(h: Harness): Record<string, string> {
  return {
    [ENV.PREDICTION_TABLE]: TABLE,
    [ENV.LOG_DLQ_URL]: h.sqs.queueUrl(QUEUE),
    [ENV.DATA_BUCKET]: BUCKET,
    [ENV.DYNAMODB_URL]: h.ddb.url,
    [ENV.S3_URL]: h.s3.url,
  };
}

export { dynamoClient, s3Client };
