/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * A challenger beside the champion through `POST /predict`, against real parts (dynalite, a model
 * server hosting both versions, the SageMaker runtime stand-in): shadow, split, pin, a failing or slow
 * shadow, and a promotion read from the routing store. The challenger answers the opposite label (its
 * manifest's labels reversed), so every answer shows which version gave it. A shadow's outcome is logged
 * inside the answered item; items an earlier release logged apart still count.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { loadModel } from '../../container/src/model';
import { type RunningServer, startServer } from '../../container/src/server';
import { ENV } from '../../contract/env';
import { PREDICT_DIMENSIONS } from '../../contract/metrics/predict-metrics';
import { MODEL_VERSION_HEADER, type PredictResponse } from '../../contract/prediction';
import { decodeRecord, type PredictionRecord, shadowLogModel, shadowRecordsOf } from '../../contract/prediction-log';
import { MODEL_VERSION_REQUEST_HEADER, promoted, rolledBack, splitBucket } from '../../contract/versions';
import { createPredictHandler, predictDepsFromEnv } from '../../lambda/api/predict';
import { versionsDeps } from '../../lambda/api/versions-routing';
import { PredictionLogStore } from '../../lambda/log/prediction-log-store';
import type { Backend } from '../../lambda/model/backend';
import { fargateBackend } from '../../lambda/model/fargate-backend';
import { versionChecked } from '../../lambda/model/version-check';
import { createLogger } from '../../lambda/runtime/logger';
import { Metrics } from '../../lambda/runtime/metrics';
import { versionFigures } from '../../lambda/versions/figures';
import { readVersionsWindow } from '../../lambda/versions/log-window';
import { basisOf, TableRoutingStore } from '../../lambda/versions/routing-store';
import { dynamoClient } from '../../local/dynamodb';
import { type RunningSageMakerRuntime, startSageMakerRuntime } from '../../local/sagemaker-runtime';
import { modelVersionCopy, slowedModel } from '../support/model-version';
import { jsonBody, proxyEvent } from './events';
import { type Harness, loadHandler, MODEL_DIR, predictEnv, startHarness, TABLE } from './harness';

const rows = (JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] }).rows;
const challengerDir = modelVersionCopy(MODEL_DIR, '2.0.0', (m) => {
  const output = m.output as { labels: string[] };
  output.labels = [...output.labels].reverse();
});
const LAMBDA_DIR = join(__dirname, '../../lambda');

let h: Harness;
let runtime: RunningSageMakerRuntime;
let log: PredictionLogStore;

beforeAll(async () => {
  h = await startHarness({ challengerDir });
  runtime = await startSageMakerRuntime({ endpoints: { both: h.model.url } });
  log = new PredictionLogStore(dynamoClient(h.ddb.url), TABLE);
});
afterAll(async () => {
  await runtime.close();
  await h.close();
  rmSync(challengerDir, { recursive: true, force: true });
});

const challenger = (mode: 'shadow' | 'split', percent?: number) =>
  JSON.stringify({ version: '2.0.0', mode, ...(percent ? { percent } : {}) });

function event(instances: unknown[], headers: Record<string, string> = {}, requestId?: string) {
  const e = proxyEvent({
    method: 'POST',
    resource: '/predict',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ instances }),
  });
  if (requestId !== undefined) e.requestContext.requestId = requestId;
  return e;
}

/** Every item the log holds for one request (both partitions, any model), decoded. */
async function itemsOfRequest(requestId: string): Promise<PredictionRecord[]> {
  const ddb = dynamoClient(h.ddb.url);
  try {
    const out = await ddb.send(
      new ScanCommand({ TableName: TABLE, FilterExpression: 'requestId = :r', ExpressionAttributeValues: { ':r': { S: requestId } } }),
    );
    return (out.Items ?? []).map(decodeRecord);
  } finally {
    ddb.destroy();
  }
}

