/**
 * A seeded generator of malformed requests against every route, and a sender that checks each answer:
 * a 4xx status, a JSON body `{"error": {"code", "message"}}` whose code is one of contract/errors.ts
 * and whose status is that code's status. Nothing here is a valid request, so nothing may answer 2xx.
 */

import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { ERROR_STATUS, type ErrorCode } from '../../contract/errors';
import { LIMITS, maxPredictBodyBytes } from '../../contract/limits';
import { MANIFEST_FILE } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { API_KEY_HEADER, IDEMPOTENCY_HEADER } from '../../contract/routes';
import { MODEL_DIR, markedRow } from './load-runner';
import { type Rng, seededRng } from './seeded';

export interface BadRequest {
  /** What is wrong with it, e.g. `predict/nan-literal`. */
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

const manifest = readManifestFile(join(MODEL_DIR, MANIFEST_FILE));
const FEATURE_NAMES = manifest.input.kind === 'tabular' ? manifest.input.features.map((f) => f.name) : [];
const FEATURES = FEATURE_NAMES.length;
/** A well-formed prediction id (Crockford base32) that was never issued. */
const UNKNOWN_ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

type Make = (rng: Rng, key: string) => Omit<BadRequest, 'kind'>;

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const row = (rng: Rng) => markedRow(rng.int(0, 1000), 7);
const withCell = (rng: Rng, cell: string) => {
  const cells = row(rng).map(String);
  cells[rng.int(0, cells.length - 1)] = cell;
  return Buffer.from(`{"instances":[[${cells.join(',')}]]}`);
};
const post = (
  path: string,
  key: string,
  body: Buffer | undefined,
  type: string | undefined = 'application/json',
  extra: Record<string, string> = {},
) => ({
  method: 'POST',
  path,
  headers: { [API_KEY_HEADER]: key, ...(type !== undefined ? { 'content-type': type } : {}), ...extra },
  body,
});
const get = (path: string, key: string) => ({ method: 'GET', path, headers: { [API_KEY_HEADER]: key } });
const predict = (key: string, body: Buffer | undefined, type?: string, extra?: Record<string, string>) =>
  post('/predict', key, body, type, extra);

/** Each kind of malformed request, by name. Oversized bodies are rare in the mix: they cost megabytes each. */
export const KINDS: Record<string, { weight: number; make: Make }> = {
  'predict/body-not-object': { weight: 3, make: (r, k) => predict(k, json(r.pick([42, 'text', [1, 2], null, true]))) },
  'predict/instances-wrong-type': { weight: 3, make: (r, k) => predict(k, json({ instances: r.pick(['x', 5, { a: 1 }, null, true]) })) },
  'predict/instance-wrong-type': { weight: 3, make: (r, k) => predict(k, json({ instances: [r.pick(['row', 7, null, true])] })) },
  'predict/feature-wrong-type': {
    weight: 4,
    make: (r, k) => {
      const x = row(r) as unknown[];
      x[r.int(0, x.length - 1)] = r.pick(['1.5', null, true, [1], { v: 1 }, ''] as unknown[]);
      return predict(k, json({ instances: [x] }));
    },
  },
  'predict/huge-number': {
    weight: 3,
    make: (r, k) => predict(k, withCell(r, r.pick(['1e39', '-1e39', '1e309', '-1e400', '3.5e38', `1${'0'.repeat(400)}`]))),
  },
  'predict/nan-infinity-literal': {
    weight: 4,
    make: (r, k) => predict(k, withCell(r, r.pick(['NaN', 'Infinity', '-Infinity', 'nan', 'inf', 'undefined']))),
  },
  'predict/deep-nesting': {
    weight: 2,
    make: (r, k) => {
      const depth = r.pick([64, 1000, 100_000]);
      return predict(k, Buffer.from(`{"instances":${'['.repeat(depth)}1${']'.repeat(depth)}}`));
    },
  },
  'predict/invalid-utf8': {
    weight: 3,
    make: (r, k) => {
      const bad = Buffer.from(
        r.pick([
          [0xff, 0xfe],
          [0xc3, 0x28],
          [0xe2, 0x82],
          [0xf0, 0x28, 0x8c, 0xbc],
          [0xed, 0xa0, 0x80],
        ]),
      );
      const [head, tail] = r.pick([
        ['{"instances":[["', '"]]}'],
        ['{"instances":[[1,', ']]}'],
        ['{"', '":[]}'],
        ['', ''],
      ]);
      return predict(k, Buffer.concat([Buffer.from(head), bad, Buffer.from(tail)]));
    },
  },
  'predict/wrong-content-type': {
    weight: 3,
    make: (r, k) =>
      predict(
        k,
        json({ instances: [row(r)] }),
        r.pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'image/png']),
      ),
  },
  'predict/missing-content-type-bad-body': {
    weight: 2,
    make: (r, k) => predict(k, Buffer.from(r.pick(['instances=1', '<xml/>', 'a,b,c'])), undefined),
  },
  'predict/empty-body': {
    weight: 3,
    make: (r, k) => predict(k, r.pick([Buffer.alloc(0), Buffer.from('   '), Buffer.from('\n')]), r.pick(['application/json', undefined])),
  },
  'predict/truncated-json': { weight: 3, make: (r, k) => predict(k, json({ instances: [row(r)] }).subarray(0, r.int(1, 40))) },
  'predict/missing-field': { weight: 3, make: (r, k) => predict(k, json(r.pick([{}, { instance: [row(r)] }, { rows: [row(r)] }]))) },
  'predict/extra-feature': {
    weight: 3,
    make: (r, k) => {
      const o: Record<string, number> = {};
      for (const [i, v] of row(r).entries()) o[FEATURE_NAMES[i]] = v;
      o[r.pick(['extra', 'model', 'debug'])] = 1;
      return predict(k, json({ instances: [o] }));
    },
  },
  'predict/wrong-feature-count': {
    weight: 3,
    make: (r, k) => {
      const x = row(r);
      return predict(k, json({ instances: [r.next() < 0.5 ? x.slice(0, r.int(0, FEATURES - 1)) : [...x, ...x.slice(0, r.int(1, 5))]] }));
    },
  },
  'predict/object-missing-or-unknown-feature': {
    weight: 3,
    make: (r, k) => {
      const o: Record<string, number> = {};
      for (const [i, v] of row(r).entries()) o[`feature_${i}`] = v;
      return predict(k, json({ instances: [r.next() < 0.5 ? {} : o] }));
    },
  },
  'predict/empty-instances': { weight: 2, make: (_r, k) => predict(k, json({ instances: [] })) },
  'predict/too-many-instances': {
    weight: 1,
    make: (r, k) => predict(k, json({ instances: Array.from({ length: LIMITS.maxInstancesPerRequest + r.int(1, 20) }, () => row(r)) })),
  },
  'predict/bad-s3-key': {
    weight: 2,
    make: (r, k) =>
      predict(
        k,
        json({
          instances: [{ s3Key: r.pick(['../secret', 'models/x/model.tar.gz', '', 'datasets/../../x', 'datasets/missing-object.json', 7]) }],
        }),
      ),
  },
  'predict/bad-csv': {
    weight: 3,
    make: (r, k) =>
      predict(
        k,
        Buffer.from(
          r.pick(['a,b,c', `NaN,${row(r).slice(1).join(',')}`, row(r).slice(1).join(','), ',,,', `0x10,${row(r).slice(1).join(',')}`, '']),
        ),
        'text/csv',
      ),
  },
  'predict/csv-too-many-rows': {
    weight: 1,
    make: (r, k) => predict(k, Buffer.from(`${row(r).join(',')}\n`.repeat(LIMITS.maxInstancesPerRequest + r.int(1, 2000))), 'text/csv'),
  },
  'predict/csv-bad-header': {
    weight: 2,
    make: (r, k) => {
      const names = [...FEATURE_NAMES];
      names[r.int(1, names.length - 1)] = r.pick([names[0], 'not_a_feature', '']);
      return predict(k, Buffer.from(`${names.join(',')}\n${row(r).join(',')}\n`), 'text/csv');
    },
  },
  'predict/csv-unclosed-quote': { weight: 1, make: (r, k) => predict(k, Buffer.from(`"${row(r).join(',')}\n`), 'text/csv') },
  'predict/top-level-s3key': { weight: 1, make: (r, k) => predict(k, json({ s3Key: r.pick(['datasets/x.json', 'datasets/a/b.json']) })) },
  'predict/bad-idempotency-key': {
    weight: 3,
    make: (r, k) =>
      predict(k, json({ instances: [row(r)] }), 'application/json', {
        [IDEMPOTENCY_HEADER]: r.pick(['has space', 'x'.repeat(LIMITS.maxIdempotencyKeyLength + 1), '\u00e9t\u00e9', 'tab\there']),
      }),
  },
  'predict/oversized-body': {
    weight: 0.15,
    make: (r, k) => {
      const size = r.pick([maxPredictBodyBytes('fargate') + 1024, 10 * 1024 * 1024 + 1]);
      return predict(k, Buffer.concat([Buffer.from('{"instances":[[1],"'), Buffer.alloc(size, 'a'), Buffer.from('"]}')]));
    },
  },
  'auth/missing-or-wrong-key': {
    weight: 3,
    make: (r, k) => {
      const target = r.pick([
        post('/predict', k, json({ instances: [row(r)] })),
        get('/predictions', k),
        get('/model', k),
        get('/metrics/summary', k),
      ]);
      const headers: Record<string, string> = { ...target.headers };
      if (r.next() < 0.5) delete headers[API_KEY_HEADER];
      else headers[API_KEY_HEADER] = r.pick(['wrong', `${k}x`, k.slice(1), ' ']);
      return { ...target, headers };
    },
  },
  'route/wrong-method': {
    weight: 3,
    make: (r, k) => ({
      ...get(r.pick(['/predict', '/predictions', '/model', '/health', '/openapi.json', `/predictions/${UNKNOWN_ID}/feedback`]), k),
      method: r.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS']),
    }),
  },
  'route/post-to-get-route': {
    weight: 2,
    make: (r, k) => post(r.pick(['/health', '/model', '/predictions', '/metrics/summary']), k, json({})),
  },
  'route/unknown-path': {
    weight: 3,
    make: (r, k) =>
      post(r.pick(['/nope', '/predict/extra', '/predictions/a/b/c', '/%zz', '/predictions/%E0%A4%A/feedback', '//predict']), k, json({})),
  },
  'query/bad-limit': { weight: 2, make: (r, k) => get(`/predictions?limit=${r.pick(['-1', '0', 'abc', '100000', '1.5', ''])}`, k) },
  'query/bad-cursor': {
    weight: 3,
    make: (r, k) =>
      get(
        `/predictions?cursor=${encodeURIComponent(r.pick(['garbage', Buffer.from('{"id":1}').toString('base64url'), Buffer.from('not json').toString('base64'), 'A'.repeat(5000), '%%%']))}`,
        k,
      ),
  },
  'query/bad-time': {
    weight: 2,
    make: (r, k) =>
      get(
        `/predictions?${r.pick(['from=yesterday', 'to=2025-13-45', 'from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z', 'version='])}`,
        k,
      ),
  },
  'query/bad-window': {
    weight: 2,
    make: (r, k) => get(`/metrics/summary?window=${r.pick(['forever', '-1h', '0m', '999d', '1w', ''])}`, k),
  },
  'query/bad-id': {
    weight: 3,
    make: (r, k) =>
      get(
        `/predictions/${encodeURIComponent(r.pick(['not-an-id', 'x'.repeat(300), '01ARZ3NDEKTSV4RRFFQ69G5FA', 'idem#x', '0'.repeat(26).replace(/0$/, 'U'), '\u0000']))}`,
        k,
      ),
  },
  'query/unknown-id': { weight: 1, make: (_r, k) => get(`/predictions/${UNKNOWN_ID}`, k) },
  'feedback/bad-label': {
    weight: 3,
    make: (r, k) =>
      post(
        `/predictions/${UNKNOWN_ID}/feedback`,
        k,
        json(r.pick([{ label: 5 }, { label: 'no-such-class' }, { label: null }, {}, { label: 'benign', extra: 1 }, [], 'benign'])),
      ),
  },
  'feedback/bad-id': {
    weight: 2,
    make: (r, k) => post(`/predictions/${r.pick(['short', 'idem%23x', 'x'.repeat(40)])}/feedback`, k, json({ label: 'benign' })),
  },
  'feedback/bad-body': {
    weight: 2,
    make: (r, k) =>
      post(
        `/predictions/${UNKNOWN_ID}/feedback`,
        k,
        r.pick([Buffer.alloc(0), Buffer.from('{'), Buffer.from('label=benign'), Buffer.alloc(5000, 'a')]),
        r.pick(['application/json', 'text/plain']),
      ),
  },
};

