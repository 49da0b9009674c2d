/**
 * One end-to-end run that reaches every AWS call the runtime code can make: every route, idempotent
 * replays and conflicts, S3 inputs, the dead-letter path and its replay, the model download from S3 in
 * both forms the container accepts, and the predict function on the SageMaker path with an image model
 * (large inputs stored under `predictions/`), the golden-set check both ways a rollout calls it, and the
 * Fargate batch task on a dataset in the bucket. Each step is tagged with the backends it applies to.
 * For a deployment with a split challenger: requests routed by the split, and the quality job's
 * promotion run publishing its decision.
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult, ScheduledEvent } from 'aws-lambda';
import { PNG } from 'pngjs';
import * as tar from 'tar';
import { openOutput } from '../../container/src/batch/locations';
import { resolveModelDir } from '../../container/src/model-source';
import { startServer } from '../../container/src/server';
import { trainingContainerCommands } from '../../container/src/training/command';
import { BASELINE_FILE } from '../../contract/baseline';
import { batchOutputPrefix } from '../../contract/batch';
import { modelPrefix, PREFIX } from '../../contract/bucket';
import { ENV } from '../../contract/env';
import { MANIFEST_FILE } from '../../contract/manifest';
import { MODEL_VERSION_HEADER } from '../../contract/prediction';
import { NO_PROMOTION } from '../../contract/promotion';
import { GOLDEN_SET_FILE } from '../../contract/rollout';
import { API_KEY_HEADER, IDEMPOTENCY_HEADER } from '../../contract/routes';
import { REGISTRY_CHALLENGER } from '../../contract/versions';
import { createPredictHandler, predictDepsFromEnv } from '../../lambda/api/predict';
import { createQualityHandler, type QualityRunResult, qualityDepsFromEnv } from '../../lambda/quality/job';
import { loadGoldenSet } from '../../lambda/rollout/check';
import { createGoldenCheckHandler } from '../../lambda/rollout/handler';
import { checkRuntimeClient } from '../../lambda/rollout/replay';
import { createHandOverHandler, handOverDepsFromEnv } from '../../lambda/versions/hand-over';
import { LOCAL_NAMES, PROJECT_ROOT, S3RVER_CREDENTIALS } from '../../local/paths';
import { modelSourceEnv, s3Client } from '../../local/s3';
import { startSageMakerRuntime } from '../../local/sagemaker-runtime';
import type { LocalSystem } from '../../local/system';
import { proxyEvent } from '../lambda/events';
import { defined } from '../support/defined';
import { MODEL_DIR } from '../support/load-runner';
import { modelVersionCopy } from '../support/model-version';

/**
 * Which backends' roles a recorded call must be checked against. `undeployed`: a form the code accepts
 * but no deployment configures; its calls are checked to be denied where they must be.
 */
