/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * The SageMaker container contract over real HTTP against the in-process server and the real
 * breast-cancer model: routes, JSON and CSV, every error class, and batching under concurrency.
 */

import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { type LoadedModel, loadModel } from '../../container/src/model';
import { type RunningServer, startServer } from '../../container/src/server';
import { ERROR_STATUS, type ErrorCode } from '../../contract/errors';
import { LIMITS } from '../../contract/limits';
import { readManifestFile } from '../../contract/model-files';
import { MODEL_VERSION_HEADER } from '../../contract/prediction';
import { defined } from '../support/defined';
import { BREAST_CANCER, closeAgent, parity, postJson, type Reply, request } from './helpers';

const par = parity(BREAST_CANCER);
const row = par.rows[0].input;

const manifest = readManifestFile(path.join(BREAST_CANCER, 'model.json'));
const featureNames = manifest.input.kind === 'tabular' ? manifest.input.features.map((f) => f.name) : [];

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ modelDir: BREAST_CANCER, maxBatchDelayUs: 2000, maxBatchSize: 64 });
});

afterAll(async () => {
  await server.close();
  closeAgent();
});

function expectError(reply: Reply, code: ErrorCode, field?: string): void {
  expect({ status: reply.status, code: reply.json().error.code }).toEqual({ status: ERROR_STATUS[code], code });
  expect(typeof reply.json().error.message).toBe('string');
  if (field !== undefined) expect(reply.json().error.field).toBe(field);
}

describe('ping before and after the model is loaded', () => {
  test('answers 503 MODEL_LOADING until the model is ready, then 200', async () => {
    // GIVEN a server whose model load waits on a gate
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let model: LoadedModel | undefined;
    const loading = await startServer({
      waitForModel: false,
      load: async () => {
        await gate;
        model = await loadModel(BREAST_CANCER);
        return model;
      },
    });
    try {
      // THEN it listens and says it is loading, for /ping and /invocations alike
      expectError(await request(loading.url, 'GET', '/ping'), 'MODEL_LOADING');
      expectError(await postJson(loading.url, { instances: [row] }), 'MODEL_LOADING');
      // WHEN the model is loaded
      open();
      await loading.ready;
      // THEN ping answers 200 and names the model
      const ping = await request(loading.url, 'GET', '/ping');
      expect(ping.status).toBe(200);
      expect(ping.json().model).toBe('breast-cancer/1.0.0');
    } finally {
      await loading.close();
    }
  });
});

describe('POST /invocations', () => {
  test('JSON rows as arrays answer label and probabilities with the model header', async () => {
    const reply = await postJson(server.url, { instances: [par.rows[0].input, par.rows[1].input] });
    expect(reply.status).toBe(200);
    expect(reply.headers[MODEL_VERSION_HEADER]).toBe('breast-cancer/1.0.0');
    expect(reply.headers.connection).toBe('keep-alive');
    const body = reply.json();
    expect(body.model).toEqual({ name: 'breast-cancer', version: '1.0.0' });
    expect(body.predictions.map((p: { label: string }) => p.label)).toEqual([par.rows[0].label, par.rows[1].label]);
    expect(Object.keys(body.predictions[0].probabilities)).toEqual(par.labels);
  });

  test('JSON objects keyed by feature name answer the same as arrays', async () => {
    const obj = Object.fromEntries(featureNames.map((n, j) => [n, row[j]]));
    const [a, b] = await Promise.all([postJson(server.url, { instances: [obj] }), postJson(server.url, { instances: [row] })]);
    expect(a.status).toBe(200);
    expect(a.json().predictions).toEqual(b.json().predictions);
  });

  test('text/csv rows answer JSON, or CSV lines when Accept is text/csv', async () => {
    const csv = `${par.rows[0].input.join(',')}\r\n\n${par.rows[1].input.join(',')}\n`;
    const json = await request(server.url, 'POST', '/invocations', csv, { 'content-type': 'text/csv; charset=utf-8' });
    expect(json.status).toBe(200);
    expect(json.json().predictions).toHaveLength(2);

    const lines = await request(server.url, 'POST', '/invocations', csv, { 'content-type': 'text/csv', accept: 'text/csv' });
    expect(lines.status).toBe(200);
    expect(lines.headers['content-type']).toBe('text/csv');
    const out = lines.text
      .trimEnd()
      .split('\n')
      .map((l) => l.split(','));
    expect(out.map((cells) => cells[0])).toEqual([par.rows[0].label, par.rows[1].label]);
    for (const [i, cells] of out.entries()) {
      for (const [j, p] of cells.slice(1).entries()) expect(Math.abs(Number(p) - par.rows[i].probabilities[j])).toBeLessThan(1e-5);
    }
  });

  test('a JSON body that starts with a byte order mark is read as JSON', async () => {
    const reply = await request(server.url, 'POST', '/invocations', `\ufeff${JSON.stringify({ instances: [row] })}`, {
      'content-type': 'application/json',
    });
    expect(reply.status).toBe(200);
  });

  test('GET /execution-parameters answers what Batch Transform asks', async () => {
    const reply = await request(server.url, 'GET', '/execution-parameters');
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ MaxConcurrentTransforms: 1, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: 6 });
  });
});

