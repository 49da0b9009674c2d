/**
 * A model update's window: the model server already serves another version than the predict function's
 * manifest names. The caller gets 503 MODEL_VERSION_MISMATCH with Retry-After, never the other model's
 * answer under this schema; nothing is logged as a prediction; the ModelVersionMismatches metric counts it.
 * With the set of versions the function is configured with (a champion and a challenger), either answers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../contract/env';
import { fargateBackend } from '../../lambda/model/fargate-backend';
import { versionChecked } from '../../lambda/model/version-check';
import { jsonBody, proxyEvent } from './events';
import { dynamoClient, type Harness, loadHandler, MODEL_DIR, predictEnv, startHarness, TABLE } from './harness';

const parity = JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[] }[] };
const row = parity.rows[0]?.input ?? [];
const body = JSON.stringify({ instances: [row] });

let h: Harness;
let dir: string;
let nextManifest: string;

beforeAll(async () => {
  h = await startHarness();
  // The manifest the Api stack's update will bring: same model, the next version.
  dir = mkdtempSync(join(tmpdir(), 'mlship-next-'));
  nextManifest = join(dir, 'model.json');
  const manifest = JSON.parse(readFileSync(h.manifestPath, 'utf8')) as { version: string };
  writeFileSync(nextManifest, JSON.stringify({ ...manifest, version: '2.0.0' }));
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a model server serving another version than the manifest: 503 MODEL_VERSION_MISMATCH, Retry-After, nothing logged, one metric', async () => {
  // GIVEN a predict function configured for breast-cancer/2.0.0 while the model server still serves 1.0.0
  const predict = loadHandler('predict', { ...predictEnv(h, 'fargate'), [ENV.MODEL_MANIFEST_PATH]: nextManifest });
  // WHEN a valid body is sent
  const res = await predict(proxyEvent({ method: 'POST', resource: '/predict', headers: { 'content-type': 'application/json' }, body }));
  // THEN the caller is told to retry, with the stable code naming both versions
  expect(res.statusCode).toBe(503);
  expect(res.headers?.['retry-after']).toMatch(/^\d+$/);
  expect(jsonBody<{ error: { code: string; details?: unknown } }>(res).error).toMatchObject({
    code: 'MODEL_VERSION_MISMATCH',
    details: { answered: 'breast-cancer/1.0.0', configured: ['breast-cancer/2.0.0'] },
  });
  // AND nothing was logged as a prediction
  const scan = await dynamoClient(h.ddb.url).send(
    new ScanCommand({ TableName: TABLE, Select: 'COUNT', FilterExpression: 'attribute_exists(model)' }),
  );
  expect(scan.Count).toBe(0);
  // AND the metric counted it once, under the version the function serves
  expect(h.stdout.filter((l) => l._aws !== undefined && l.ModelVersionMismatches === 1 && l.ModelVersion === '2.0.0')).toHaveLength(1);
});

test('every version the function is configured with is accepted; an empty set is refused at cold start', async () => {
  // GIVEN the model server's version among two configured ones (champion and challenger)
  const backend = versionChecked(fargateBackend({ url: h.model.url }), [
    { name: 'breast-cancer', version: '2.0.0' },
    { name: 'breast-cancer', version: '1.0.0' },
  ]);
  // WHEN it answers THEN the answer passes
  expect((await backend.invoke(JSON.stringify({ instances: [row] }), 1)).model).toEqual({ name: 'breast-cancer', version: '1.0.0' });
  expect(() => versionChecked(backend, [])).toThrow(/at least one/);
});
