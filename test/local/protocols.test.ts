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
import { openInferenceSpec } from '../openapi/open-inference-spec';
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

      // A repeat with the same Idempotency-Key is answered in the form its own Accept asks for.
      const keyed = (accept: string) =>
        call('/predict', {
          method: 'POST',
          headers: { accept, 'idempotency-key': 'csv-repeat-1' },
          body: JSON.stringify({ inputs: rows }),
        });
      const first = (await (await keyed('application/json')).json()) as { predictions: { id: string }[] };
      const replay = await keyed('text/csv');
      expect([replay.status, replay.headers.get('idempotent-replay')]).toEqual([200, 'true']);
      expect(
        (await replay.text())
          .trimEnd()
          .split('\r\n')
          .slice(1)
          .map((l) => l.split(',')[0]),
      ).toEqual(first.predictions.map((p) => p.id));

      const refused = await call('/predict', {
        method: 'POST',
        headers: { accept: 'text/html' },
        body: JSON.stringify({ instances: rows }),
      });
      expect([refused.status, (await refused.json()).error.code]).toEqual([406, 'NOT_ACCEPTABLE']);
    });
  });

  describe('the Open Inference Protocol (V2)', () => {
    const spec = openInferenceSpec();
    const base = '/v2/models/breast-cancer';
    const tensor = { name: 'input', datatype: 'FP32', shape: [rows.length, names.length], data: rows.flat() };

    /** Sends an inference request checked against the protocol's schema; answers are checked by the caller. */
    async function infer(body: unknown, path = `${base}/infer`): Promise<{ status: number; body: Record<string, unknown> }> {
      expect(spec.errors('inference_request', body)).toEqual([]);
      const res = await call(path, { method: 'POST', body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    }

    it('answers health, readiness and metadata as the specification describes them', async () => {
      for (const path of ['/v2/health/live', '/v2/health/ready', `${base}/ready`, `${base}/versions/1.0.0/ready`]) {
        const res = await call(path);
        expect([path, res.status]).toEqual([path, 200]);
        await res.arrayBuffer();
      }
      for (const path of [base, `${base}/versions/1.0.0`]) {
        const res = await call(path);
        const metadata = await res.json();
        expect([res.status, spec.errors('metadata_model_response', metadata)]).toEqual([200, []]);
        expect(metadata).toMatchObject({ name: 'breast-cancer', versions: ['1.0.0'], platform: 'onnx' });
        expect(metadata.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, names.length] }]);
      }
      const unknown = await call('/v2/models/iris');
      const error = await unknown.json();
      expect([unknown.status, spec.errors('metadata_model_error_response', error), error.code]).toEqual([404, [], 'NOT_FOUND']);
      const otherVersion = await call(`${base}/versions/2/ready`);
      expect([otherVersion.status, (await otherVersion.json()).code]).toEqual([404, 'NOT_FOUND']);
      const noKey = await fetch(`${local.url}/v2/health/live`);
      expect(noKey.status).toBe(403);
      await noKey.arrayBuffer();
    });

    it.each([
      ['one [N, F] tensor, flat', { id: 'flat-1', inputs: [tensor] }, `${base}/infer`],
      ['one [N, F] tensor, nested', { inputs: [{ ...tensor, datatype: 'FP64', data: rows }] }, `${base}/infer`],
      [
        'one [N] tensor per feature',
        { inputs: names.map((n, j) => ({ name: n, datatype: 'FP32', shape: [rows.length], data: rows.map((r) => r[j]) })) },
        `${base}/infer`,
      ],
      [
        'one [N, 1] tensor per feature, on the version route',
        { inputs: names.map((n, j) => ({ name: n, datatype: 'FP64', shape: [rows.length, 1], data: rows.map((r) => [r[j]]) })) },
        `${base}/versions/1.0.0/infer`,
      ],
    ])('infers on %s, answering tensors and logging each prediction once', async (_form, request, path) => {
      const before = new Set(await loggedIds());
      const { status, body } = await infer(request, path);
      expect([status, spec.errors('inference_response', body)]).toEqual([200, []]);
      expect(body).toMatchObject({ model_name: 'breast-cancer', model_version: '1.0.0' });
      expect(body.id).toBe((request as { id?: string }).id);
      const [label, probabilities] = body.outputs as { name: string; shape: number[]; data: unknown[] }[];
      expect(label).toMatchObject({ name: 'label', datatype: 'BYTES', shape: [rows.length], data: labels });
      expect(probabilities).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [rows.length, 2] });
      const ids = (body.parameters as { prediction_ids: string[] }).prediction_ids;
      expect((await loggedIds()).filter((id) => !before.has(id)).sort()).toEqual([...ids].sort());
      for (const [i, id] of ids.entries()) expect(await logged(id)).toMatchObject({ label: labels[i] });
    });

    it('replays a repeated request with the same Idempotency-Key, logging nothing more', async () => {
      const send = () =>
        call(`${base}/infer`, {
          method: 'POST',
          headers: { 'idempotency-key': 'oip-repeat-1' },
          body: JSON.stringify({ inputs: [tensor] }),
        });
      const first = await send();
      const firstBody = await first.json();
      const logged = (await loggedIds()).length;
      const again = await send();
      expect([again.status, again.headers.get('idempotent-replay'), again.headers.get('x-mlship-model')]).toEqual([
        200,
        'true',
        'breast-cancer/1.0.0',
      ]);
      expect(await again.json()).toEqual(firstBody);
      expect((await loggedIds()).length).toBe(logged);
    });

    it('answers only the outputs asked for', async () => {
      const { status, body } = await infer({ inputs: [tensor], outputs: [{ name: 'probabilities' }] });
      expect([status, (body.outputs as { name: string }[]).map((o) => o.name)]).toEqual([200, ['probabilities']]);
    });

    it("answers errors in the protocol's form with the API's status and stable code", async () => {
      const cases: [unknown, string, number, string][] = [
        [{ inputs: [{ ...tensor, shape: [1, 29], data: rows[0].slice(1) }] }, `${base}/infer`, 400, 'WRONG_FEATURE_COUNT'],
        [{ inputs: [{ ...tensor, data: [...rows.flat().slice(1), Number.MAX_VALUE] }] }, `${base}/infer`, 400, 'NON_FINITE_NUMBER'],
        [{ inputs: [tensor], outputs: [{ name: 'output0' }] }, `${base}/infer`, 400, 'INVALID_BODY'],
        [{ inputs: [tensor] }, '/v2/models/iris/infer', 404, 'NOT_FOUND'],
        [{ inputs: [tensor] }, `${base}/versions/0.9/infer`, 404, 'NOT_FOUND'],
      ];
      for (const [request, path, status, code] of cases) {
        const before = (await loggedIds()).length;
        const res = await infer(request, path);
        expect([path, res.status, spec.errors('inference_error_response', res.body), res.body.code]).toEqual([path, status, [], code]);
        expect(typeof res.body.error).toBe('string');
        expect((await loggedIds()).length).toBe(before);
      }
    });
  });

  it('answered only what the OpenAPI document declares, with bodies valid against its schemas', async () => {
    expect(openapi.count()).toBeGreaterThan(0);
    expect(await openapi.failures(local.url)).toEqual([]);
  });
});
