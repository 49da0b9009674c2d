import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamoClient } from '../../local/dynamodb';
import { PROJECT_ROOT } from '../../local/paths';
import { type LocalSystem, startLocal } from '../../local/system';
import { openApiResponseCheck } from '../openapi/response-check';

const MODEL_DIR = join(PROJECT_ROOT, 'models', 'breast-cancer');
const parity = JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] };

describe('the local system end to end', () => {
  const openapi = openApiResponseCheck();
  let local: LocalSystem;
  const ddb = () => dynamoClient(local.dynamodbUrl);

  const call = (path: string, init: RequestInit & { key?: boolean } = {}) =>
    fetch(local.url + path, {
      ...init,
      headers: {
        ...(init.key === false ? {} : { 'x-api-key': local.apiKey }),
        'content-type': 'application/json',
        ...(init.headers as Record<string, string>),
      },
    });

  const predict = async (rows: number[][]) => {
    const res = await call('/predict', { method: 'POST', body: JSON.stringify({ instances: rows }) });
    return { status: res.status, body: (await res.json()) as { predictions: { id: string; label: string }[]; error?: { code: string } } };
  };

  const logged = async (id: string) => {
    const client = ddb();
    try {
      const out = await client.send(new GetItemCommand({ TableName: local.tableName, Key: { id: { S: id } }, ConsistentRead: true }));
      return out.Item ? unmarshall(out.Item) : undefined;
    } finally {
      client.destroy();
    }
  };

  beforeAll(async () => {
    local = await startLocal({
      port: 0,
      inMemory: true,
      modelDir: MODEL_DIR,
      apiKey: 'e2e-key-0123456789abcdefgh',
      replayIntervalMs: 0,
      onResponse: openapi.record,
    });
  });

  afterAll(async () => {
    await local?.stop();
  });

  it('serves predictions and logs one item per instance in the embedded DynamoDB', async () => {
    const rows = parity.rows.slice(0, 3);
    const { status, body } = await predict(rows.map((r) => r.input));
    expect(status).toBe(200);
    expect(body.predictions.map((p) => p.label)).toEqual(rows.map((r) => r.label));
    for (const p of body.predictions) {
      const item = await logged(p.id);
      expect(item).toMatchObject({ id: p.id, model: 'breast-cancer', modelVersion: '1.0.0', label: p.label, apiKeyId: local.apiKeyId });
    }
  });

  it('lists, gets and takes feedback through the gateway', async () => {
    const { body } = await predict([parity.rows[3].input]);
    const id = body.predictions[0].id;

    const list = await (await call('/predictions?limit=10')).json();
    expect(list.items.map((i: { id: string }) => i.id)).toContain(id);
    expect(list.items[0].id).toBe(id);

    const one = await call(`/predictions/${id}`);
    expect(one.status).toBe(200);
    expect((await one.json()).id).toBe(id);

    const fb = await call(`/predictions/${id}/feedback`, { method: 'POST', body: JSON.stringify({ label: parity.rows[3].label }) });
    expect(fb.status).toBe(200);
    await fb.arrayBuffer();
    expect((await logged(id))?.feedback?.label).toBe(parity.rows[3].label);

    const missing = await call('/predictions/01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('NOT_FOUND');
  });

  it('answers like the deployed API on key, route and method errors', async () => {
    const noKey = await call('/predict', { method: 'POST', key: false, body: JSON.stringify({ instances: [parity.rows[0].input] }) });
    expect(noKey.status).toBe(403);
    expect((await noKey.json()).error.code).toBe('FORBIDDEN');
    const health = await call('/health', { key: false });
    expect(health.status).toBe(200);
    await health.arrayBuffer();
    const unknown = await call('/nowhere');
    expect([unknown.status, (await unknown.json()).error.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
    const wrongMethod = await call('/predict');
    expect([wrongMethod.status, (await wrongMethod.json()).error.code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
    const bad = await call('/predict', { method: 'POST', body: '{"instances": [[1, 2]]}' });
    expect([bad.status, (await bad.json()).error.code]).toEqual([400, 'WRONG_FEATURE_COUNT']);
  });

  it('keeps a prediction made while DynamoDB is down and replays it from the queue', async () => {
    await local.dynamodb.stop();
    let id: string;
    try {
      const { status, body } = await predict([parity.rows[4].input]);
      expect(status).toBe(200);
      id = body.predictions[0].id;
    } finally {
      await local.dynamodb.start();
    }
    expect(await logged(id)).toBeUndefined();
    const drained = await local.replay();
    expect(drained).toEqual({ received: 1, replayed: 1, failed: 0 });
    expect(await logged(id)).toMatchObject({ id, label: parity.rows[4].label });
  });

  it('answers 503 while the model server is down and recovers when it is back', async () => {
    await local.model.stop();
    try {
      const { status, body } = await predict([parity.rows[0].input]);
      expect([status, body.error?.code]).toEqual([503, 'BACKEND_UNAVAILABLE']);
    } finally {
      await local.model.start();
    }
    expect((await predict([parity.rows[0].input])).status).toBe(200);
  });

  it('answered only what the OpenAPI document declares, with bodies valid against its schemas', async () => {
    expect(openapi.count()).toBeGreaterThan(0);
    expect(await openapi.failures(local.url)).toEqual([]);
  });
});
