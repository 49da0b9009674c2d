/**
 * `POST /predict`: check the body against the model manifest, run the model through the configured
 * backend, log one item per instance (never losing one), and answer with each prediction's id.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { predictionInputKey } from '../contract/bucket';
import { ENV } from '../contract/env';
import { ApiError } from '../contract/errors';
import { LIMITS, maxPredictBodyBytes } from '../contract/limits';
import { csvRecords, csvRow, type FeatureValue, type Instance, packsFloat32, type Row, validateInstances } from '../contract/manifest';
import { readManifestFile } from '../contract/model-files';
import { type InvocationResponse, MODEL_VERSION_HEADER, type Prediction, type PredictResponse } from '../contract/prediction';
import { float32Decimal, type PredictionRecord } from '../contract/prediction-log';
import { IDEMPOTENCY_HEADER } from '../contract/routes';
import { apiHandler, bodyBytes, header, mediaType, parseJsonBody, type RequestContext } from './http/api-handler';
import { bodyHash, checkIdempotencyKey, IdempotencyStore } from './log/idempotency';
import { newPredictionId } from './log/ids';
import { putRecordWithRetry, sendToDeadLetterQueue } from './log/log-writer';
import type { Backend } from './model/backend';
import { fargateBackend } from './model/fargate-backend';
import { fetchInstance, imageFormatOf, type ResolvedInstance, storeInput } from './model/inputs';
import { sagemakerBackend } from './model/sagemaker-backend';
import { dynamoOptions } from './runtime/clients';
import { intValue, readConfig, required } from './runtime/config';
import { lazyS3, lazySqs } from './runtime/lazy-clients';
import { createLogger } from './runtime/logger';
import { Metrics } from './runtime/metrics';

const config = readConfig('predict');
const manifest = readManifestFile(required(config, ENV.MODEL_MANIFEST_PATH), __dirname);
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
    : sagemakerBackend({ endpointName: required(config, ENV.SAGEMAKER_ENDPOINT), serverless: config.backend === 'sagemaker-serverless' });

export const handler = apiHandler('predict', log, { predict });

async function predict(event: APIGatewayProxyEvent, ctx: RequestContext): Promise<APIGatewayProxyResult> {
  const started = Date.now();
  const bytes = bodyBytes(event);
  if (bytes.length > maxBodyBytes) {
    throw new ApiError(
      'PAYLOAD_TOO_LARGE',
      `The body is ${bytes.length} bytes; at most ${maxBodyBytes} for the ${config.backend} backend.`,
    );
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
      ctx.log.info('idempotent replay', { instances: instances.length });
      return {
        statusCode: begun.statusCode,
        headers: {
          'content-type': 'application/json',
          [MODEL_VERSION_HEADER]: `${manifest.name}/${manifest.version}`,
          'idempotent-replay': 'true',
        },
        body: begun.body,
      };
    }
  }

  try {
    const result = await run(instances, ctx, apiKeyId ?? undefined, started);
    const body = JSON.stringify(result);
    if (idemId !== undefined)
      await idempotency.complete(idemId, 200, body).catch((e) => ctx.log.warn('idempotency record not completed', { error: e }));
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json', [MODEL_VERSION_HEADER]: `${result.model.name}/${result.model.version}` },
      body,
    };
  } catch (e) {
    if (idemId !== undefined)
      await idempotency.abandon(idemId).catch((err) => ctx.log.warn('idempotency record not released', { error: err }));
    throw e;
  }
}

function parseInstances(type: string, bytes: Buffer): Instance[] {
  if (type === 'application/json') return validateInstances(manifest, parseJsonBody(bytes), { allowS3Keys: true });
  if (type === 'text/csv' && manifest.input.kind === 'tabular') {
    // Parsing stops after the rows one request may hold; a header row is matched by feature names.
    const features = manifest.input.features;
    const float32 = packsFloat32(manifest);
    return csvRecords(manifest, bytes.toString('utf8'), LIMITS.maxInstancesPerRequest).map((r) => ({
      values: csvRow(features, r.cells, `rows[${r.line}]`, float32),
    }));
  }
  const accepted = manifest.input.kind === 'tabular' ? 'application/json or text/csv' : 'application/json';
  throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type} is not accepted; send ${accepted}.`, 'Content-Type');
}

/**
 * What the model is sent for an instance: the checked values (float32, as the model server reads them,
 * so the log and the model see the same numbers whatever form the caller used) or the encoded image.
 */
function modelInput(inst: ResolvedInstance): FeatureValue[] | { b64: string } {
  return 'values' in inst ? Array.from(inst.values) : { b64: inst.image };
}

/**
 * The values the model saw, as the log keeps them: float32 numbers as their shortest decimal; int, double,
 * string and bool features (fed through their own typed tensors) as they are.
 */
function loggedValues(row: Row): FeatureValue[] {
  if (row instanceof Float32Array) return Array.from(row, float32Decimal);
  const features = manifest.input.kind === 'tabular' ? manifest.input.features : [];
  return row.map((v, i) => (typeof v === 'number' && features[i]?.type === 'float' ? float32Decimal(v) : v));
}

