/**
 * The floor of the local API for `bench/local/bench.ts`: the gateway and the predict handler built as the
 * local system builds them, logging to the running system's embedded DynamoDB, with the model call
 * answered in-process at once (by the answer the model server gave for the bench's body). What is left is
 * the gateway, the proxy event, the handler and the log write — the least `POST /predict` can cost here
 * before any model runs. Run in its own process, as the system's gateway runs in its own.
 *
 *   node --import tsx bench/local/floor-api.ts <settings JSON>
 *
 * prints `listening <url>` and serves until SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ModelManifest } from '../../contract/manifest';
import type { InvocationResponse } from '../../contract/prediction';
import { createPredictHandler } from '../../lambda/api/predict';
import { logTableClient, PredictionLogStore } from '../../lambda/log/prediction-log-store';
import { lazyS3, lazySqs } from '../../lambda/runtime/lazy-clients';
import { setLineSink } from '../../lambda/runtime/log-output';
import { apiKeyIdOf, createGateway } from '../../local/gateway';
import { listen } from '../../local/listen';
import { LOCAL_NAMES, PROJECT_ROOT, S3RVER_CREDENTIALS } from '../../local/paths';

/** Where the running system is, and what the model answers. */
export interface FloorSettings {
  readonly apiKey: string;
  readonly dynamodbUrl: string;
  readonly s3Url: string;
  readonly sqsUrl: string;
  readonly logDlqUrl: string;
  readonly answer: InvocationResponse;
}

async function main() {
  const settings = JSON.parse(process.argv[2] ?? '{}') as FloorSettings;
  // As `npm start` routes the handlers' lines: warnings and errors only.
  setLineSink((line) => process.stderr.write(`${line}\n`), ['WARN', 'ERROR']);
  const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'models', 'breast-cancer', 'model.json'), 'utf8')) as ModelManifest;
  const aws = { region: LOCAL_NAMES.region, credentials: { ...S3RVER_CREDENTIALS } };
  // As the local functions build the predict function's clients (local/functions.ts).
  const logWrites = logTableClient({ ...aws, endpoint: settings.dynamodbUrl, maxAttempts: 1 });
  const predict = createPredictHandler({
    manifest,
    backendKind: 'fargate',
    backend: { kind: 'fargate', invoke: () => Promise.resolve(settings.answer) },
    log: new PredictionLogStore(logWrites, LOCAL_NAMES.table),
    deadLetters: { sqs: lazySqs(new SQSClient({ ...aws, endpoint: settings.sqsUrl })), url: settings.logDlqUrl },
    inputs: { s3: lazyS3(new S3Client({ ...aws, endpoint: settings.s3Url, forcePathStyle: true })), bucket: LOCAL_NAMES.bucket },
    ttlDays: 0,
  });
  const none = (): Promise<APIGatewayProxyResult> => Promise.resolve({ statusCode: 404, body: '' });
  const gateway = createGateway({
    handlers: { predict, query: none, feedback: none, meta: none },
    apiKey: settings.apiKey,
    apiKeyId: apiKeyIdOf(settings.apiKey),
    stage: LOCAL_NAMES.stage,
  });
  const port = await listen(gateway, 0, 'floor API');
  process.stdout.write(`listening http://127.0.0.1:${port}\n`);
  process.once('SIGTERM', () => {
    gateway.closeAllConnections();
    gateway.close(() => logWrites.destroy());
  });
}

void main();