export type Phase = 'all' | 'fargate' | 'sagemaker' | 'undeployed';

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
  await call('predict idempotent', '/predict', {
    method: 'POST',
    body: { instances: [distinctiveRow()] },
    headers: { [IDEMPOTENCY_HEADER]: 'iam-proof-1' },
  });
  await call('predict idempotent replay', '/predict', {
    method: 'POST',
    body: { instances: [distinctiveRow()] },
    headers: { [IDEMPOTENCY_HEADER]: 'iam-proof-1' },
  });
  await call('predict idempotent conflict', '/predict', {
    method: 'POST',
    body: { instances: [distinctiveRow(), distinctiveRow()] },
    headers: { [IDEMPOTENCY_HEADER]: 'iam-proof-1' },
  });

  const s3 = s3Client(local.s3Url);
  const datasetKey = `${PREFIX.datasets}iam-proof/row.json`;
  await s3.send(new PutObjectCommand({ Bucket: local.bucketName, Key: datasetKey, Body: JSON.stringify(distinctiveRow()) }));
  await call('predict s3Key', '/predict', { method: 'POST', body: { instances: [{ s3Key: datasetKey }] } });
  // A request that fails after reserving its idempotency key releases it (DeleteItem).
  await call('predict idempotent failure', '/predict', {
    method: 'POST',
    body: { instances: [{ s3Key: `${PREFIX.datasets}iam-proof/missing.json` }] },
    headers: { [IDEMPOTENCY_HEADER]: 'iam-proof-2' },
  });

  await call('list', '/predictions?limit=5');
  // A client key lists through its own partition of the caller index.
  await call('list as client', '/predictions?limit=5', { headers: { [API_KEY_HEADER]: local.clientApiKey } });
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
  statuses.replayed = drained.replayed;
  // A message no write can fix: the replay parks it under parked/log-records/ (PutObject).
  const sqs = new SQSClient({
    endpoint: local.sqsUrl,
    region: LOCAL_NAMES.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await sqs.send(new SendMessageCommand({ QueueUrl: local.logDlqUrl, MessageBody: '{"not": "a record"}' }));
  sqs.destroy();
  statuses.parked = (await local.replay()).replayed;

  // The container also accepts a prefix (ListBucket + GetObject), but every deployment hands it the
  // package key (GetObject alone), so no role may list: recorded to prove that the listing is denied.
  const prefix = `${modelPrefix(local.manifest.name)}${local.manifest.version}/files/`;
  for (const file of ['model.json', local.manifest.file]) {
    await s3.send(new PutObjectCommand({ Bucket: local.bucketName, Key: prefix + file, Body: readFileSync(join(MODEL_DIR, file)) }));
  }
  // The analytics store: the stream stand-in writes the log's changes, then the compactor folds today in
  // as if the day had closed (a run two days on), so its calls are recorded too.
  await local.flushAnalytics();
  statuses.compacted = (await local.compactAnalytics(new Date(Date.now() + 2 * 86_400_000))).partitions.length;
  setPhase('undeployed');
  const prefixUri = `s3://${local.bucketName}/${prefix}`;
  await resolveModelDir({
    env: modelSourceEnv(prefixUri, local.s3Url),
    cacheDir: mkdtempSync(join(tmpdir(), 'mlship-iam-cache-')),
  });
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
 * The predict function on the SageMaker path, built from the environment its function gets, with the
 * digits model: InvokeEndpoint through the local runtime stand-in, a large image stored under
 * `predictions/`, and that stored input read back as an S3 key.
 */
export async function exerciseSageMakerPredict(local: LocalSystem, setPhase: (p: Phase) => void): Promise<number[]> {
  const digits = join(PROJECT_ROOT, 'models', 'digits');
  // In its own process, as in the local system: onnxruntime's tensors must stay in one JavaScript realm.
  const model = await startServer({ modelDir: digits, port: 0, host: '127.0.0.1', workers: 1 });
  const runtime = await startSageMakerRuntime({ endpoints: { 'mlship-iam-proof': model.url } });
  const saved = { ...process.env };
  useLocalCredentials();
  setPhase('sagemaker');
  const statuses: number[] = [];
  try {
    const predict = createPredictHandler(
      predictDepsFromEnv(
        {
          ...localDataEnv(local),
          [ENV.BACKEND]: 'sagemaker',
          [ENV.SAGEMAKER_ENDPOINT]: 'mlship-iam-proof',
          [ENV.SAGEMAKER_RUNTIME_URL]: runtime.url,
          [ENV.MODEL_MANIFEST_PATH]: join(digits, 'model.json'),
          [ENV.LOG_TTL_DAYS]: '0',
          [ENV.CHALLENGER]: 'none',
          [ENV.OPERATOR_KEY_IDS]: local.apiKeyId,
        },
        PROJECT_ROOT,
      ),
    );
    const send = async (body: unknown) => {
      const res = (await predict(
        proxyEvent({
          method: 'POST',
          resource: '/predict',
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
          apiKeyId: 'iam',
        }),
      )) as APIGatewayProxyResult;
      statuses.push(res.statusCode);
      return JSON.parse(res.body) as { predictions?: { id: string }[] };
    };
    const big = await send({ instances: [{ b64: noisePng(64) }] });
    const id = big.predictions?.[0].id;
    const { scanPredictions } = await import('../support/log-scan');
    const stored = (await scanPredictions(local.dynamodbUrl, local.tableName)).find((i) => i.id === id)?.inputKey;
    if (stored) await send({ instances: [{ s3Key: stored }] });
  } finally {
    process.env = saved;
    setPhase('all');
    await runtime.close();
    await model.close();
  }
  return statuses;
}

/** The local system's table, bucket and queue, and the endpoints of its stand-ins, as a function's environment names them. */
function localDataEnv(local: LocalSystem): Record<string, string> {
  return {
    [ENV.PREDICTION_TABLE]: local.tableName,
    [ENV.DATA_BUCKET]: local.bucketName,
    [ENV.LOG_DLQ_URL]: local.logDlqUrl,
    [ENV.DYNAMODB_URL]: local.dynamodbUrl,
    [ENV.S3_URL]: local.s3Url,
    [ENV.SQS_URL]: local.sqsUrl,
  };
}

/**
 * The stand-ins' credentials and region for the clients a function builds from its environment (the
 * SDK's default chain reads them here; in AWS, the function's role). The caller restores process.env.
 */
function useLocalCredentials(): void {
  Object.assign(process.env, {
    AWS_REGION: LOCAL_NAMES.region,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}

/** The automatic promotion policy for a quality job run, and where its SNS client publishes. */
export interface PromotionSetting {
  /** `MLSHIP_PROMOTION_POLICY`: the policy as JSON. */
  policy: string;
  /** The SNS stand-in's address (the SDK's `AWS_ENDPOINT_URL_SNS`). */
  snsUrl: string;
}

/** The alarm topic the quality job is given; the stand-in answers for any. */
export const ALARM_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:alarms';

/**
 * The scheduled quality job over the window just logged, as its EventBridge rule runs it, with the
 * environment its function gets; with `promotion`, the policy's run after the metrics, as `autoPromote`
 * configures it.
 */
export async function runQualityJob(local: LocalSystem, promotion?: PromotionSetting): Promise<QualityRunResult> {
  const env: Record<string, string> = {
    ...localDataEnv(local),
    [ENV.MODEL_MANIFEST_PATH]: join(MODEL_DIR, MANIFEST_FILE),
    [ENV.MODEL_BASELINE_PATH]: join(MODEL_DIR, BASELINE_FILE),
    [ENV.QUALITY_WINDOW_MINUTES]: '60',
    [ENV.QUALITY_THRESHOLDS]: '{}',
    [ENV.PROMOTION_POLICY]: promotion?.policy ?? NO_PROMOTION,
    [ENV.ALARM_TOPIC_ARN]: ALARM_TOPIC_ARN,
  };
  const saved = { ...process.env };
  useLocalCredentials();
  // The SNS client is built from the SDK's defaults, as on AWS: only its endpoint is the stand-in's.
  if (promotion) process.env.AWS_ENDPOINT_URL_SNS = promotion.snsUrl;
  try {
    const quality = createQualityHandler(qualityDepsFromEnv(env, PROJECT_ROOT));
    return await quality({ time: new Date().toISOString() } as ScheduledEvent);
  } finally {
    process.env = saved;
  }
}

/**
 * Predictions routed by a split: `n` requests under fixed idempotency keys (so each lands on the same
 * version in every run), each given feedback with the label it got. Returns how many each version answered.
 */
export async function exerciseSplit(local: LocalSystem, n: number): Promise<Record<string, number>> {
  const answeredBy: Record<string, number> = {};
  const headers = { 'content-type': 'application/json', [API_KEY_HEADER]: local.apiKey };
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${local.url}/predict`, {
      method: 'POST',
      headers: { ...headers, [IDEMPOTENCY_HEADER]: `iam-proof-split-${i}` },
      body: JSON.stringify({ instances: [distinctiveRow()] }),
    });
    const version = res.headers.get(MODEL_VERSION_HEADER) ?? `status ${res.status}`;
    answeredBy[version] = (answeredBy[version] ?? 0) + 1;
    const [prediction] = ((await res.json()) as { predictions?: { id: string; label: string }[] }).predictions ?? [];
    if (prediction === undefined) continue;
    await fetch(`${local.url}/predictions/${prediction.id}/feedback`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ label: prediction.label }),
    });
  }
  return answeredBy;
}

/**
 * The retraining loop's two Processing jobs as the state machine runs them (the mlship image's
 * `snapshot` and `evaluate` commands, with the bucket as their only AWS): a snapshot of the dataset
 * `npm start` uploaded, then a candidate (a copy of the champion as the training job's `model.tar.gz`)
 * judged and registered. Returns the version registered.
 */
export async function runTrainingJobs(local: LocalSystem): Promise<string | undefined> {
  const version = '1.0.1';
  const archive = join(mkdtempSync(join(tmpdir(), 'mlship-iam-candidate-')), 'model.tar.gz');
  // As a training job leaves SM_MODEL_DIR: the model, its manifest, baseline and parity vectors.
  const dir = modelVersionCopy(MODEL_DIR, version);
  await tar.c({ gzip: true, file: archive, cwd: dir }, readdirSync(dir));
  const saved = { ...process.env };
  useLocalCredentials();
  process.env[ENV.S3_URL] = local.s3Url;
  const run = async (args: string[]) => {
    const [command] = trainingContainerCommands().filter((c) => c.name() === args[0]);
    await defined(command, args[0] ?? '').parseAsync(args.slice(1), { from: 'user' });
  };
  const out = process.stdout.write;
  // The commands print their outcome for the job's log: keep it out of the test's output.
  const printed: string[] = [];
  process.stdout.write = (chunk: string | Uint8Array) => printed.push(String(chunk)) > 0;
  try {
    await run(['snapshot', '--bucket', local.bucketName, '--champion', MODEL_DIR, '--run', 'iam-proof-run']);
    await run(['evaluate', '--bucket', local.bucketName, '--candidate', archive, '--champion', MODEL_DIR, '--run', 'iam-proof-run']);
  } finally {
    process.stdout.write = out;
    process.env = saved;
  }
  const s3 = s3Client(local.s3Url);
  try {
    const key = `${modelPrefix('breast-cancer')}${version}/evaluation.json`;
    await s3.send(new GetObjectCommand({ Bucket: local.bucketName, Key: key }));
    return version;
  } catch {
    throw new Error(`The evaluate job registered nothing: ${printed.join('')}`);
  } finally {
    s3.destroy();
  }
}

/**
 * The retraining loop's hand-over, as the Training stack's function runs it, then a prediction routed by
 * it: the registered version is put in the shadow, and the model server loads it from the registry when
 * the shadow call names it. Returns the hand-over's outcome and the status and shadow version of the prediction.
 */
export async function runHandOver(
  local: LocalSystem,
  version: string,
): Promise<{ handedOver: boolean; status: number; shadowVersion?: string }> {
  const saved = { ...process.env };
  useLocalCredentials();
  let handedOver: boolean;
  try {
    const env = {
      ...localDataEnv(local),
      [ENV.MODEL_MANIFEST_PATH]: join(MODEL_DIR, MANIFEST_FILE),
      [ENV.CHALLENGER]: REGISTRY_CHALLENGER,
    };
    handedOver = (await createHandOverHandler(handOverDepsFromEnv(env, PROJECT_ROOT))({ version })).handedOver;
  } finally {
    process.env = saved;
  }
  // The first shadow call loads the version; the next ones are answered by it.
  let status = 0;
  let shadowVersion: string | undefined;
  for (let i = 0; i < 50 && shadowVersion === undefined; i++) {
    const res = await fetch(`${local.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [API_KEY_HEADER]: local.apiKey },
      body: JSON.stringify({ instances: [distinctiveRow()] }),
    });
    status = res.status;
    const ping = (await (await fetch(`${local.modelUrl}/ping`)).json()) as { versions: string[] };
    if (ping.versions.includes(version)) shadowVersion = version;
    else await new Promise((r) => setTimeout(r, 100));
  }
  return { handedOver, status, shadowVersion };
}

/** The name the golden-check custom resource is given for the local SageMaker runtime's endpoint. */
const GOLDEN_ENDPOINT = 'mlship-iam-proof-golden';

export interface GoldenCheckOutcome {
  /** The ECS lifecycle hook's answer (Fargate: the test listener, here the local model server). */
  hookStatus: string;
  /** What the custom resource PUT to its `ResponseURL` (SageMaker: after an endpoint update). */
  customResourceStatus: string;
}

/**
 * The golden-set check function both ways its deployment calls it, built from the golden set its
 * function gets: as the Fargate service's lifecycle hook against the served model over HTTP, and as the
 * custom resource after a SageMaker endpoint update, through InvokeEndpoint on the local runtime
 * stand-in (its client pointed there) and a local server standing in for CloudFormation's pre-signed
 * response URL.
 */
export async function runGoldenCheck(local: LocalSystem, setPhase: (p: Phase) => void): Promise<GoldenCheckOutcome> {
  const goldenSetPath = join(MODEL_DIR, GOLDEN_SET_FILE);
  const answers: string[] = [];
  const cfn = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      answers.push(body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => cfn.listen(0, '127.0.0.1', resolve));
  const responseUrl = `http://127.0.0.1:${(cfn.address() as AddressInfo).port}/cfn-response`;
  const runtime = await startSageMakerRuntime({ endpoints: { [GOLDEN_ENDPOINT]: local.modelUrl } });
  const saved = { ...process.env };
  useLocalCredentials();
  const sagemaker = checkRuntimeClient(runtime.url);
  try {
    const check = {
      handler: createGoldenCheckHandler({
        golden: loadGoldenSet(goldenSetPath, PROJECT_ROOT),
        modelUrl: () => local.modelUrl,
        sagemaker,
      }),
    };
    setPhase('fargate');
    const context = { getRemainingTimeInMillis: () => 120_000 };
    const hook = await check.handler({ executionId: 'iam-proof', lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT', hookDetails: {} }, context);
    setPhase('sagemaker');
    await check.handler(
      {
        RequestType: 'Create',
        ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:golden-check',
        ResponseURL: responseUrl,
        StackId: 'arn:aws:cloudformation:us-east-1:111111111111:stack/Mlship-Serving/iam-proof',
        RequestId: 'iam-proof',
        LogicalResourceId: 'GoldenSetCheckAfterEndpointUpdate',
        ResourceType: 'Custom::GoldenSetCheck',
        ResourceProperties: {
          ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:golden-check',
          EndpointName: GOLDEN_ENDPOINT,
          EndpointConfigName: 'iam-proof-config',
          Model: `${local.manifest.name}/${local.manifest.version}`,
          GoldenSetSha256: createHash('sha256').update(readFileSync(goldenSetPath, 'utf8')).digest('hex'),
        },
      },
      context,
    );
    const answer =
      answers.length === 1
        ? (JSON.parse(answers[0]) as { Status: string; Reason: string })
        : { Status: `${answers.length} answers`, Reason: '' };
    return { hookStatus: hook?.hookStatus ?? 'none', customResourceStatus: `${answer.Status}: ${answer.Reason}` };
  } finally {
    sagemaker.destroy();
    process.env = saved;
    setPhase('all');
    await runtime.close();
    await new Promise<void>((resolve) => cfn.close(() => resolve()));
  }
}

export interface BatchTaskOutcome {
  exitCode: number | null;
  stderr: string;
  summary?: { rows: number; predicted: number; rejected: number; output: string; rejects?: string };
  /** The prediction lines written to the output object. */
  outputLines: number;
}

/**
 * The Fargate batch task as the state machine's RunTask starts it: the image's entry point
 * (`container/src/main.ts`) with the command `batch --input s3://…/batch/input/… --output
 * s3://…/batch/output/<run>/` and the task's environment (`MODEL_S3_URI`, the region), in its own process
 * with a fresh temporary directory (no cached model) and the recorder preloaded, writing to `callLog`.
 * The dataset holds one malformed row, so the rejects object is written too.
 */
export async function runBatchTask(local: LocalSystem, callLog: string): Promise<BatchTaskOutcome> {
  const names = local.manifest.input.kind === 'tabular' ? local.manifest.input.features.map((f) => f.name) : [];
  const parity = JSON.parse(readFileSync(join(MODEL_DIR, GOLDEN_SET_FILE), 'utf8')) as { rows: { input: number[] }[] };
  const csv = `${[`id,${names.join(',')}`, ...parity.rows.slice(0, 20).map((r, i) => `r${i},${r.input.join(',')}`), 'bad,1,2,3'].join('\n')}\n`;
  const inputKey = `${PREFIX.batchInput}iam-proof/rows.csv`;
  const outputPrefix = batchOutputPrefix('iam-proof-run');
  const s3 = s3Client(local.s3Url);
  try {
    await s3.send(new PutObjectCommand({ Bucket: local.bucketName, Key: inputKey, Body: csv }));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: mkdtempSync(join(tmpdir(), 'mlship-iam-batch-')),
      NODE_OPTIONS: `--require ${join(__dirname, 'record-aws-calls.js')}`,
      MLSHIP_AWS_CALL_LOG: callLog,
      [ENV.MODEL_S3_URI]: local.modelS3Uri,
      AWS_REGION: LOCAL_NAMES.region,
      // Locally only: the S3 stand-in's address and its fixed credentials (in AWS, the task role's).
      [ENV.S3_URL]: local.s3Url,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    };
    const args = [
      '--import',
      'tsx',
      join(PROJECT_ROOT, 'container', 'src', 'main.ts'),
      'batch',
      '--input',
      `s3://${local.bucketName}/${inputKey}`,
      '--output',
      `s3://${local.bucketName}/${outputPrefix}`,
      '--workers',
      '1',
      '--json',
    ];
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const summary = exitCode === 0 ? (JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as BatchTaskOutcome['summary']) : undefined;
    let outputLines = 0;
    if (summary) {
      const out = await s3.send(new GetObjectCommand({ Bucket: local.bucketName, Key: `${outputPrefix}rows.csv.out` }));
      outputLines = (await defined(out.Body, 'a body of the batch output').transformToString()).trim().split('\n').length;
    }
    return { exitCode, stderr, summary, outputLines };
  } finally {
    s3.destroy();
  }
}

/**
 * The batch task's clean-up after a failed run: `openOutput(…).abort()` (what `runBatch` calls when a
 * run fails) on an output whose first part is already uploaded, so the multipart upload is aborted.
 * In this process: a run that fails only after 8 MB of predictions is not worth its minutes here.
 * Resolves once `seen` reports the abort; the calls are the batch task's (the caller attributes them).
 */
export async function abortBatchOutput(local: LocalSystem, seen: (command: string) => boolean): Promise<boolean> {
  // The stand-in's client, with its credentials (the task's own client takes its role's from the environment).
  const client = s3Client(local.s3Url);
  const until = async (command: string) => {
    for (let waited = 0; !seen(command); waited += 20) {
      if (waited > 20_000) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  };
  try {
    const out = await openOutput(
      { kind: 's3', bucket: local.bucketName, key: `${batchOutputPrefix('iam-proof-failed')}rows.csv.out` },
      () => client,
      'text/csv',
    );
    // One byte more than a part: the first part goes up as a multipart upload, the rest waits.
    const line = Buffer.alloc(1024, 'x');
    for (let i = 0; i <= 8 * 1024; i++) if (!out.stream.write(line)) await once(out.stream, 'drain');
    if (!(await until('CreateMultipartUploadCommand'))) return false;
    await out.abort();
    return await until('AbortMultipartUploadCommand');
  } finally {
    client.destroy();
  }
}