/**
 * A valid body plus an unknown top-level field. Kept out of KINDS: `POST /predict` accepts it today
 * (validateInstances reads only "instances"); the bad-input test pins that down as a known defect.
 */
export function extraTopLevelField(apiKey: string): BadRequest {
  return { kind: 'predict/extra-top-level-field', ...predict(apiKey, json({ instances: [markedRow(1, 7)], debug: true })) };
}

/**
 * Legal feature values the breast-cancer model answers NaN for (every feature 1e36, inside float32's
 * range). Expected: 500 NON_FINITE_OUTPUT naming the instance — a 5xx on purpose, never a label.
 */
export function nonFiniteOutput(apiKey: string): BadRequest {
  return { kind: 'predict/non-finite-output', ...predict(apiKey, json({ instances: [new Array<number>(FEATURES).fill(1e36)] })) };
}

/** `count` malformed requests drawn from KINDS by weight, the same for the same seed. */
export function generateBadRequests(seed: number, count: number, apiKey: string): BadRequest[] {
  const rng = seededRng(seed);
  const kinds = Object.entries(KINDS);
  const total = kinds.reduce((s, [, k]) => s + k.weight, 0);
  const out: BadRequest[] = [];
  // Every kind at least once, then by weight.
  for (const [kind, k] of kinds) if (out.length < count) out.push({ kind, ...k.make(rng, apiKey) });
  while (out.length < count) {
    let x = rng.next() * total;
    let picked = kinds[kinds.length - 1];
    for (const entry of kinds) {
      x -= entry[1].weight;
      if (x < 0) {
        picked = entry;
        break;
      }
    }
    const [kind, k] = picked;
    out.push({ kind, ...k.make(rng, apiKey) });
  }
  return out;
}

