/**
 * One end-to-end run that reaches every AWS call the runtime code can make: every route, idempotent
 * replays and conflicts, S3 inputs, the dead-letter path and its replay, the model download from S3 in
 * both forms the container accepts, and the predict function on the SageMaker path with an image model
 * (large inputs stored under `predictions/`). Each step is tagged with the backends it applies to.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyResult, ScheduledEvent } from 'aws-lambda';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { resolveModelDir } from '../../container/src/model-source';
import { startServer } from '../../container/src/server';
import { BASELINE_FILE } from '../../contract/baseline';
import { modelPackageKey, PREFIX } from '../../contract/bucket';
import { ENV } from '../../contract/env';
import { MANIFEST_FILE } from '../../contract/manifest';
import { API_KEY_HEADER, IDEMPOTENCY_HEADER } from '../../contract/routes';
import { LOCAL_NAMES, PROJECT_ROOT } from '../../local/paths';
import { s3Client } from '../../local/s3';
import { startSageMakerRuntime } from '../../local/sagemaker-runtime';
import type { LocalSystem } from '../../local/system';
import { MODEL_DIR } from '../../bench/reliability/load-runner';
import { proxyEvent } from '../lambda/events';

/** Which backends' roles a recorded call must be checked against. */
export type Phase = 'all' | 'fargate' | 'sagemaker';

/** Feature values no log line may contain. */
export const DISTINCTIVE_VALUES = [91.73625148, 47.21958317];

export function distinctiveRow(): number[] {
  const row = Array.from({ length: 30 }, (_, i) => 0.5 + i / 100);
  row[3] = DISTINCTIVE_VALUES[0];
  row[7] = DISTINCTIVE_VALUES[1];
  return row;
}