/** Every record of a partition since `from`, oldest first. */
async function logged(model: string, from: Date): Promise<PredictionRecord[]> {
  const { records } = await log.readWindow(model, from, new Date(Date.now() + 1000), 10_000);
  return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

const labelOf = (p: PredictResponse['predictions'][number]) => ('label' in p ? p.label : '');
const answeredBy = (res: APIGatewayProxyResult) => res.headers?.[MODEL_VERSION_HEADER];

describe.each([
  ['fargate', () => predictEnv(h, 'fargate')],
  ['sagemaker', () => predictEnv(h, { sagemakerEndpoint: 'both', runtimeUrl: runtime.url })],
] as const)('shadow on %s', (_name, env) => {
  it("answers from the champion and logs one item per instance, the challenger's prediction inside it", async () => {
    // GIVEN a deployment with a shadow challenger
    const predict = loadHandler('predict', { ...env(), [ENV.CHALLENGER]: challenger('shadow') });
    const from = new Date();
    const requestId = randomUUID();
    // WHEN a request of three instances comes
    const res = await predict(event([rows[0].input, rows[1].input, rows[2].input], {}, requestId));
    // THEN the champion answered, with the labels it always gives
    expect(res.statusCode).toBe(200);
    expect(answeredBy(res)).toBe('breast-cancer/1.0.0');
    const out = jsonBody<PredictResponse>(res);
    expect(out.predictions.map(labelOf)).toEqual([rows[0].label, rows[1].label, rows[2].label]);
    // AND the log holds exactly one item per instance, each the answered prediction with its shadow inside
    const items = await itemsOfRequest(requestId);
    expect(items.map((r) => r.id).sort()).toEqual(out.predictions.map((p) => p.id).sort());
    expect(items.map((r) => [r.model, r.modelVersion, r.shadow?.modelVersion])).toEqual(Array(3).fill(['breast-cancer', '1.0.0', '2.0.0']));
    expect((await logged(shadowLogModel('breast-cancer'), from)).filter((r) => r.requestId === requestId)).toEqual([]);
    // AND each shadow prediction reads as one record linked to its answered one, with its own id
    const answered = (await logged('breast-cancer', from)).filter((r) => r.requestId === requestId);
    const shadows = shadowRecordsOf(answered);
    expect(shadows).toHaveLength(3);
    expect(new Set([...answered, ...shadows].map((r) => r.id)).size).toBe(6);
    for (const s of shadows) {
      const of = answered.find((a) => a.id === s.shadowOf);
      expect(s).toMatchObject({ modelVersion: '2.0.0', requestId: of?.requestId, apiKeyId: of?.apiKeyId });
      expect(s.label).not.toBe(of?.label);
      expect(s.inputValues).toBeUndefined();
      expect(s.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('mlship versions over shadowed traffic', () => {
  it('gives the same figures whether the shadows are inside the answered items or, as an earlier release logged them, apart', async () => {
    // GIVEN shadowed traffic, some of it graded by feedback
    const predict = loadHandler('predict', { ...predictEnv(h, 'fargate'), [ENV.CHALLENGER]: challenger('shadow') });
    const from = new Date();
    for (let i = 0; i < 4; i++) expect((await predict(event([rows[i].input, rows[i + 4].input]))).statusCode).toBe(200);
    const to = new Date(Date.now() + 1000);
    const now = await readVersionsWindow(log, 'breast-cancer', from, to, 10_000);
    const graded = now.answered.map((r, i) => (i % 3 === 0 ? { ...r, feedback: { label: 'malignant', givenAt: r.createdAt } } : r));
    // AND the same traffic laid out as an earlier release logged it, and half of it so (a window spanning
    // the upgrade), each copy under a model and ids of its own
    const copy = (model: string) =>
      graded.map((r) => ({
        ...r,
        id: `${model}-${r.id}`,
        model,
        ...(r.shadow ? { shadow: { ...r.shadow, id: `${model}-${r.shadow.id}` } } : {}),
      }));
    const apart = (records: PredictionRecord[]) => [...records.map((r) => ({ ...r, shadow: undefined })), ...shadowRecordsOf(records)];
    const upgrade = copy('bc-upgrade');
    for (const r of [...copy('bc-now'), ...apart(copy('bc-earlier')), ...apart(upgrade.slice(0, 4)), ...upgrade.slice(4)])
      await log.putRecord(r);
    // WHEN mlship versions reads each
    const state = {
      champion: '1.0.0',
      challenger: '2.0.0',
      mode: 'shadow',
      percent: 100,
      updatedAt: from.toISOString(),
      updatedBy: 'deploy',
    } as const;
    const figures = async (model: string) => {
      const w = await readVersionsWindow(log, model, from, to, 10_000);
      return versionFigures(state, w.answered, w.shadows, 'classification');
    };
    const want = await figures('bc-now');
    // THEN every layout gives the same figures: 8 answered by the champion, 8 shadow predictions of the
    // challenger, which never agrees (its labels are reversed), graded through its answered predictions
    expect(await figures('bc-earlier')).toEqual(want);
    expect(await figures('bc-upgrade')).toEqual(want);
    expect(want.map((f) => [f.version, f.answered, f.shadow, f.agreement, f.graded, f.errorRate])).toEqual([
      ['1.0.0', 8, 0, null, 3, null],
      ['2.0.0', 0, 8, 0, 3, 0],
    ]);
  });
});

describe('pin', () => {
  it('answers with the pinned version, and logs it with no shadow', async () => {
    const predict = loadHandler('predict', { ...predictEnv(h, 'fargate'), [ENV.CHALLENGER]: challenger('shadow') });
    const from = new Date();
    const res = await predict(event([rows[0].input], { [MODEL_VERSION_REQUEST_HEADER]: '2.0.0' }));
    expect(res.statusCode).toBe(200);
    expect(answeredBy(res)).toBe('breast-cancer/2.0.0');
    const id = jsonBody<PredictResponse>(res).predictions[0]?.id;
    expect((await logged('breast-cancer', from)).find((r) => r.id === id)?.modelVersion).toBe('2.0.0');
    const item = (await logged('breast-cancer', from)).find((r) => r.id === id);
    expect(item?.shadow).toBeUndefined();
    expect((await logged(shadowLogModel('breast-cancer'), from)).filter((r) => r.shadowOf === id)).toEqual([]);
  });

  it("counts a request's metrics under the version that answered it", async () => {
    const predict = loadHandler('predict', { ...predictEnv(h, 'fargate'), [ENV.CHALLENGER]: challenger('shadow') });
    const seen = h.stdout.length;
    await predict(event([rows[0].input], { [MODEL_VERSION_REQUEST_HEADER]: '2.0.0' }));
    await predict(event([rows[0].input]));
    const emf = h.stdout.slice(seen).filter((l) => l._aws !== undefined && l.BackendLatency !== undefined);
    expect(emf.map((l) => [l.ModelVersion, l.Predictions])).toEqual([
      ['2.0.0', 1],
      ['1.0.0', 1],
    ]);
    // AND under the model alone too, whichever version answered: what the alarms and the model's graphs read
    for (const l of emf)
      expect((l._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]?.Dimensions).toEqual([
        ['Model', 'ModelVersion'],
        ['Model'],
      ]);
    const perLabel = h.stdout.slice(seen).filter((l) => l._aws !== undefined && l.Label !== undefined);
    expect(perLabel.length).toBeGreaterThan(0);
    for (const l of perLabel)
      expect((l._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]?.Dimensions).toEqual([
        ['Model', 'ModelVersion', PREDICT_DIMENSIONS.label],
        ['Model', PREDICT_DIMENSIONS.label],
      ]);
  });

  it('refuses a version not hosted: 404 UNKNOWN_MODEL_VERSION listing the hosted ones', async () => {
    for (const env of [predictEnv(h, 'fargate'), predictEnv(h, { sagemakerEndpoint: 'both', runtimeUrl: runtime.url })]) {
      const res = await loadHandler('predict', env)(event([rows[0].input], { [MODEL_VERSION_REQUEST_HEADER]: '7.0.0' }));
      expect(res.statusCode).toBe(404);
      expect(jsonBody(res)).toEqual({
        error: expect.objectContaining({
          code: 'UNKNOWN_MODEL_VERSION',
          field: MODEL_VERSION_REQUEST_HEADER,
          details: { versions: ['1.0.0', '2.0.0'] },
        }),
      });
    }
  });

  it('refuses a malformed version as INVALID_HEADER', async () => {
    const res = await loadHandler('predict', predictEnv(h, 'fargate'))(event([rows[0].input], { [MODEL_VERSION_REQUEST_HEADER]: '../x' }));
    expect(res.statusCode).toBe(400);
    expect(jsonBody<{ error: { code: string } }>(res).error.code).toBe('INVALID_HEADER');
  });
});

describe('the Open Inference Protocol infer route', () => {
  /** `POST /v2/models/breast-cancer/infer` with the instances as one [N, F] tensor. */
  const inferEvent = (instances: number[][], headers: Record<string, string> = {}) =>
    proxyEvent({
      method: 'POST',
      resource: '/v2/models/{name}/infer',
      pathParameters: { name: 'breast-cancer' },
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        inputs: [{ name: 'input', datatype: 'FP64', shape: [instances.length, instances[0]?.length ?? 0], data: instances }],
      }),
    });

  it('is routed by the same core as POST /predict: a shadow is logged beside the answer, a pin answers', async () => {
    // GIVEN a deployment with a shadow challenger
    const predict = loadHandler('predict', { ...predictEnv(h, 'fargate'), [ENV.CHALLENGER]: challenger('shadow') });
    const from = new Date();
    // WHEN an inference request comes through the protocol's route
    const res = await predict(inferEvent([rows[0].input, rows[1].input]));
    // THEN the champion answered in the protocol's form
    expect(res.statusCode).toBe(200);
    expect(answeredBy(res)).toBe('breast-cancer/1.0.0');
    expect(jsonBody<{ model_version: string }>(res).model_version).toBe('1.0.0');
    // AND the challenger's shadow of each instance is logged, linked to the answered prediction
    const answered = await logged('breast-cancer', from);
    expect(answered.map((r) => r.modelVersion)).toEqual(['1.0.0', '1.0.0']);
    expect(shadowRecordsOf(answered).map((r) => r.modelVersion)).toEqual(['2.0.0', '2.0.0']);
    // AND a pinned request is answered by the challenger alone
    const pinned = await predict(inferEvent([rows[0].input], { [MODEL_VERSION_REQUEST_HEADER]: '2.0.0' }));
    expect(pinned.statusCode).toBe(200);
    expect(answeredBy(pinned)).toBe('breast-cancer/2.0.0');
    expect(jsonBody<{ model_version: string }>(pinned).model_version).toBe('2.0.0');
  });
});

it('one model call carries the champion and the shadow', async () => {
  // GIVEN a shadow deployment on SageMaker, whose runtime stand-in counts InvokeEndpoint calls
  const predict = loadHandler('predict', {
    ...predictEnv(h, { sagemakerEndpoint: 'both', runtimeUrl: runtime.url }),
    [ENV.CHALLENGER]: challenger('shadow'),
  });
  const requestId = randomUUID();
  const before = runtime.invocations.both ?? 0;
  // WHEN one request comes
  expect((await predict(event([rows[0].input], {}, requestId))).statusCode).toBe(200);
  // THEN the endpoint was called once, and the challenger's prediction is logged all the same
  expect(runtime.invocations.both).toBe(before + 1);
  const [item] = await itemsOfRequest(requestId);
  expect(item?.shadow).toMatchObject({ modelVersion: '2.0.0', label: expect.any(String) });
  expect(item?.shadow?.label).not.toBe(item?.label);
});

describe('split', () => {
  it("sends each request to the version its id's bucket names, the same on a retry", async () => {
    const predict = loadHandler('predict', { ...predictEnv(h, 'fargate'), [ENV.CHALLENGER]: challenger('split', 30) });
    const ids = Array.from({ length: 24 }, () => randomUUID());
    for (const id of [...ids, ...ids.slice(0, 4)]) {
      const res = await predict(event([rows[0].input], {}, id));
      expect(res.statusCode).toBe(200);
      expect(answeredBy(res)).toBe(splitBucket(id) < 30 ? 'breast-cancer/2.0.0' : 'breast-cancer/1.0.0');
    }
  });

  it('replays an idempotent request under the version that answered it', async () => {
    // GIVEN a 30 % split, and one key the split sends to the challenger and one it keeps on the champion
    const predict = loadHandler('predict', { ...predictEnv(h, 'fargate'), [ENV.CHALLENGER]: challenger('split', 30) });
    const keys = Array.from({ length: 100 }, () => randomUUID());
    for (const [key, version] of [
      [keys.find((k) => splitBucket(k) < 30), 'breast-cancer/2.0.0'],
      [keys.find((k) => splitBucket(k) >= 30), 'breast-cancer/1.0.0'],
    ] as const) {
      const headers = { 'Idempotency-Key': String(key) };
      const first = await predict(event([rows[0].input], headers));
      expect(answeredBy(first)).toBe(version);
      // WHEN the same request comes again THEN the stored answer is replayed, naming the version that gave it
      const again = await predict(event([rows[0].input], headers));
      expect(again.headers).toMatchObject({ 'idempotent-replay': 'true', [MODEL_VERSION_HEADER]: version });
      expect(again.body).toBe(first.body);
    }
  });
});

describe('a challenger that fails or is slow', () => {
  let slow: RunningServer;
  let slowRuntime: RunningSageMakerRuntime;
  beforeAll(async () => {
    // The real model server, whose challenger takes 3 s per run: its grace, not the challenger, bounds the wait.
    slow = await startServer({ modelDir: MODEL_DIR, loadChallenger: async () => slowedModel(await loadModel(challengerDir), 3000) });
    slowRuntime = await startSageMakerRuntime({ endpoints: { slow: slow.url } });
  });
  afterAll(async () => {
    await slowRuntime.close();
    await slow.close();
  });

  /** A request of two instances through `predict`: the caller's answer and wait, and the shadows logged with it. */
  async function shadowed(predict: ReturnType<typeof loadHandler>) {
    const t0 = Date.now();
    const res = await predict(event([rows[0].input, rows[1].input]));
    const ms = Date.now() - t0;
    expect(res.statusCode).toBe(200);
    expect(answeredBy(res)).toBe('breast-cancer/1.0.0');
    expect(jsonBody<PredictResponse>(res).predictions.map(labelOf)).toEqual([rows[0].label, rows[1].label]);
    const ids = jsonBody<PredictResponse>(res).predictions.map((p) => p.id);
    const answered = (await logged('breast-cancer', new Date(t0 - 1000))).filter((r) => ids.includes(r.id));
    expect(answered).toHaveLength(2);
    return { ms, shadows: shadowRecordsOf(answered) };
  }

  it.each([
    ['fargate', () => predictEnv(h, 'fargate', slow.url)],
    ['sagemaker', () => predictEnv(h, { sagemakerEndpoint: 'slow', runtimeUrl: slowRuntime.url })],
  ] as const)('on %s, a slow shadow costs the caller at most its grace and is logged as SHADOW_TIMEOUT', async (_name, env) => {
    const predict = loadHandler('predict', { ...env(), [ENV.CHALLENGER]: challenger('shadow') });
    const seen = h.stdout.length;
    const { ms, shadows } = await shadowed(predict);
    expect(shadows.map((s) => [s.modelVersion, s.shadowError, s.label])).toEqual(Array(2).fill(['2.0.0', 'SHADOW_TIMEOUT', undefined]));
    // Far under the challenger's 3 s (a waited-out challenger would take them all).
    expect(ms).toBeLessThan(2000);
    const errors = h.stdout.slice(seen).filter((l) => l.ShadowErrors !== undefined && l.ModelVersion === '2.0.0');
    expect(errors.map((l) => l.ShadowErrors)).toEqual([2]);
  });

  it.each([
    ['fargate', () => predictEnv(h, 'fargate')],
    ['sagemaker', () => predictEnv(h, { sagemakerEndpoint: 'both', runtimeUrl: runtime.url })],
  ] as const)(
    "on %s, a shadow the model server cannot run leaves the answer untouched and logs the server's error code",
    async (_name, env) => {
      // GIVEN a deployment whose challenger 3.0.0 the model server does not host
      const predict = loadHandler('predict', { ...env(), [ENV.CHALLENGER]: JSON.stringify({ version: '3.0.0', mode: 'shadow' }) });
      const seen = h.stdout.length;
      const { shadows } = await shadowed(predict);
      expect(shadows.map((s) => [s.modelVersion, s.shadowError])).toEqual(Array(2).fill(['3.0.0', 'UNKNOWN_MODEL_VERSION']));
      const errors = h.stdout.slice(seen).filter((l) => l.ShadowErrors !== undefined && l.ModelVersion === '3.0.0');
      expect(errors.map((l) => l.ShadowErrors)).toEqual([2]);
    },
  );

  it('a shadow answered by a version the function does not accept is its MODEL_VERSION_MISMATCH; the answer stands', async () => {
    // GIVEN a function that accepts 1.0.0 alone, before the challenger 2.0.0 the model server hosts
    const backend = versionChecked(fargateBackend({ url: h.model.url }), [{ name: 'breast-cancer', version: '1.0.0' }]);
    const answer = await backend.invoke(JSON.stringify({ instances: [rows[0].input] }), 1, undefined, undefined, '2.0.0');
    expect(answer.model.version).toBe('1.0.0');
    expect(answer.shadow).toEqual({ version: '2.0.0', ms: expect.any(Number), error: 'MODEL_VERSION_MISMATCH' });
    // AND once it accepts 2.0.0 the shadow's predictions pass
    const both = versionChecked(
      fargateBackend({ url: h.model.url }),
      ['1.0.0', '2.0.0'].map((version) => ({ name: 'breast-cancer', version })),
    );
    expect((await both.invoke(JSON.stringify({ instances: [rows[0].input] }), 1, undefined, undefined, '2.0.0')).shadow).toMatchObject({
      version: '2.0.0',
      predictions: [expect.objectContaining({ label: expect.any(String) })],
    });
  });

  it("counts a split challenger's failed answers as its own BackendErrors", async () => {
    const deps = predictDepsFromEnv({ ...predictEnv(h, 'fargate'), [ENV.CHALLENGER]: challenger('split', 50) }, LAMBDA_DIR);
    // A connection failure of the answering version's call (a fault the model server cannot be asked for).
    const broken: Backend = {
      kind: deps.backend.kind,
      invoke: async (body, n, deadline, version, shadow) => {
        if (version === '2.0.0') throw new Error('socket hang up');
        return deps.backend.invoke(body, n, deadline, version, shadow);
      },
    };
    const predict = createPredictHandler({ ...deps, backend: broken });
    const toChallenger = Array.from({ length: 100 }, () => randomUUID()).find((id) => splitBucket(id) < 50) ?? '';
    const seen = h.stdout.length;
    expect((await predict(event([rows[0].input], {}, toChallenger))).statusCode).toBeGreaterThanOrEqual(500);
    const counted = h.stdout.slice(seen).filter((l) => l.BackendErrors !== undefined);
    expect(counted.map((l) => [l.ModelVersion, l.BackendErrors])).toEqual([['2.0.0', 1]]);
  });
});

describe('routing state from the store', () => {
  it('a promotion, then a rollback, take effect on the next request', async () => {
    // GIVEN a split deployment (its state is the default) and a function that reads the store every time
    const env = { ...predictEnv(h, 'fargate'), [ENV.CHALLENGER]: challenger('split', 1) };
    const store = new TableRoutingStore(dynamoClient(h.ddb.url), TABLE, 'breast-cancer-promote-test');
    const versions = versionsDeps({
      store,
      champion: '1.0.0',
      challenger: { version: '2.0.0', mode: 'split', percent: 1 },
      cacheMs: 0,
      logger: createLogger('test'),
      metrics: new Metrics({ name: 'breast-cancer', version: '1.0.0' }, () => {}),
    });
    const predict = createPredictHandler({ ...predictDepsFromEnv(env, LAMBDA_DIR), versions });
    // The first read stores the deployment's own state
    const deployed = await versions.routing();
    expect((await store.read())?.state).toEqual(deployed);
    // A request id whose bucket keeps it on the champion at 1 %
    const id = Array.from({ length: 50 }, () => randomUUID()).find((x) => splitBucket(x) >= 1) ?? '';
    expect(answeredBy(await predict(event([rows[0].input], {}, id)))).toBe('breast-cancer/1.0.0');
    // WHEN the challenger is promoted
    const now = new Date();
    const promotedState = promoted(deployed, 'test', now);
    expect(await store.write(promotedState, basisOf(deployed), 1)).toBe(true);
    // THEN the next request is answered by 2.0.0, the new champion
    expect(answeredBy(await predict(event([rows[0].input], {}, id)))).toBe('breast-cancer/2.0.0');
    // AND a stale writer cannot overwrite it
    expect(await store.write(rolledBack(deployed, 'stale', now), basisOf(deployed), 1)).toBe(false);
    // WHEN rolled back (no traffic to the challenger, now 1.0.0) THEN the champion 2.0.0 answers every request
    expect(await store.write(rolledBack(promotedState, 'test', now), basisOf(deployed), 2)).toBe(true);
    expect(answeredBy(await predict(event([rows[0].input], {}, randomUUID())))).toBe('breast-cancer/2.0.0');
    const stored = await store.read();
    expect(stored?.revision).toBe(3);
    expect(stored?.history.map((s) => s.champion)).toEqual(['1.0.0', '2.0.0']);
  });
});

describe('a new deployment', () => {
  it("replaces a stored state made from another deployment's state, and keeps one made from its own", async () => {
    const store = new TableRoutingStore(dynamoClient(h.ddb.url), TABLE, 'breast-cancer-redeploy-test');
    const deploy = (percent: number) =>
      versionsDeps({
        store,
        champion: '1.0.0',
        challenger: { version: '2.0.0', mode: 'split', percent },
        cacheMs: 0,
        logger: createLogger('test'),
        metrics: new Metrics({ name: 'breast-cancer', version: '1.0.0' }, () => {}),
      });
    // GIVEN a deployment at 10 % whose challenger was rolled back
    const first = await deploy(10).routing();
    const stored = await store.read();
    expect(await store.write(rolledBack(first, 'cli', new Date()), stored?.basis ?? '', stored?.revision ?? 0)).toBe(true);
    // THEN a cold start of the same deployment keeps the rollback
    expect((await deploy(10).routing()).percent).toBe(0);
    // AND a deployment at 20 % starts from its own config
    expect((await deploy(20).routing()).percent).toBe(20);
    expect((await store.read())?.state.percent).toBe(20);
  });
});
