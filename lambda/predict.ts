/**
 * `POST /predict`: check the body against the model manifest, run the model through the configured
 * backend, log one item per instance (never losing one), and answer with each prediction's id.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ENV } from '../contract/env';
import { ApiError } from '../contract/errors';
import { LIMITS, maxPredictBodyBytes } from '../contract/limits';
import { csvRecords, csvRow, validateInstances, type Instance } from '../contract/manifest';
import { MODEL_VERSION_HEADER, type InvocationResponse, type PredictResponse, type Prediction } from '../contract/prediction';
import { predictionInputKey } from '../contract/bucket';
import { sortKeyOf, type PredictionRecord } from '../contract/prediction-log';
import { IDEMPOTENCY_HEADER } from '../contract/routes';
import type { Backend } from './commons/backend';
import { dynamoOptions } from './commons/clients';
import { lazyS3, lazySqs } from './commons/lazy-clients';
import { intValue, readConfig, required } from './commons/config';
import { apiHandler, bodyBytes, header, mediaType, parseJsonBody, type RequestContext } from './commons/http';
import { bodyHash, checkIdempotencyKey, IdempotencyStore } from './commons/idempotency';
import { fetchInstance, storeInput } from './commons/inputs';
import { newPredictionId } from './commons/ids';
import { createLogger } from './commons/logger';
import { putRecordWithRetry, sendToDeadLetterQueue } from './commons/log-writer';
import { loadManifest } from './commons/manifest';
import { Metrics } from './commons/metrics';
import { fargateBackend } from './commons/fargate-backend';
import { sagemakerBackend } from './commons/sagemaker-backend';

const config = readConfig('predict');
const manifest = loadManifest(required(config, ENV.MODEL_MANIFEST_PATH), __dirname);
const table = required(config, ENV.PREDICTION_TABLE);
const bucket = required(config, ENV.DATA_BUCKET);
const dlqUrl = required(config, ENV.LOG_DLQ_URL);
const ttlDays = intValue(config, ENV.LOG_TTL_DAYS);
const maxBodyBytes = maxPredictBodyBytes(config.backend);

// One attempt per SDK call: the log writer runs its own bounded retries before dead-lettering.
const ddb = new DynamoDBClient(dynamoOptions(1));
const s3 = lazyS3();
const sqs = lazySqs();
const idempotency = new IdempotencyStore(ddb, table);
const log = createLogger('predict', { model: manifest.name, modelVersion: manifest.version, backend: config.backend });
const metrics = new Metrics({ name: manifest.name, version: manifest.version });

const backend: Backend =
  config.backend === 'fargate'
    ? fargateBackend({ url: required(config, ENV.MODEL_URL) })
    : sagemakerBackend({ endpointName: required(config, ENV.SAGEMAKER_ENDPOINT) });

export const handler = apiHandler('predict', log, { predict });

async function predict(event: APIGatewayProxyEvent, ctx: RequestContext): Promise<APIGatewayProxyResult> {
  const started = Date.now();
  const bytes = bodyBytes(event);
  if (bytes.length > maxBodyBytes) {
    throw new ApiError('PAYLOAD_TOO_LARGE', `The body is ${bytes.length} bytes; at most ${maxBodyBytes} for the ${config.backend} backend.`);
  }
  const type = mediaType(event) ?? 'application/json';
  const instances = parseInstances(type, bytes);

  const idemKey = header(event, IDEMPOTENCY_HEADER);
  const apiKeyId = event.requestContext?.identity?.apiKeyId ?? undefined;
  let idemId: string | undefined;
  if (idemKey !== undefined) {
    checkIdempotencyKey(idemKey);
    idemId = idempotency.itemId(apiKeyId ?? 'anonymous', idemKey);
    const begun = await idempotency.begin(idemId, bodyHash(type, bytes));
    if (begun.kind === 'replay') {
      ctx.log.info('idempotent replay', { instances: instances.sent.length });
      return { statusCode: begun.statusCode, headers: { 'content-type': 'application/json', [MODEL_VERSION_HEADER]: `${manifest.name}/${manifest.version}`, 'idempotent-replay': 'true' }, body: begun.body };
    }
  }

  try {
    const result = await run(instances, ctx, apiKeyId ?? undefined, started);
    const body = JSON.stringify(result);
    if (idemId !== undefined) await idempotency.complete(idemId, 200, body).catch((e) => ctx.log.warn('idempotency record not completed', { error: e }));
    return { statusCode: 200, headers: { 'content-type': 'application/json', [MODEL_VERSION_HEADER]: `${result.model.name}/${result.model.version}` }, body };
  } catch (e) {
    if (idemId !== undefined) await idempotency.abandon(idemId).catch((err) => ctx.log.warn('idempotency record not released', { error: err }));
    throw e;
  }
}

/** What the caller sent (kept for the log) and what was checked against the manifest. */
interface ParsedInstances {
  sent: unknown[];
  checked: Instance[];
}

