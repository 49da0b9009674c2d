/** A regression model end to end against dynalite: numeric feedback stored as a number, and its error in the summary. */
import { resolve } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { MetricsSummary, PredictionRecord } from '../../contract/prediction-log';
import { newPredictionId } from '../../lambda/log/ids';
import { PredictionLogStore } from '../../lambda/log/prediction-log-store';
import { jsonBody, proxyEvent } from './events';
import { dynamoClient, type Harness, loadHandler, OPERATOR_KEY_ID, queryEnv, startHarness, TABLE } from './harness';

const MODEL_DIR = resolve(__dirname, '../../models/diabetes-progression');

let h: Harness;
let query: ReturnType<typeof loadHandler>;
let feedback: ReturnType<typeof loadHandler>;
let store: PredictionLogStore;

beforeAll(async () => {
  h = await startHarness({ model: false, modelDir: MODEL_DIR });
  query = loadHandler('query', queryEnv(h));
  feedback = loadHandler('feedback', queryEnv(h));
  store = new PredictionLogStore(dynamoClient(h.ddb.url), TABLE);
});
afterAll(async () => h.close());

const t0 = Date.now() - 30 * 60_000;
/** A logged regression prediction, `i` seconds after t0. */
function record(i: number, modelVersion: string, predictedValue: number, extra: Partial<PredictionRecord> = {}): PredictionRecord {
  const t = t0 + i * 1000;
  return {
    id: newPredictionId(t),
    model: 'diabetes-progression',
    modelVersion,
    createdAt: new Date(t).toISOString(),
    inputValues: [50, 1, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08],
    predictedValue,
    latencyMs: 10 * (i + 1),
    requestId: `req-${i}`,
    ...extra,
  };
}

const post = (id: string, body: string) =>
  feedback(
    proxyEvent({
      method: 'POST',
      resource: '/predictions/{id}/feedback',
      pathParameters: { id },
      headers: { 'content-type': 'application/json' },
      body,
      apiKeyId: OPERATOR_KEY_ID,
    }),
  );

describe('regression feedback and the summary', () => {
  it('stores a numeric label as a DynamoDB number and answers it as a number', async () => {
    const r = record(0, '1.0.0', 100);
    await store.putRecord(r);
    const res = await post(r.id, '{"label": 110}');
    expect(res.statusCode).toBe(200);
    expect(jsonBody<PredictionRecord>(res).feedback).toEqual({ label: 110, givenAt: expect.any(String), apiKeyId: OPERATOR_KEY_ID });
    const raw = await dynamoClient(h.ddb.url).send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: r.id } } }));
    expect(raw.Item?.feedback?.M?.label).toEqual({ N: '110' });
    // A string is not a true value of a regression model.
    expect(jsonBody(await post(r.id, '{"label": "110", "replace": true}'))).toEqual({
      error: expect.objectContaining({ code: 'INVALID_LABEL', field: 'label' }),
    });
  });

  it('gives MAE, RMSE, R² and mean error per version, reading older text-stored labels too', async () => {
    // GIVEN version 1.0.0: predicted 100, 150, 200 against 110 (above), 140, and "230" stored as text
    // by an older release, plus one prediction without feedback; version 0.9.0: 50 against 50.
    const b = record(1, '1.0.0', 150);
    const older = record(2, '1.0.0', 200, { feedback: { label: '230', givenAt: new Date(t0).toISOString() } });
    const unlabelled = record(3, '1.0.0', 175);
    const old = record(4, '0.9.0', 50);
    for (const r of [b, older, unlabelled, old]) await store.putRecord(r);
    expect((await post(b.id, '{"label": 140}')).statusCode).toBe(200);
    expect((await post(old.id, '{"label": 50.0}')).statusCode).toBe(200);

    // WHEN the summary of the last hour is asked for
    const res = await query(
      proxyEvent({ method: 'GET', resource: '/metrics/summary', query: { window: '1h' }, apiKeyId: OPERATOR_KEY_ID }),
    );
    expect(res.statusCode).toBe(200);
    const s = jsonBody<MetricsSummary>(res);

    // THEN by hand — 1.0.0 errors (predicted − actual) −10, +10, −30: MAE 50/3, RMSE √(1100/3), bias −10;
    // actuals 110, 140, 230 (mean 160): R² = 1 − 1100 / (2500 + 400 + 4900) = 1 − 1100/7800.
    expect(s.feedbackCount).toBe(4);
    expect(s.accuracy).toBeNull();
    expect(s.countsByLabel).toEqual({});
    expect(s.versions.map((v) => [v.modelVersion, v.count, v.feedbackCount])).toEqual([
      ['0.9.0', 1, 1],
      ['1.0.0', 4, 3],
    ]);
    const [v09, v10] = s.versions;
    // One pair with one actual value: no error, and R² undefined (null).
    expect(v09?.regression).toEqual({ count: 1, mae: 0, rmse: 0, r2: null, meanError: 0 });
    expect(v10?.regression?.count).toBe(3);
    expect(v10?.regression?.mae).toBeCloseTo(50 / 3, 12);
    expect(v10?.regression?.rmse).toBeCloseTo(Math.sqrt(1100 / 3), 12);
    expect(v10?.regression?.meanError).toBeCloseTo(-10, 12);
    expect(v10?.regression?.r2).toBeCloseTo(1 - 1100 / 7800, 12);
  });
});
