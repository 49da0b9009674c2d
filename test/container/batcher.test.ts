/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * The micro-batcher on the real breast-cancer model: coalesced runs give every caller exactly its own
 * rows back; a failed run fails only its callers; batching off means one run per request.
 * Also the server settings read from flags and the environment.
 */

import { Batcher } from '../../container/src/batcher';
import { serveSettings } from '../../container/src/config';
import { type LoadedModel, loadModel } from '../../container/src/model';
import { ENV } from '../../contract/env';
import type { Row } from '../../contract/manifest';
import type { Prediction } from '../../contract/prediction';
import { BREAST_CANCER, parity } from './helpers';

const rows = parity(BREAST_CANCER).rows.map((r) => Float32Array.from(r.input));
let model: LoadedModel;

beforeAll(async () => {
  model = await loadModel(BREAST_CANCER);
});
afterAll(() => model.close());

/** Requests of 1..5 rows drawn from the parity rows. */
const requests = Array.from({ length: 40 }, (_, i) => rows.slice(i % 45, (i % 45) + 1 + (i % 5)));

test('concurrent submits share runs and each gets exactly its own predictions, in order', async () => {
  const alone = await Promise.all(requests.map((r) => model.run(r)));
  const batcher = new Batcher((r) => model.run(r), { maxBatchSize: 16, maxDelayUs: 1000 });
  const together = await Promise.all(requests.map((r) => batcher.submit(r)));
  expect(together).toEqual(alone);
  expect(batcher.stats.runs).toBeLessThan(requests.length);
  expect(batcher.stats.maxRowsPerRun).toBeLessThanOrEqual(16);
  expect(batcher.stats.rows).toBe(requests.reduce((n, r) => n + r.length, 0));
});

test('a request larger than the batch size runs alone and unsplit', async () => {
  const batcher = new Batcher((r) => model.run(r), { maxBatchSize: 4, maxDelayUs: 1000 });
  const big = rows.slice(0, 10);
  const [a, b] = await Promise.all([batcher.submit(rows.slice(0, 1)), batcher.submit(big)]);
  expect(a).toEqual(await model.run(rows.slice(0, 1)));
  expect(b).toEqual(await model.run(big));
  expect(batcher.stats.maxRowsPerRun).toBe(10);
});

test('with a delay of 0 every request has its own run', async () => {
  const batcher = new Batcher((r) => model.run(r), { maxBatchSize: 64, maxDelayUs: 0 });
  await Promise.all(requests.map((r) => batcher.submit(r)));
  expect(batcher.stats.runs).toBe(requests.length);
});

test('a failing run rejects the callers in it, and the next run serves again', async () => {
  // A model that fails on a marked row: a fault a real model does not produce on demand.
  const marked = new Float32Array(30).fill(-1);
  const run = (r: readonly Row[]): Promise<Prediction[]> => (r.includes(marked) ? Promise.reject(new Error('boom')) : model.run(r));
  const batcher = new Batcher(run, { maxBatchSize: 64, maxDelayUs: 1000 });
  const results = await Promise.allSettled([batcher.submit([rows[0]]), batcher.submit([marked]), batcher.submit([rows[1]])]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
  await expect(batcher.submit([rows[2]])).resolves.toEqual(await model.run([rows[2]]));
});

test('settings: flags win over the environment, SAGEMAKER_BIND_TO_PORT over PORT, bad values stop the start', () => {
  const env = { [ENV.PORT]: '9000', [ENV.SAGEMAKER_BIND_TO_PORT]: '8081', [ENV.WORKERS]: '3', [ENV.MAX_BATCH_DELAY_US]: '0' };
  expect(serveSettings({}, env)).toMatchObject({ port: 8081, workers: 3, maxBatchDelayUs: 0, maxBatchSize: 64 });
  expect(serveSettings({ port: '7000', workers: '1' }, env)).toMatchObject({ port: 7000, workers: 1 });
  expect(serveSettings({}, {})).toMatchObject({ port: 8080, maxBatchDelayUs: 500 });
  expect(serveSettings({}, { [ENV.WORKERS]: '0' }).workers).toBeGreaterThanOrEqual(1);
  expect(() => serveSettings({}, { [ENV.MAX_BATCH_SIZE]: 'lots' })).toThrow(/MLSHIP_MAX_BATCH_SIZE must be an integer/);
  expect(() => serveSettings({ port: '70000' }, {})).toThrow(/--port/);
});