export async function exerciseLocalSystem(local: LocalSystem, setPhase: (p: Phase) => void): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  const call = async (name: string, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await fetch(local.url + path, {
      method: init.method ?? 'GET',
      headers: { [API_KEY_HEADER]: local.apiKey, 'content-type': 'application/json', ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    statuses[name] = res.status;
    return (await res.json()) as { predictions?: { id: string; label: string }[] };
  };
  setPhase('all');
  const first = await call('predict', '/predict', { method: 'POST', body: { instances: [distinctiveRow()] } });
  const id = first.predictions?.[0].id ?? '';
  await call('predict idempotent', '/predict', { method: 'POST', body: { instances: [distinctiveRow()] }, headers: { [IDEMPOTENCY_HEADER]: 'iam-proof-1' } });
  await call('predict idempotent replay', '/predict', { method: 'POST', body: { instances: [distinctiveRow()] }, headers: { [IDEMPOTENCY_HEADER]: 'iam-proof-1' } });
  await call('predict idempotent conflict', '/predict', { method: 'POST', body: { instances: [distinctiveRow(), distinctiveRow()] }, headers: { [IDEMPOTENCY_HEADER]: 'iam-proof-1' } });

  const s3 = s3Client(local.s3Url);
  const datasetKey = `${PREFIX.datasets}iam-proof/row.json`;
  await s3.send(new PutObjectCommand({ Bucket: local.bucketName, Key: datasetKey, Body: JSON.stringify(distinctiveRow()) }));
  await call('predict s3Key', '/predict', { method: 'POST', body: { instances: [{ s3Key: datasetKey }] } });
  // A request that fails after reserving its idempotency key releases it (DeleteItem).
  await call('predict idempotent failure', '/predict', { method: 'POST', body: { instances: [{ s3Key: `${PREFIX.datasets}iam-proof/missing.json` }] }, headers: { [IDEMPOTENCY_HEADER]: 'iam-proof-2' } });

  await call('list', '/predictions?limit=5');
  await call('get', `/predictions/${id}`);
  await call('feedback', `/predictions/${id}/feedback`, { method: 'POST', body: { label: first.predictions?.[0].label } });
  await call('summary', '/metrics/summary?window=1h');
  await call('model', '/model');
  await call('health', '/health');
  await call('openapi', '/openapi.json');

  // The log store away: the record goes to the dead-letter queue, then the replay writes it.
  await local.dynamodb.stop();
  await call('predict dead-lettered', '/predict', { method: 'POST', body: { instances: [distinctiveRow()] } });
  await local.dynamodb.start();
  const drained = await local.replay();
  statuses['replayed'] = drained.replayed;

  // Fargate's container also accepts a prefix (ListBucket + GetObject); SageMaker mounts the archive itself.
  const prefix = modelPackageKey(local.manifest.name, local.manifest.version).replace(/model\.tar\.gz$/, 'files/');
  for (const file of ['model.json', local.manifest.file]) {
    await s3.send(new PutObjectCommand({ Bucket: local.bucketName, Key: prefix + file, Body: readFileSync(join(MODEL_DIR, file)) }));
  }
  setPhase('fargate');
  const prefixUri = `s3://${local.bucketName}/${prefix}`;
  await resolveModelDir({ env: { [ENV.MODEL_S3_URI]: prefixUri, [ENV.S3_URL]: local.s3Url, AWS_REGION: LOCAL_NAMES.region }, cacheDir: mkdtempSync(join(tmpdir(), 'mlship-iam-cache-')) });
  s3.destroy();
  setPhase('all');
  return statuses;
}

/** A PNG of noise: it does not compress, so its base64 is well over the inline input limit. */
function noisePng(side: number): string {
  const png = new PNG({ width: side, height: side });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 2654435761) >>> 24;
  return PNG.sync.write(png).toString('base64');
}

/**
 * The predict function on the SageMaker path, loaded in its own module registry with the digits model:
 * InvokeEndpoint through the local runtime stand-in, a large image stored under `predictions/`, and that
 * stored input read back as an S3 key.
 */
export async function exerciseSageMakerPredict(local: LocalSystem, install: () => () => void, setPhase: (p: Phase) => void): Promise<number[]> {
  const digits = join(PROJECT_ROOT, 'models', 'digits');
  // In its own process, as in the local system: onnxruntime's tensors must stay in one JavaScript realm.
  const model = await startServer({ modelDir: digits, port: 0, host: '127.0.0.1', workers: 1 });
  const runtime = await startSageMakerRuntime({ endpoints: { 'mlship-iam-proof': model.url } });
  const saved = { ...process.env };
  Object.assign(process.env, {
    [ENV.BACKEND]: 'sagemaker',
    [ENV.SAGEMAKER_ENDPOINT]: 'mlship-iam-proof',
    [ENV.SAGEMAKER_RUNTIME_URL]: runtime.url,
    [ENV.MODEL_MANIFEST_PATH]: join(digits, 'model.json'),
  });
  delete process.env[ENV.MODEL_URL];
  setPhase('sagemaker');
  const statuses: number[] = [];
  try {
    let predict: typeof import('../../lambda/predict') | undefined;
    let uninstall: (() => void) | undefined;
    jest.isolateModules(() => {
      // This registry has its own copy of the SDK: record it too.
      uninstall = install();
      predict = require('../../lambda/predict');
    });
    if (!predict) throw new Error('predict did not load');
    const send = async (body: unknown) => {
      const res = (await predict!.handler(proxyEvent({ method: 'POST', resource: '/predict', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, apiKeyId: 'iam' }))) as APIGatewayProxyResult;
      statuses.push(res.statusCode);
      return JSON.parse(res.body) as { predictions?: { id: string }[] };
    };
    const big = await send({ instances: [{ b64: noisePng(64) }] });
    const id = big.predictions?.[0].id;
    const { scanPredictions } = await import('../../bench/reliability/log-scan');
    const stored = (await scanPredictions(local.dynamodbUrl, local.tableName)).find((i) => i.id === id)?.inputKey;
    if (stored) await send({ instances: [{ s3Key: stored }] });
    uninstall?.();
  } finally {
    process.env = saved;
    setPhase('all');
    await runtime.close();
    await model.close();
  }
  return statuses;
}

/**
 * The scheduled quality job over the window just logged, as its EventBridge rule runs it, with the
 * environment its function gets. Returns how many model versions it measured.
 */
export async function runQualityJob(local: LocalSystem): Promise<number> {
  const env: Record<string, string> = {
    [ENV.PREDICTION_TABLE]: local.tableName,
    [ENV.MODEL_MANIFEST_PATH]: join(MODEL_DIR, MANIFEST_FILE),
    [ENV.MODEL_BASELINE_PATH]: join(MODEL_DIR, BASELINE_FILE),
    [ENV.QUALITY_WINDOW_MINUTES]: '60',
  };
  Object.assign(process.env, env);
  const quality = require('../../lambda/quality') as typeof import('../../lambda/quality');
  const result = await quality.handler({ time: new Date().toISOString() } as ScheduledEvent);
  return result.versions.length;
}
