/**
 * Fast bad-input test: 500 seeded malformed requests against the real local system, every one a 4xx
 * JSON error with a contract code, none a 5xx, and the system healthy afterwards. The 10,000-request
 * version is `npx tsx bench/reliability/bad-input.ts`.
 */

import { type LocalSystem, startLocal } from '../../local/system';
import { openApiResponseCheck } from '../openapi/response-check';
import { MODEL_DIR } from '../support/load-runner';
import { scanPredictions } from '../support/log-scan';
import { extraTopLevelField, generateBadRequests, KINDS, nonFiniteOutput, sendBadRequests, tally } from '../support/malformed';
import { quietHandlerLogs } from '../support/quiet-logs';

describe('malformed requests', () => {
  const openapi = openApiResponseCheck();
  let local: LocalSystem;
  const quiet = quietHandlerLogs();

  beforeAll(async () => {
    // No dashboard folder: a GET of an unknown path must reach the API's own 404, not a static file.
    local = await startLocal({
      port: 0,
      inMemory: true,
      modelDir: MODEL_DIR,
      apiKey: 'bad-input-key-0123456789ab',
      replayIntervalMs: 0,
      staticDir: '/nonexistent-dashboard',
      onResponse: openapi.record,
    });
  });

  afterAll(async () => {
    await local?.stop();
    quiet.restore();
  });

  it('generates the same requests for the same seed, covering every kind', () => {
    const a = generateBadRequests(7, 200, 'k');
    const b = generateBadRequests(7, 200, 'k');
    expect(a.map((r) => [r.kind, r.method, r.path, r.body?.toString('base64')])).toEqual(
      b.map((r) => [r.kind, r.method, r.path, r.body?.toString('base64')]),
    );
    expect(new Set(a.map((r) => r.kind))).toEqual(new Set(Object.keys(KINDS)));
  });

  it('answers 500 seeded malformed requests with 4xx contract errors and no 5xx, logging nothing', async () => {
    const verdicts = await sendBadRequests(local.url, generateBadRequests(20251124, 500, local.apiKey), 16);
    const t = tally(verdicts);

    expect(t.problems).toEqual([]);
    expect(t.status5xx).toBe(0);
    expect(verdicts).toHaveLength(500);
    // The mix reaches the gateway's and each handler's checks.
    for (const code of [
      'INVALID_JSON',
      'INVALID_BODY',
      'WRONG_FEATURE_COUNT',
      'INVALID_FEATURE_TYPE',
      'NON_FINITE_NUMBER',
      'UNSUPPORTED_MEDIA_TYPE',
      'INVALID_CURSOR',
      'INVALID_ID',
      'INVALID_LABEL',
      'INVALID_HEADER',
      'FORBIDDEN',
      'ROUTE_NOT_FOUND',
      'METHOD_NOT_ALLOWED',
      'INVALID_QUERY',
    ]) {
      expect({ code, seen: (t.byCode[code] ?? 0) > 0 }).toEqual({ code, seen: true });
    }
    expect(await scanPredictions(local.dynamodbUrl, local.tableName)).toEqual([]);
  });

  // Like the feedback route, predict refuses fields it does not know rather than ignoring them.
  it('rejects an unknown top-level field of a predict body with INVALID_BODY', async () => {
    const [verdict] = await sendBadRequests(local.url, [extraTopLevelField(local.apiKey)], 1);
    expect(verdict).toEqual({ kind: 'predict/extra-top-level-field', status: 400, code: 'INVALID_BODY' });
  });

  // The model's NaN is the server's failure, not the caller's: a 5xx with its own code, and no label.
  it('answers a row the model turns into NaN with 500 NON_FINITE_OUTPUT and logs nothing', async () => {
    const [verdict] = await sendBadRequests(local.url, [nonFiniteOutput(local.apiKey)], 1);
    expect(verdict).toEqual({
      kind: 'predict/non-finite-output',
      status: 500,
      code: 'NON_FINITE_OUTPUT',
      problem: 'status 500 is not 4xx',
    });
    expect(await scanPredictions(local.dynamodbUrl, local.tableName)).toEqual([]);
  });

  it('is healthy afterwards and still predicts', async () => {
    expect((await fetch(`${local.url}/health`)).status).toBe(200);
    const res = await fetch(`${local.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': local.apiKey },
      body: JSON.stringify({ instances: [[...Array(30)].map((_, i) => i / 10)] }),
    });
    expect(res.status).toBe(200);
  });

  it('answered only what the OpenAPI document declares, with bodies valid against its schemas', async () => {
    expect(openapi.count()).toBeGreaterThan(0);
    expect(await openapi.failures(local.url)).toEqual([]);
  });
});
