/**
 * The functions as deployed: bundled by the same `LocalLambdaBundling` the CDK functions use (split ES
 * modules, the manifest copied beside the code), each loaded by a fresh node process the way the Lambda
 * runtime loads `index.handler` (import() of index.mjs, source maps on), against the real local parts.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { BASELINE_FILE } from '../../contract/baseline';
import { ENV } from '../../contract/env';
import { MANIFEST_FILE } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { encodeRecord, type PredictionRecord } from '../../contract/prediction-log';
import { ENTRY_NAME, LocalLambdaBundling } from '../../lib/constructs/lambda-bundle';
import { proxyEvent } from './events';
import {
  BUCKET,
  dynamoClient,
  type Harness,
  MANIFEST_PATH,
  MODEL_DIR,
  OPERATOR_KEY_ID,
  predictEnv,
  queryEnv,
  replayEnv,
  s3Client,
  startHarness,
  TABLE,
} from './harness';

jest.setTimeout(60_000);

let h: Harness;
let root: string;
let out: string;
type Fn = 'predict' | 'query' | 'feedback' | 'replay' | 'analytics-writer' | 'analytics-compactor';
const bundles = {} as Record<Fn, string>;
const rows = (JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] }).rows;

beforeAll(async () => {
  h = await startHarness();
  root = mkdtempSync(join(tmpdir(), 'mlship-bundle-'));
  for (const fn of ['predict', 'query', 'feedback', 'replay', 'analytics-writer', 'analytics-compactor'] as const) {
    bundles[fn] = join(root, fn);
    const copies = fn === 'replay' ? [] : [{ from: MANIFEST_PATH, to: MANIFEST_FILE }];
    // The compactor counts closed days with the baseline's bins: as deployed, the file beside the code.
    if (fn === 'analytics-compactor') copies.push({ from: join(MODEL_DIR, BASELINE_FILE), to: BASELINE_FILE });
    new LocalLambdaBundling(resolve(__dirname, `../../lambda/${fn}.ts`), copies).tryBundle(bundles[fn], {} as never);
  }
  out = bundles.predict;
});

afterAll(async () => {
  await h.close();
  rmSync(root, { recursive: true, force: true });
});

/** One invocation of a bundle in a fresh process, as a cold Lambda sandbox runs it. */
async function invokeBundle<T>(fn: Fn, event: unknown, env: Record<string, string>): Promise<T> {
  const script = `import(${JSON.stringify(pathToFileURL(join(bundles[fn], `${ENTRY_NAME}.mjs`)).href)})
    .then((m) => m.handler(${JSON.stringify(event)}))
    .then((r) => process.stderr.write('RESULT ' + JSON.stringify(r ?? null) + '\\n'))`;
  const { stderr } = await promisify(execFile)(process.execPath, ['--enable-source-maps', '--no-warnings', '-e', script], {
    env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', ...env },
    cwd: tmpdir(),
  });
  const line = stderr.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`no result from the ${fn} bundle: ${stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

// As deployed: the manifest path is relative to the code.
const deployed = (env: Record<string, string>) => ({
  ...env,
  ...(ENV.MODEL_MANIFEST_PATH in env ? { [ENV.MODEL_MANIFEST_PATH]: MANIFEST_FILE } : {}),
});

/** POST /predict to the predict bundle. */
function invoke(body: unknown): Promise<{ statusCode: number; body: string }> {
  const event = proxyEvent({
    method: 'POST',
    resource: '/predict',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return invokeBundle('predict', event, deployed(predictEnv(h, 'fargate')));
}

test('the bundle is an ES module entry with lazily loaded chunks, a source map without sources, and the manifest', () => {
  const files = readdirSync(out);
  expect(files).toEqual(expect.arrayContaining([`${ENTRY_NAME}.mjs`, `${ENTRY_NAME}.mjs.map`, MANIFEST_FILE, 'chunks']));
  expect(readdirSync(join(out, 'chunks')).filter((f) => f.endsWith('.mjs')).length).toBeGreaterThan(1);
  const map = JSON.parse(readFileSync(join(out, `${ENTRY_NAME}.mjs.map`), 'utf8')) as { sources: string[]; sourcesContent?: unknown };
  expect(map.sources.some((s) => s.endsWith('lambda/predict.ts'))).toBe(true);
  expect(map.sourcesContent).toBeUndefined();
});

test('the deployed bundle predicts and logs the prediction, and its lazily loaded S3 chunk fetches an s3Key input', async () => {
  await s3Client(h.s3.url).send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'datasets/bundle/one.json', Body: JSON.stringify(rows[0].input) }),
  );
  const res = await invoke({ instances: [{ s3Key: 'datasets/bundle/one.json' }, rows[1].input] });
  expect(res.statusCode).toBe(200);
  const body = JSON.parse(res.body) as { predictions: { id: string; label: string }[] };
  expect(body.predictions.map((p) => p.label)).toEqual([rows[0].label, rows[1].label]);
  const item = await dynamoClient(h.ddb.url).send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: body.predictions[0].id } } }));
  expect(item.Item && unmarshall(item.Item).inputKey).toBe('datasets/bundle/one.json');
});

test('bad input from the bundle is the same stable 400 as from the source', async () => {
  const res = await invoke({ instances: [[1, 2, 3]] });
  expect(res.statusCode).toBe(400);
  expect(JSON.parse(res.body)).toEqual({ error: expect.objectContaining({ code: 'WRONG_FEATURE_COUNT', field: 'instances[0]' }) });
});

test('the query, feedback and replay bundles load and answer from a fresh process', async () => {
  const made = JSON.parse((await invoke({ instances: [rows[2].input] })).body) as { predictions: { id: string }[] };
  const id = made.predictions[0].id;

  const page = await invokeBundle<{ statusCode: number; body: string }>(
    'query',
    proxyEvent({ method: 'GET', resource: '/predictions', query: { limit: '50' } }),
    deployed(queryEnv(h)),
  );
  expect(page.statusCode).toBe(200);
  expect(JSON.stringify(JSON.parse(page.body))).toContain(id);

  const feedbackEnv = deployed({ ...queryEnv(h), [ENV.MODEL_MANIFEST_PATH]: MANIFEST_PATH });
  const feedback = (target: string) =>
    invokeBundle<{ statusCode: number }>(
      'feedback',
      proxyEvent({
        method: 'POST',
        resource: '/predictions/{id}/feedback',
        pathParameters: { id: target },
        body: JSON.stringify({ label: rows[2].label }),
      }),
      feedbackEnv,
    );
  expect((await feedback(id)).statusCode).toBe(200);
  expect((await feedback('01ZZZZZZZZZZZZZZZZZZZZZZZZ')).statusCode).toBe(404);

  const bad = {
    messageId: 'bad-1',
    receiptHandle: 'r1',
    body: 'not json',
    attributes: {},
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:log-dlq',
    awsRegion: 'us-east-1',
  };
  const replayed = await invokeBundle<{ batchItemFailures: { itemIdentifier: string }[] }>('replay', { Records: [bad] }, replayEnv(h));
  // Not a record: parked in the bucket (never cycled in the queue), so nothing is reported failed.
  expect(replayed.batchItemFailures).toEqual([]);
});

test('the query bundle holds no DuckDB, loads Athena only for a long window, and answers its failure as JSON', async () => {
  // GIVEN the query bundle as deployed
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
  const code = files(bundles.query).filter((f) => f.endsWith('.mjs'));
  const text = (f: string) => readFileSync(f, 'utf8');
  // THEN DuckDB (a native dev dependency of the local runner) is nowhere in it, and the Athena client is a chunk off the cold path
  expect(code.filter((f) => /duckdb/i.test(text(f)))).toEqual([]);
  const athenaClient = (f: string) => text(f).includes('AmazonAthena');
  expect(athenaClient(join(bundles.query, `${ENTRY_NAME}.mjs`))).toBe(false);
  expect(code.filter(athenaClient).map((f) => f.includes('/chunks/'))).toEqual([true]);

  // WHEN it is asked for 30 days with a workgroup configured, and Athena cannot be reached
  const res = await invokeBundle<{ statusCode: number; body: string }>(
    'query',
    proxyEvent({ method: 'GET', resource: '/metrics/summary', query: { window: '30d' }, apiKeyId: OPERATOR_KEY_ID }),
    {
      ...deployed(queryEnv(h, { workgroup: 'Mlship-analytics', database: 'mlship_analytics' })),
      AWS_ENDPOINT_URL_ATHENA: 'http://127.0.0.1:9',
    },
  );
  // THEN the lazily loaded chunk ran and its failure is the stable 503
  expect(res.statusCode).toBe(503);
  expect(JSON.parse(res.body)).toEqual({ error: expect.objectContaining({ code: 'ANALYTICS_UNAVAILABLE' }) });
});

test('the analytics writer and compactor bundles load as deployed (ZSTD from WebAssembly included), write a stream batch and compact its closed day', async () => {
  // GIVEN one logged prediction of a day long closed, as the table's stream delivers it
  const manifest = readManifestFile(MANIFEST_PATH);
  const record: PredictionRecord = {
    id: '01BUNDLEANALYTICS000000000',
    model: manifest.name,
    modelVersion: manifest.version,
    createdAt: '2026-01-05T10:00:00.000Z',
    label: rows[0].label,
    probabilities: { [rows[0].label]: 1 },
    latencyMs: 2,
    requestId: 'req-bundle',
    inputValues: rows[0].input,
  };
  const env = { [ENV.DATA_BUCKET]: BUCKET, [ENV.S3_URL]: h.s3.url, [ENV.MODEL_MANIFEST_PATH]: MANIFEST_FILE };
  // WHEN the writer bundle takes the batch and the compactor bundle runs two days later
  await invokeBundle('analytics-writer', { Records: [{ eventName: 'INSERT', dynamodb: { NewImage: encodeRecord(record) } }] }, env);
  const result = await invokeBundle<{ partitions: { rowsOut: number }[]; featureBins: { dt: string }[]; remaining: number }>(
    'analytics-compactor',
    { now: '2026-01-07T00:00:00.000Z' },
    { ...env, [ENV.MODEL_BASELINE_PATH]: BASELINE_FILE },
  );
  // THEN the day is one compacted object holding the one prediction, beside the day's binned feature counts
  expect(result.partitions.map((p) => p.rowsOut)).toEqual([1]);
  expect(result.featureBins.map((b) => b.dt)).toEqual(['2026-01-05']);
  expect(result.remaining).toBe(0);
  const listed = await s3Client(h.s3.url).send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'analytics/predictions/' }));
  expect((listed.Contents ?? []).map((o) => o.Key).filter((k) => k?.includes('dt=2026-01-05'))).toEqual([
    expect.stringMatching(/~compacted\.parquet$/),
  ]);
});
