/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Two versions in one model server: the champion answers requests that name no version, the header or
 * SageMaker's custom attributes pick one, an unknown version is 404 naming those hosted, /ping waits
 * for both, and a challenger that cannot take the champion's requests stops the start. A shadow version
 * named beside runs on the same rows in the same call: its outcome is answered beside the champion's
 * within SHADOW_GRACE_MS, and it never changes the answer.
 */
import { rmSync } from 'node:fs';
import { loadModel } from '../../container/src/model';
import { ModelSet } from '../../container/src/model-set';
import { type RunningServer, startServer } from '../../container/src/server';
import { DEADLINE_HEADER, MODEL_VERSION_HEADER, SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER } from '../../contract/prediction';
import {
  checkChallenger,
  MODEL_VERSION_REQUEST_HEADER,
  SHADOW_GRACE_MS,
  SHADOW_TIMEOUT,
  SHADOW_VERSION_REQUEST_HEADER,
} from '../../contract/versions';
import { modelVersionCopy, slowedModel } from '../support/model-version';
import { BREAST_CANCER, closeAgent, parity, postJson, request } from './helpers';

const row = parity(BREAST_CANCER).rows[0].input;
/** The same weights with the labels the other way round: it answers the opposite of the champion. */
const challengerDir = modelVersionCopy(BREAST_CANCER, '2.0.0', (m) => {
  const output = m.output as { labels: string[] };
  output.labels = [...output.labels].reverse();
});

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ modelDir: BREAST_CANCER, challengerDir });
});

afterAll(async () => {
  await server.close();
  closeAgent();
  rmSync(challengerDir, { recursive: true, force: true });
});

describe('routing by version', () => {
  test('no version named: the champion answers and says so', async () => {
    const reply = await postJson(server.url, { instances: [row] });
    expect(reply.status).toBe(200);
    expect(reply.headers[MODEL_VERSION_HEADER]).toBe('breast-cancer/1.0.0');
    expect(reply.json().model).toEqual({ name: 'breast-cancer', version: '1.0.0' });
  });

  test('the header picks the challenger, whose answer is its own', async () => {
    const champion = (await postJson(server.url, { instances: [row] })).json().predictions[0];
    const reply = await postJson(server.url, { instances: [row] }, { [MODEL_VERSION_REQUEST_HEADER]: '2.0.0' });
    expect(reply.status).toBe(200);
    expect(reply.headers[MODEL_VERSION_HEADER]).toBe('breast-cancer/2.0.0');
    const challenger = reply.json().predictions[0];
    // Reversed labels: the challenger names the other class with the champion's top probability.
    expect(challenger.label).not.toBe(champion.label);
    expect(challenger.probabilities[challenger.label]).toBeCloseTo(champion.probabilities[champion.label], 6);
  });

  test("SageMaker's custom attributes pick a version too, beside the deadline", async () => {
    const reply = await postJson(
      server.url,
      { instances: [row] },
      { [SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER]: 'mlship-deadline-ms=5000;mlship-model-version=2.0.0' },
    );
    expect(reply.headers[MODEL_VERSION_HEADER]).toBe('breast-cancer/2.0.0');
    const pinnedChampion = await postJson(
      server.url,
      { instances: [row] },
      { [SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER]: 'mlship-model-version=1.0.0' },
    );
    expect(pinnedChampion.headers[MODEL_VERSION_HEADER]).toBe('breast-cancer/1.0.0');
  });

  test('an unknown version is 404 UNKNOWN_MODEL_VERSION listing the versions hosted', async () => {
    const reply = await postJson(server.url, { instances: [row] }, { [MODEL_VERSION_REQUEST_HEADER]: '9.9.9' });
    expect(reply.status).toBe(404);
    const body = JSON.parse(reply.text) as { error: { code: string; field: string; details: { versions: string[] } } };
    expect(body.error).toMatchObject({
      code: 'UNKNOWN_MODEL_VERSION',
      field: MODEL_VERSION_REQUEST_HEADER,
      details: { versions: ['1.0.0', '2.0.0'] },
    });
  });

  test('/ping names the champion and every hosted version', async () => {
    const ping = await request(server.url, 'GET', '/ping');
    expect(ping.status).toBe(200);
    expect(JSON.parse(ping.text)).toEqual({ status: 'ok', model: 'breast-cancer/1.0.0', versions: ['1.0.0', '2.0.0'] });
  });
});