describe('each error class answers its code, status and field, and the server keeps serving', () => {
  const short = row.slice(0, 29);
  const cases: [string, () => Promise<Reply>, ErrorCode, string?][] = [
    ['bad JSON', () => postJson(server.url, '{"instances": [1,'), 'INVALID_JSON'],
    ['a JSON array body', () => postJson(server.url, [row]), 'INVALID_BODY'],
    ['no instances', () => postJson(server.url, { rows: [row] }), 'INVALID_BODY', 'instances'],
    ['empty instances', () => postJson(server.url, { instances: [] }), 'EMPTY_INSTANCES', 'instances'],
    [
      'too many instances',
      () =>
        postJson(
          server.url,
          `{"instances":[${Array(LIMITS.maxRowsPerInvocation + 1)
            .fill('0')
            .join(',')}]}`,
        ),
      'TOO_MANY_INSTANCES',
      'instances',
    ],
    ['a short row', () => postJson(server.url, { instances: [row, short] }), 'WRONG_FEATURE_COUNT', 'instances[1]'],
    ['a string feature', () => postJson(server.url, { instances: [[...short, '1']] }), 'INVALID_FEATURE_TYPE', 'instances[0][29]'],
    [
      'an Infinity feature',
      () => postJson(server.url, `{"instances":[[${short.join(',')},1e999]]}`),
      'NON_FINITE_NUMBER',
      'instances[0][29]',
    ],
    [
      'a missing feature',
      () => postJson(server.url, { instances: [Object.fromEntries(featureNames.slice(1).map((n) => [n, 1]))] }),
      'MISSING_FEATURE',
      `instances[0].${featureNames[0]}`,
    ],
    [
      'an unknown feature',
      () => postJson(server.url, { instances: [{ ...Object.fromEntries(featureNames.map((n) => [n, 1])), colour: 1 }] }),
      'UNKNOWN_FEATURE',
      'instances[0].colour',
    ],
    ['an S3 key', () => postJson(server.url, { instances: [{ s3Key: 'datasets/x.json' }] }), 'INVALID_S3_KEY', 'instances[0].s3Key'],
    [
      'CSV with NaN',
      () => request(server.url, 'POST', '/invocations', `${short.join(',')},NaN\n`, { 'content-type': 'text/csv' }),
      'NON_FINITE_NUMBER',
      'rows[0][29]',
    ],
    [
      'CSV with a word',
      () => request(server.url, 'POST', '/invocations', `${short.join(',')},abc\n`, { 'content-type': 'text/csv' }),
      'INVALID_FEATURE_TYPE',
      'rows[0][29]',
    ],
    [
      'an empty CSV body',
      () => request(server.url, 'POST', '/invocations', '\n\n', { 'content-type': 'text/csv' }),
      'EMPTY_INSTANCES',
      'rows',
    ],
    [
      'an unsupported content type',
      () => request(server.url, 'POST', '/invocations', 'x', { 'content-type': 'text/plain' }),
      'UNSUPPORTED_MEDIA_TYPE',
      'content-type',
    ],
    [
      'a gzip-compressed body',
      () =>
        request(server.url, 'POST', '/invocations', gzipSync(JSON.stringify({ instances: [row] })), {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        }),
      'UNSUPPORTED_MEDIA_TYPE',
      'content-encoding',
    ],
    ['an unsupported Accept', () => postJson(server.url, { instances: [row] }, { accept: 'image/png' }), 'NOT_ACCEPTABLE', 'accept'],
    ['an unknown path', () => request(server.url, 'GET', '/predict'), 'ROUTE_NOT_FOUND'],
    ['GET /invocations', () => request(server.url, 'GET', '/invocations'), 'METHOD_NOT_ALLOWED'],
    ['POST /ping', () => request(server.url, 'POST', '/ping', '{}'), 'METHOD_NOT_ALLOWED'],
  ];
  // Rows are spread into one argument: jest.each hands a callback with fewer parameters than cells `done`.
  test.each(cases.map(([name, send, code, field]) => ({ name, send, code, field })))('$name', async ({ send, code, field }) => {
    expectError(await send(), code, field);
    expect((await postJson(server.url, { instances: [row] })).status).toBe(200);
  });

  test('a body over the limit answers 413 without reading it all', async () => {
    const big = Buffer.alloc(LIMITS.maxInvocationBodyBytes + 1024, 0x20);
    expectError(await postJson(server.url, big), 'PAYLOAD_TOO_LARGE');
    // Chunked, so the limit is found while reading (the first request declared its length and was refused at once).
    expectError(
      await request(server.url, 'POST', '/invocations', big, { 'content-type': 'text/csv', 'transfer-encoding': 'chunked' }),
      'PAYLOAD_TOO_LARGE',
    );
    expect((await postJson(server.url, { instances: [row] })).status).toBe(200);
  });
});

describe('micro-batching', () => {
  test('64 concurrent requests of mixed sizes get exactly their own answers, in fewer runs than requests', async () => {
    // GIVEN the answers one request at a time
    const bodies = Array.from({ length: 64 }, (_, i) => ({
      instances: par.rows.slice(i % 40, (i % 40) + 1 + (i % 4)).map((r) => r.input),
    }));
    const alone: unknown[] = [];
    for (const b of bodies) alone.push((await postJson(server.url, b)).json().predictions);
    // Open 64 keep-alive connections first, so all requests reach the server in the same event-loop turn.
    await Promise.all(bodies.map(() => request(server.url, 'GET', '/ping')));
    const before = { ...defined(server.stats, 'batching stats before') };
    // WHEN all are sent at once
    const together = await Promise.all(bodies.map((b) => postJson(server.url, b)));
    // THEN each answer equals its one-by-one answer, and runs were shared
    together.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.json().predictions).toEqual(alone[i]);
    });
    const after = defined(server.stats, 'batching stats after');
    const runs = after.runs - before.runs;
    expect(after.rows - before.rows).toBe(bodies.reduce((n, b) => n + b.instances.length, 0));
    expect(runs).toBeLessThan(64);
    expect(after.maxRowsPerRun).toBeGreaterThan(4);
  });
});
