/**
 * Two local systems in one process, each with its own model, ports, table and keys: nothing of one
 * (configuration, clients, analytics engine) leaks into the other, because each builds its functions
 * from its own dependencies.
 */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../local/paths';
import { type LocalSystem, startLocal } from '../../local/system';
import { scanPredictions } from '../support/log-scan';

const MODELS = {
  cancer: { dir: join(PROJECT_ROOT, 'models', 'breast-cancer'), name: 'breast-cancer', row: Array(30).fill(1) },
  digits: { dir: join(PROJECT_ROOT, 'models', 'digits'), name: 'digits', row: Array(64).fill(0) },
};

describe('two local systems in one process', () => {
  let cancer: LocalSystem;
  let digits: LocalSystem;
  const quiet = { port: 0, inMemory: true, replayIntervalMs: 0, analyticsIntervalMs: 0, analyticsCompactionIntervalMs: 0 };

  const call = (system: LocalSystem, path: string, body?: unknown) =>
    fetch(system.url + path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'x-api-key': system.apiKey, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const predict = async (system: LocalSystem, row: number[]) => {
    const res = await call(system, '/predict', { instances: [row] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { predictions: { id: string }[]; model: { name: string } };
    return { id: body.predictions[0]?.id ?? '', model: body.model.name };
  };

  beforeAll(async () => {
    // GIVEN two systems started side by side, each serving its own model with its own keys
    [cancer, digits] = await Promise.all([
      startLocal({ ...quiet, modelDir: MODELS.cancer.dir, apiKey: 'two-systems-cancer-0123456789' }),
      startLocal({ ...quiet, modelDir: MODELS.digits.dir, apiKey: 'two-systems-digits-0123456789' }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([cancer?.stop(), digits?.stop()]);
  });

  it('each answers with its own model and logs to its own table', async () => {
    // WHEN each is asked for a prediction, at the same time
    const [a, b] = await Promise.all([predict(cancer, MODELS.cancer.row), predict(digits, MODELS.digits.row)]);

    // THEN each answered with its model
    expect(a.model).toBe(MODELS.cancer.name);
    expect(b.model).toBe(MODELS.digits.name);
    expect(new Set([cancer.url, digits.url, cancer.dynamodbUrl, digits.dynamodbUrl]).size).toBe(4);
    // AND each table holds its own prediction only
    expect((await scanPredictions(cancer.dynamodbUrl, cancer.tableName)).map((r) => [r.id, r.model])).toEqual([[a.id, MODELS.cancer.name]]);
    expect((await scanPredictions(digits.dynamodbUrl, digits.tableName)).map((r) => [r.id, r.model])).toEqual([[b.id, MODELS.digits.name]]);
    // AND each reads back its own log, not the other's
    expect((await call(cancer, `/predictions/${a.id}`)).status).toBe(200);
    expect((await call(digits, `/predictions/${a.id}`)).status).toBe(404);
    expect((await call(digits, `/predictions/${b.id}`)).status).toBe(200);
  });

  it('keeps running when the other one stops', async () => {
    // WHEN one system stops
    await digits.stop();
    // THEN the other still answers and logs
    const c = await predict(cancer, MODELS.cancer.row);
    expect((await scanPredictions(cancer.dynamodbUrl, cancer.tableName)).map((r) => r.id)).toContain(c.id);
  });
});