describe('a shadow version in the same call', () => {
  const shadowOf = (text: string) => (JSON.parse(text) as { shadow?: Record<string, unknown> }).shadow;

  test("the champion answers; the shadow's predictions of the same rows are beside, its own", async () => {
    const plain = (await postJson(server.url, { instances: [row, row] })).json();
    const reply = await postJson(server.url, { instances: [row, row] }, { [SHADOW_VERSION_REQUEST_HEADER]: '2.0.0' });
    expect(reply.status).toBe(200);
    expect(reply.headers[MODEL_VERSION_HEADER]).toBe('breast-cancer/1.0.0');
    const body = reply.json();
    expect(body.predictions).toEqual(plain.predictions);
    expect(body.model).toEqual({ name: 'breast-cancer', version: '1.0.0' });
    const shadow = shadowOf(reply.text) as { version: string; ms: number; predictions: { label: string }[] };
    expect(shadow.version).toBe('2.0.0');
    expect(shadow.ms).toBeGreaterThanOrEqual(0);
    // Reversed labels: the shadow names the other class for each row.
    expect(shadow.predictions.map((p) => p.label)).toEqual(
      plain.predictions.map((p) => (p.label === 'malignant' ? 'benign' : 'malignant')),
    );
  });

  test("SageMaker's custom attributes name the shadow too, beside the deadline and the answering version", async () => {
    const reply = await postJson(
      server.url,
      { instances: [row] },
      { [SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER]: 'mlship-deadline-ms=5000;mlship-model-version=2.0.0;mlship-shadow-version=1.0.0' },
    );
    expect(reply.headers[MODEL_VERSION_HEADER]).toBe('breast-cancer/2.0.0');
    expect(shadowOf(reply.text)).toMatchObject({ version: '1.0.0', predictions: [expect.any(Object)] });
  });

  test("a version not hosted is the shadow's error, and the answer stands", async () => {
    const reply = await postJson(server.url, { instances: [row] }, { [SHADOW_VERSION_REQUEST_HEADER]: '9.9.9' });
    expect(reply.status).toBe(200);
    expect(reply.json().predictions).toHaveLength(1);
    expect(shadowOf(reply.text)).toEqual({ version: '9.9.9', error: 'UNKNOWN_MODEL_VERSION', ms: expect.any(Number) });
  });

  test('a CSV answer carries no shadow', async () => {
    const csv = (headers: Record<string, string>) =>
      request(server.url, 'POST', '/invocations', row.join(','), { 'content-type': 'text/csv', accept: 'text/csv', ...headers });
    const plain = await csv({});
    const asked = await csv({ [SHADOW_VERSION_REQUEST_HEADER]: '9.9.9' });
    expect(asked.status).toBe(200);
    expect(asked.text).toBe(plain.text);
  });

  test('a shadow slower than the grace is SHADOW_TIMEOUT, and the answer waits no longer than the grace for it', async () => {
    // GIVEN a server whose challenger takes 3 s per run
    const slow = await startServer({
      modelDir: BREAST_CANCER,
      loadChallenger: async () => slowedModel(await loadModel(challengerDir), 3000),
    });
    try {
      const t0 = Date.now();
      const reply = await postJson(slow.url, { instances: [row] }, { [SHADOW_VERSION_REQUEST_HEADER]: '2.0.0' });
      const ms = Date.now() - t0;
      expect(reply.status).toBe(200);
      expect(reply.json().predictions).toHaveLength(1);
      expect(shadowOf(reply.text)).toMatchObject({ version: '2.0.0', error: SHADOW_TIMEOUT });
      // Far under the challenger's 3 s: the grace, not the challenger, bounds the wait.
      expect(ms).toBeLessThan(2000);
      // AND a caller's deadline shorter than the grace cuts the wait there: the answer still comes
      const short = await postJson(slow.url, { instances: [row] }, { [SHADOW_VERSION_REQUEST_HEADER]: '2.0.0', [DEADLINE_HEADER]: '50' });
      expect(short.status).toBe(200);
      expect(shadowOf(short.text)).toMatchObject({ error: SHADOW_TIMEOUT });
      expect((shadowOf(short.text) as { ms: number }).ms).toBeLessThan(SHADOW_GRACE_MS);
    } finally {
      await slow.close();
    }
  });
});

