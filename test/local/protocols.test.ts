/**
 * Every client's body through the real local system (gateway, predict function, model server, the
 * embedded DynamoDB) with a real HTTP client: MLflow's and TF-Serving's bodies and `Accept: text/csv` on
 * `POST /predict`. Each answer is checked, each prediction logged once, and every answer against the
 * served OpenAPI document.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamoClient } from '../../local/dynamodb';
import { PROJECT_ROOT } from '../../local/paths';
import { type LocalSystem, startLocal } from '../../local/system';
import { openApiResponseCheck } from '../openapi/response-check';

const MODEL_DIR = join(PROJECT_ROOT, 'models', 'breast-cancer');
const manifest = JSON.parse(readFileSync(join(MODEL_DIR, 'model.json'), 'utf8')) as { input: { features: { name: string }[] } };
const names = manifest.input.features.map((f) => f.name);
const parity = (
  JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] }
).rows.slice(0, 3);
const rows = parity.map((r) => r.input);
const labels = parity.map((r) => r.label);
const named = rows.map((r) => Object.fromEntries(names.map((n, j) => [n, r[j]])));

describe('client protocols through the local system', () => {
  const openapi = openApiResponseCheck();
  let local: LocalSystem;

  const call = (path: string, init: RequestInit = {}) =>
    fetch(local.url + path, {
      ...init,
      headers: { 'x-api-key': local.apiKey, 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    });

  /** Every logged item's id (the log's own items, not idempotency reservations). */
  async function loggedIds(): Promise<string[]> {
    const client = dynamoClient(local.dynamodbUrl);
    try {
      const out = await client.send(new ScanCommand({ TableName: local.tableName, ConsistentRead: true }));
      return (out.Items ?? [])
        .map((i) => unmarshall(i) as { id: string; model?: string })
        .filter((i) => i.model !== undefined)
        .map((i) => i.id);
    } finally {
      client.destroy();
    }
  }

  async function logged(id: string): Promise<Record<string, unknown> | undefined> {
    const client = dynamoClient(local.dynamodbUrl);
    try {
      const out = await client.send(new GetItemCommand({ TableName: local.tableName, Key: { id: { S: id } }, ConsistentRead: true }));
      return out.Item ? unmarshall(out.Item) : undefined;
    } finally {
      client.destroy();
    }
  }

  /** Sends `body`, expects the three parity labels, and checks the log gained exactly those predictions. */
  async function predictsAndLogsOnce(body: unknown): Promise<void> {
    const before = new Set(await loggedIds());
    const res = await call('/predict', { method: 'POST', body: JSON.stringify(body) });
    const answer = (await res.json()) as { predictions: { id: string; label: string }[] };
    expect([res.status, answer.predictions.map((p) => p.label)]).toEqual([200, labels]);
    const added = (await loggedIds()).filter((id) => !before.has(id));
    expect(added.sort()).toEqual(answer.predictions.map((p) => p.id).sort());
    for (const p of answer.predictions) expect(await logged(p.id)).toMatchObject({ label: p.label, inputValues: expect.any(Array) });
  }

  beforeAll(async () => {
    local = await startLocal({
      port: 0,
      inMemory: true,
      modelDir: MODEL_DIR,
      apiKey: 'protocols-key-0123456789abcdef',
      replayIntervalMs: 0,
      onResponse: openapi.record,
    });
  });
  afterAll(async () => {
    await local?.stop();
  });

  describe('POST /predict in the MLflow and TF-Serving formats', () => {
    const reversed = [...names].reverse();
    it.each([
      ['instances (rows)', { instances: rows }],
      ['instances (objects)', { instances: named }],
      ['inputs (rows)', { inputs: rows }],
      ['inputs (columns)', { inputs: Object.fromEntries(reversed.map((n) => [n, named.map((r) => r[n])])) }],
      ['dataframe_records', { dataframe_records: named }],
      ['dataframe_split', { dataframe_split: { columns: reversed, data: named.map((r) => reversed.map((n) => r[n])), index: [0, 1, 2] } }],
    ])('%s', async (_form, body) => {
      await predictsAndLogsOnce(body);
    });

    it('refuses an unknown column naming it', async () => {
      const res = await call('/predict', {
        method: 'POST',
        body: JSON.stringify({ dataframe_split: { columns: [...names.slice(1), 'radius'], data: [rows[0]] } }),
      });
      expect([res.status, (await res.json()).error]).toEqual([
        400,
        expect.objectContaining({ code: 'UNKNOWN_FEATURE', field: `dataframe_split.columns[${names.length - 1}]` }),
      ]);
    });

    it('answers CSV for Accept: text/csv and 406 for a type it cannot write', async () => {
      const res = await call('/predict', { method: 'POST', headers: { accept: 'text/csv' }, body: JSON.stringify({ inputs: rows }) });
      expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/csv; charset=utf-8']);
      const lines = (await res.text()).trimEnd().split('\r\n');
      expect(lines[0]).toBe('id,label,probability_malignant,probability_benign');
      expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(labels);
      for (const line of lines.slice(1)) expect(await logged(line.split(',')[0] ?? '')).toBeDefined();

      const json = await call('/predict', {
        method: 'POST',
        headers: { accept: 'application/json' },
        body: JSON.stringify({ instances: rows }),
      });
      expect([json.status, json.headers.get('content-type')]).toEqual([200, 'application/json']);
      await json.arrayBuffer();

      const refused = await call('/predict', {
        method: 'POST',
        headers: { accept: 'text/html' },
        body: JSON.stringify({ instances: rows }),
      });
      expect([refused.status, (await refused.json()).error.code]).toEqual([406, 'NOT_ACCEPTABLE']);
    });
  });

  it('answered only what the OpenAPI document declares, with bodies valid against its schemas', async () => {
    expect(openapi.count()).toBeGreaterThan(0);
    expect(await openapi.failures(local.url)).toEqual([]);
  });
});