async function run(instances: Instance[], ctx: RequestContext, apiKeyId: string | undefined, started: number): Promise<PredictResponse> {
  // Instances given as S3 keys are fetched and checked; the model sees the object, the log keeps the key.
  const resolved = await Promise.all(
    instances.map((inst, i) =>
      's3Key' in inst ? fetchInstance(s3, bucket, manifest, inst.s3Key, `instances[${i}].s3Key`, maxBodyBytes) : Promise.resolve(inst),
    ),
  );
  const invocation = JSON.stringify({ instances: resolved.map(modelInput) });
  if (Buffer.byteLength(invocation) > maxBodyBytes) {
    throw new ApiError('PAYLOAD_TOO_LARGE', `The instances add up to more than ${maxBodyBytes} bytes for the ${config.backend} backend.`);
  }

  const t0 = Date.now();
  const answer = await backend.invoke(invocation, resolved.length, ctx.deadline).catch((e: unknown) => {
    // The model answered NaN or Infinity: no prediction to log, but a count to alarm on.
    if (e instanceof ApiError && e.code === 'NON_FINITE_OUTPUT') metrics.count('NonFiniteOutputs', 1);
    throw e;
  });
  const backendMs = Date.now() - t0;

  const now = new Date();
  const answered = await Promise.all(
    answer.predictions.map(async (p, i) => {
      // backend.invoke has checked one prediction per instance, and resolved maps instances one to one.
      const sent = instances[i];
      const seen = resolved[i];
      if (sent === undefined || seen === undefined)
        throw new ApiError('BACKEND_ERROR', 'The backend answered more predictions than instances.');
      const record = await recordFor(p, sent, seen, answer, ctx, apiKeyId, now, Date.now() - started);
      return { record, prediction: { id: record.id, ...p } };
    }),
  );
  const records = answered.map((a) => a.record);
  await logRecords(records, ctx);
  emitMetrics(answer, backendMs);
  ctx.log.info('predicted', { instances: records.length, backendMs, ids: records.map((r) => r.id) });

  return { predictions: answered.map((a) => a.prediction), model: answer.model };
}

async function recordFor(
  p: Prediction,
  sent: Instance,
  seen: ResolvedInstance,
  answer: InvocationResponse,
  ctx: RequestContext,
  apiKeyId: string | undefined,
  now: Date,
  latencyMs: number,
): Promise<PredictionRecord> {
  const id = newPredictionId(now.getTime());
  const createdAt = now.toISOString();
  const record: PredictionRecord = {
    id,
    model: answer.model.name,
    modelVersion: answer.model.version,
    createdAt,
    ...('label' in p ? { label: p.label, probabilities: p.probabilities } : { predictedValue: p.value }),
    latencyMs,
    requestId: ctx.requestId,
    ...(apiKeyId !== undefined ? { apiKeyId } : {}),
    ...(ttlDays > 0 ? { expiresAt: Math.floor(now.getTime() / 1000) + ttlDays * 86_400 } : {}),
  };
  if ('s3Key' in sent) record.inputKey = sent.s3Key;
  if ('values' in seen) {
    const values = loggedValues(seen.values);
    const text = JSON.stringify(values);
    if (Buffer.byteLength(text) <= LIMITS.maxInlineInputBytes) record.inputValues = values;
    else if (record.inputKey === undefined) {
      record.inputKey = predictionInputKey(record.model, createdAt, id, 'json');
      await storeInput(s3, bucket, record.inputKey, text, 'application/json');
    }
  } else if (record.inputKey !== undefined) {
    // An image sent by key: the bucket holds its bytes already.
  } else if (seen.image.length <= LIMITS.maxInlineInputBytes) {
    record.inputImage = seen.image;
  } else {
    const bytes = Buffer.from(seen.image, 'base64');
    const format = imageFormatOf(bytes) ?? 'png';
    record.inputKey = predictionInputKey(record.model, createdAt, id, format);
    await storeInput(s3, bucket, record.inputKey, bytes, format === 'png' ? 'image/png' : 'image/jpeg');
  }
  return record;
}

/**
 * Every record reaches the table or the dead-letter queue before the caller gets a 200. If both refuse,
 * the caller gets a 503 rather than an answer nobody can find later.
 */
async function logRecords(records: PredictionRecord[], ctx: RequestContext): Promise<void> {
  const outcomes = await Promise.all(records.map((r) => putRecordWithRetry(ddb, table, r)));
  const failed = records.filter((_, i) => outcomes[i]?.ok === false);
  if (failed.length === 0) return;
  metrics.count('LogWriteFailures', failed.length);
  ctx.log.warn('log write failed; dead-lettering', {
    failed: failed.length,
    ids: failed.map((r) => r.id),
    error: outcomes.find((o) => !o.ok)?.error,
  });
  try {
    await sendToDeadLetterQueue(sqs, dlqUrl, failed);
  } catch (e) {
    ctx.log.error('dead-letter queue refused records', { ids: failed.map((r) => r.id), error: e });
    throw new ApiError('STORAGE_UNAVAILABLE', 'The prediction could not be logged; retry shortly.');
  }
  metrics.count('DlqSends', failed.length);
}

function emitMetrics(answer: InvocationResponse, backendMs: number): void {
  metrics.emit({
    Predictions: { value: answer.predictions.length, unit: 'Count' },
    BackendLatency: { value: backendMs, unit: 'Milliseconds' },
  });
  const perLabel = new Map<string, number>();
  for (const p of answer.predictions) if ('label' in p) perLabel.set(p.label, (perLabel.get(p.label) ?? 0) + 1);
  for (const [label, n] of perLabel) metrics.count('Predictions', n, { Label: label });
}