describe('loading', () => {
  test('/ping answers 503 until the challenger is loaded as well', async () => {
    // GIVEN a server whose champion loads at once and whose challenger waits on a gate
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const loading = await startServer({
      waitForModel: false,
      modelDir: BREAST_CANCER,
      loadChallenger: async () => {
        await gate;
        return loadModel(challengerDir);
      },
    });
    try {
      // THEN it is not ready while only the champion is loaded
      await new Promise((r) => setTimeout(r, 300));
      expect((await request(loading.url, 'GET', '/ping')).status).toBe(503);
      // WHEN the challenger loads THEN it is ready
      open();
      await loading.ready;
      expect((await request(loading.url, 'GET', '/ping')).status).toBe(200);
    } finally {
      await loading.close();
    }
  });

  test('a challenger with the champion version, or another input, stops the start naming why', async () => {
    const same = modelVersionCopy(BREAST_CANCER, '1.0.0');
    const other = modelVersionCopy(BREAST_CANCER, '3.0.0', (m) => {
      const input = m.input as { features: { name: string }[] };
      input.features[0] = { ...input.features[0], name: 'renamed' };
    });
    try {
      await expect(startServer({ modelDir: BREAST_CANCER, challengerDir: same })).rejects.toThrow(
        /its version is the champion's \(1\.0\.0\)/,
      );
      await expect(startServer({ modelDir: BREAST_CANCER, challengerDir: other })).rejects.toThrow(/its input differs/);
    } finally {
      rmSync(same, { recursive: true, force: true });
      rmSync(other, { recursive: true, force: true });
    }
  });

  test('the cluster hosts both versions in every worker', async () => {
    const cluster = await startServer({ modelDir: BREAST_CANCER, challengerDir, workers: 1 });
    try {
      const reply = await postJson(cluster.url, { instances: [row] }, { [MODEL_VERSION_REQUEST_HEADER]: '2.0.0' });
      expect(reply.headers[MODEL_VERSION_HEADER]).toBe('breast-cancer/2.0.0');
    } finally {
      await cluster.close();
    }
  });
});

describe('ModelSet', () => {
  test('picks by version, the first without one', () => {
    const set = new ModelSet([
      { version: 'a', serving: 1 },
      { version: 'b', serving: 2 },
    ]);
    expect([set.pick(undefined), set.pick('a'), set.pick('b')]).toEqual([1, 1, 2]);
    expect(() => set.pick('c')).toThrow(/"c" is not hosted; hosted: a, b/);
  });

  test('checkChallenger lists every problem at once', () => {
    const m = {
      name: 'x',
      version: '1',
      output: { kind: 'regression', tensor: 'y' },
      input: { kind: 'tabular', features: [{ name: 'f', type: 'float' }] },
    };
    const c = { ...m, name: 'y', output: { kind: 'classification', labels: ['a', 'b'], tensor: 'p' } };
    expect(() => checkChallenger(m as never, c as never)).toThrow(/name is "y".*version is the champion's.*answers classification/);
  });
});