function parseInstances(type: string, bytes: Buffer): ParsedInstances {
  if (type === 'application/json') {
    const body = parseJsonBody(bytes);
    const checked = validateInstances(manifest, body, { allowS3Keys: true });
    return { sent: (body as { instances: unknown[] }).instances, checked };
  }
  if (type === 'text/csv' && manifest.input.kind === 'tabular') {
    // Parsing stops after the rows one request may hold; a header row is matched by feature names.
    const features = manifest.input.features;
    const records = csvRecords(manifest, bytes.toString('utf8'), LIMITS.maxInstancesPerRequest);
    const checked = records.map((r) => ({ values: csvRow(features, r.cells, `rows[${r.line}]`) }));
    // The rows passed the check, so each cell is a plain decimal: keep the numbers as sent, in feature order.
    const sent = records.map((r) => r.cells.map((c) => Number(c.trim())));
    return { sent, checked };
  }
  const accepted = manifest.input.kind === 'tabular' ? 'application/json or text/csv' : 'application/json';
  throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type} is not accepted; send ${accepted}.`, 'Content-Type');
}

async function run(instances: ParsedInstances, ctx: RequestContext, apiKeyId: string | undefined, started: number): Promise<PredictResponse> {
  // Instances given as S3 keys are fetched; the model sees the object, the log keeps the key.
  const modelInputs = await Promise.all(
    instances.checked.map((inst, i) =>
      's3Key' in inst ? fetchInstance(s3, bucket, manifest, inst.s3Key, `instances[${i}].s3Key`, maxBodyBytes) : Promise.resolve(instances.sent[i]),
    ),
  );
  const invocation = JSON.stringify({ instances: modelInputs });
  if (Buffer.byteLength(invocation) > maxBodyBytes) {
    throw new ApiError('PAYLOAD_TOO_LARGE', `The instances add up to more than ${maxBodyBytes} bytes for the ${config.backend} backend.`);
  }

  const t0 = Date.now();
  const answer = await backend.invoke(invocation, modelInputs.length, ctx.deadline);
  const backendMs = Date.now() - t0;

  const now = new Date();
  const records = await Promise.all(answer.predictions.map((p, i) => recordFor(p, i, instances, answer, ctx, apiKeyId, now, Date.now() - started)));
  await logRecords(records, ctx);
  emitMetrics(answer, backendMs);
  ctx.log.info('predicted', { instances: records.length, backendMs, ids: records.map((r) => r.id) });

  return { predictions: answer.predictions.map((p, i) => ({ id: records[i].id, ...p })), model: answer.model };
}

async function recordFor(
  p: Prediction,
  i: number,
  instances: ParsedInstances,
  answer: InvocationResponse,
  ctx: RequestContext,
  apiKeyId: string | undefined,
  now: Date,
  latencyMs: number,
): Promise<PredictionRecord> {
  const id = newPredictionId(now.getTime());
  const timestamp = now.toISOString();
  const record: PredictionRecord = {
    id,
    model: answer.model.name,
    modelVersion: answer.model.version,
    createdAt: sortKeyOf(timestamp, id),
    timestamp,
    output: p,
    latencyMs,
    requestId: ctx.requestId,
    ...('label' in p ? { label: p.label } : {}),
    ...(apiKeyId !== undefined ? { apiKeyId } : {}),
    ...(ttlDays > 0 ? { expiresAt: Math.floor(now.getTime() / 1000) + ttlDays * 86_400 } : {}),
  };
  const checked = instances.checked[i];
  if ('s3Key' in checked) {
    record.inputKey = checked.s3Key;
  } else if (Buffer.byteLength(JSON.stringify(instances.sent[i])) > LIMITS.maxInlineInputBytes) {
    const key = predictionInputKey(record.model, timestamp, id);
    await storeInput(s3, bucket, key, instances.sent[i]);
    record.inputKey = key;
  } else {
    record.input = instances.sent[i];
  }
  return record;
}

/**
 * Every record reaches the table or the dead-letter queue before the caller gets a 200. If both refuse,
 * the caller gets a 503 rather than an answer nobody can find later.
 */
async function logRecords(records: PredictionRecord[], ctx: RequestContext): Promise<void> {
  const outcomes = await Promise.all(records.map((r) => putRecordWithRetry(ddb, table, r)));
  const failed = records.filter((_, i) => !outcomes[i].ok);
  if (failed.length === 0) return;
  metrics.count('LogWriteFailures', failed.length);
  ctx.log.warn('log write failed; dead-lettering', { failed: failed.length, ids: failed.map((r) => r.id), error: outcomes.find((o) => !o.ok)?.error });
  try {
    await sendToDeadLetterQueue(sqs, dlqUrl, failed);
  } catch (e) {
    ctx.log.error('dead-letter queue refused records', { ids: failed.map((r) => r.id), error: e });
    throw new ApiError('STORAGE_UNAVAILABLE', 'The prediction could not be logged; retry shortly.');
  }
  metrics.count('DlqSends', failed.length);
}

function emitMetrics(answer: InvocationResponse, backendMs: number): void {
  metrics.emit({ Predictions: { value: answer.predictions.length, unit: 'Count' }, BackendLatency: { value: backendMs, unit: 'Milliseconds' } });
  const perLabel = new Map<string, number>();
  for (const p of answer.predictions) if ('label' in p) perLabel.set(p.label, (perLabel.get(p.label) ?? 0) + 1);
  for (const [label, n] of perLabel) metrics.count('Predictions', n, { Label: label });
}