export interface Verdict {
  kind: string;
  status: number;
  code?: string;
  /** Why the answer breaks the error contract; absent when it is a proper 4xx error. */
  problem?: string;
}

/** Sends the requests, `concurrency` at a time, and judges each answer. */
export async function sendBadRequests(baseUrl: string, requests: BadRequest[], concurrency: number): Promise<Verdict[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const verdicts: Verdict[] = new Array(requests.length);
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const i = next++;
      verdicts[i] = await sendOne(baseUrl, requests[i], agent);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return verdicts;
}

function sendOne(baseUrl: string, r: BadRequest, agent: Agent): Promise<Verdict> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body !== undefined) headers['content-length'] = r.body.length;
    const req = request(baseUrl + r.path, { method: r.method, headers, agent, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(judge(r.kind, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      res.on('error', (e) => resolve({ kind: r.kind, status: 0, problem: `response error: ${e.message}` }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (e) => resolve({ kind: r.kind, status: 0, problem: `network error: ${e.message}` }));
    req.end(r.body);
  });
}

function judge(kind: string, status: number, text: string): Verdict {
  let body: { error?: { code?: unknown; message?: unknown } };
  try {
    body = JSON.parse(text);
  } catch {
    return { kind, status, problem: `not JSON: ${text.slice(0, 80)}` };
  }
  const code = body.error?.code;
  if (typeof code !== 'string' || !(code in ERROR_STATUS))
    return { kind, status, problem: `no contract error code: ${text.slice(0, 120)}` };
  if (typeof body.error?.message !== 'string' || body.error.message === '')
    return { kind, status, code, problem: 'error without a message' };
  if (status < 400 || status >= 500) return { kind, status, code, problem: `status ${status} is not 4xx` };
  if (ERROR_STATUS[code as ErrorCode] !== status)
    return { kind, status, code, problem: `${code} should be ${ERROR_STATUS[code as ErrorCode]}, got ${status}` };
  return { kind, status, code };
}

/** Counts by code and the requests that broke the contract. */
export function tally(verdicts: Verdict[]): {
  byCode: Record<string, number>;
  byKind: Record<string, number>;
  problems: Verdict[];
  status5xx: number;
} {
  const byCode: Record<string, number> = {};
  const byKind: Record<string, number> = {};
  for (const v of verdicts) {
    if (v.code) byCode[v.code] = (byCode[v.code] ?? 0) + 1;
    byKind[v.kind] = (byKind[v.kind] ?? 0) + 1;
  }
  return {
    byCode,
    byKind,
    problems: verdicts.filter((v) => v.problem !== undefined),
    status5xx: verdicts.filter((v) => v.status >= 500).length,
  };
}
