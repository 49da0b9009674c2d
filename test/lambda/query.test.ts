/** The read side against dynalite: pages, filters, single items, feedback and the summary. */
import { type MetricsSummary, type PredictionPage, type PredictionRecord, shadowRecordsOf } from '../../contract/prediction-log';
import { newPredictionId } from '../../lambda/log/ids';
import { PredictionLogStore } from '../../lambda/log/prediction-log-store';
import { defined } from '../support/defined';
import { jsonBody, proxyEvent } from './events';
import { dynamoClient, type Harness, loadHandler, OPERATOR_KEY_ID, queryEnv, startHarness, TABLE } from './harness';

let h: Harness;
let query: ReturnType<typeof loadHandler>;
let feedback: ReturnType<typeof loadHandler>;
const HOUR = 3_600_000;
const now = Date.now();
/** 25 records, one every 10 minutes going back; every fifth from an older model version; every fourth shadowed. */
const seeded: PredictionRecord[] = [];

beforeAll(async () => {
  h = await startHarness({ model: false });
  query = loadHandler('query', queryEnv(h));
  feedback = loadHandler('feedback', queryEnv(h));
  const ddb = dynamoClient(h.ddb.url);
  for (let i = 0; i < 25; i++) {
    const t = now - i * 10 * 60_000 - 1000;
    const id = newPredictionId(t);
    const label = i % 3 === 0 ? 'malignant' : 'benign';
    const rec: PredictionRecord = {
      id,
      model: 'breast-cancer',
      modelVersion: i % 5 === 0 ? '0.9.0' : '1.0.0',
      createdAt: new Date(t).toISOString(),
      inputValues: [i],
      label,
      probabilities: { malignant: 0.5, benign: 0.5 },
      latencyMs: i + 1,
      requestId: `req-${i}`,
      // Two client keys: even records are key-1's (the events' default key), odd ones key-2's.
      apiKeyId: i % 2 === 0 ? 'key-1' : 'key-2',
      ...(i % 4 === 0
        ? {
            shadow: {
              id: newPredictionId(t),
              modelVersion: '2.0.0',
              createdAt: new Date(t).toISOString(),
              label: 'benign',
              latencyMs: i + 2,
            },
          }
        : {}),
    };
    seeded.push(rec);
    await new PredictionLogStore(ddb, TABLE).putRecord(rec);
  }
  // Records of another model share the table but never show up in this model's pages.
  const other = newPredictionId();
  await new PredictionLogStore(ddb, TABLE).putRecord({ ...seeded[0], id: other, model: 'other-model' });
});
afterAll(async () => h.close());

const list = (q: Record<string, string> = {}, apiKeyId = OPERATOR_KEY_ID) =>
  query(proxyEvent({ method: 'GET', resource: '/predictions', query: q, apiKeyId }));

/** Every page of a listing, following cursors (at most 30 pages). */
async function allPages(q: Record<string, string>, apiKeyId = OPERATOR_KEY_ID): Promise<PredictionPage[]> {
  const pages: PredictionPage[] = [];
  let cursor: string | undefined;
  do {
    const res = await list({ ...q, ...(cursor ? { cursor } : {}) }, apiKeyId);
    expect(res.statusCode).toBe(200);
    const page = jsonBody<PredictionPage>(res);
    pages.push(page);
    cursor = page.cursor;
  } while (cursor !== undefined && pages.length < 30);
  return pages;
}

describe('GET /predictions', () => {
  it('pages newest first with an opaque cursor until the end', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await list({ limit: '10', ...(cursor ? { cursor } : {}) });
      expect(res.statusCode).toBe(200);
      const page = jsonBody<PredictionPage>(res);
      seen.push(...page.items.map((r) => r.id));
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(seen).toEqual(seeded.map((r) => r.id));
    expect(pages).toBeLessThanOrEqual(4);
  });

  it('gives no cursor on the last page, also when the items fill it exactly', async () => {
    for (const limit of ['5', '25', '1']) {
      const pages = await allPages({ limit });
      expect(pages.length).toBe(25 / Number(limit));
      expect(pages.every((p) => p.items.length === Number(limit))).toBe(true);
      expect(defined(pages.at(-1), 'the last page').cursor).toBeUndefined();
    }
    // A filtered listing ends the same way: 5 records of 0.9.0, pages of 5.
    const filtered = await allPages({ version: '0.9.0', limit: '5' });
    expect(filtered.map((p) => p.items.length)).toEqual([5]);
  });

  it('answers createdAt as an ISO time, never the storage sort key', async () => {
    const page = jsonBody<PredictionPage>(await list({ limit: '3' }));
    for (const item of page.items) {
      expect(item.createdAt).toBe(new Date(Date.parse(item.createdAt)).toISOString());
      expect(Object.keys(item)).not.toContain('createdAtId');
      expect(Object.keys(item)).not.toContain('callerModel');
    }
  });

  it("lists a client key's own predictions only, through its own index partition", async () => {
    const own = (await allPages({ limit: '4' }, 'key-1')).flatMap((p) => p.items);
    expect(own.map((r) => r.id)).toEqual(seeded.filter((r) => r.apiKeyId === 'key-1').map((r) => r.id));
    // Answered by one version, a client key sees no other version's shadow prediction; an operator does.
    expect(own.filter((r) => r.shadow !== undefined)).toEqual([]);
    const all = (await allPages({ limit: '10' })).flatMap((p) => p.items);
    expect(all.filter((r) => r.shadow !== undefined).map((r) => r.id)).toEqual(seeded.filter((r) => r.shadow).map((r) => r.id));
    const none = await allPages({}, 'key-without-predictions');
    expect(none.flatMap((p) => p.items)).toEqual([]);
    // A cursor issued to one key is refused for another.
    const page = jsonBody<PredictionPage>(await list({ limit: '2' }, 'key-1'));
    const stolen = await list({ cursor: defined(page.cursor, 'the key-1 cursor') }, 'key-2');
    expect(jsonBody(stolen)).toEqual({ error: expect.objectContaining({ code: 'INVALID_CURSOR' }) });
  });

  it('filters by model version and by time range', async () => {
    const v = jsonBody<PredictionPage>(await list({ version: '0.9.0', limit: '3' }));
    expect(v.items.map((r) => r.id)).toEqual(
      seeded
        .filter((r) => r.modelVersion === '0.9.0')
        .slice(0, 3)
        .map((r) => r.id),
    );
    expect(v.cursor).toBeDefined();

    const from = new Date(now - 1 * HOUR).toISOString();
    const to = new Date(now - 0.5 * HOUR).toISOString();
    const ranged = jsonBody<PredictionPage>(await list({ from, to }));
    const want = seeded.filter((r) => r.createdAt >= from && r.createdAt <= to).map((r) => r.id);
    expect(want.length).toBeGreaterThan(0);
    expect(ranged.items.map((r) => r.id)).toEqual(want);
  });

  it.each([
    [{ limit: '0' }, 'INVALID_QUERY', 'limit'],
    [{ limit: '201' }, 'INVALID_QUERY', 'limit'],
    [{ limit: 'ten' }, 'INVALID_QUERY', 'limit'],
    [{ from: 'yesterday' }, 'INVALID_QUERY', 'from'],
    [{ from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }, 'INVALID_QUERY', 'from'],
    [{ cursor: 'not-a-cursor' }, 'INVALID_CURSOR', 'cursor'],
    [{ cursor: Buffer.from(JSON.stringify({ i: 'x', m: 'breast-cancer', c: 'y' })).toString('base64url') }, 'INVALID_CURSOR', 'cursor'],
  ])('rejects %j with %s', async (q, code, field) => {
    const res = await list(q as Record<string, string>);
    expect(res.statusCode).toBe(400);
    expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code, field }) });
  });

  it("rejects another model's cursor and a cursor outside the time range", async () => {
    const page = jsonBody<PredictionPage>(await list({ limit: '2' }));
    const cursor = defined(page.cursor, 'the first page cursor');
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as Record<string, string>;
    const foreign = Buffer.from(JSON.stringify({ ...decoded, p: 'other-model' })).toString('base64url');
    expect((await list({ cursor: foreign })).statusCode).toBe(400);
    const outside = await list({ cursor, from: new Date(now - 0.1 * HOUR).toISOString() });
    expect(jsonBody(outside)).toEqual({ error: expect.objectContaining({ code: 'INVALID_CURSOR' }) });
  });
});

describe('GET /predictions/{id}', () => {
  const get = (id: string, apiKeyId = OPERATOR_KEY_ID) =>
    query(proxyEvent({ method: 'GET', resource: '/predictions/{id}', pathParameters: { id }, apiKeyId }));

  it('returns one logged prediction', async () => {
    const res = await get(seeded[3].id);
    expect(res.statusCode).toBe(200);
    expect(jsonBody(res)).toEqual(seeded[3]);
  });

  it("shows a client key its own prediction, without another version's shadow, and answers 404 for another key's", async () => {
    const own = await get(seeded[4].id, 'key-1');
    expect(own.statusCode).toBe(200);
    const { shadow, ...answered } = seeded[4];
    expect(shadow).toBeDefined();
    expect(jsonBody(own)).toEqual(answered);
    expect(jsonBody(await get(seeded[4].id))).toEqual(seeded[4]);
    // A shadow prediction an earlier release logged as an item of its own: the operator's, not the client key's
    const apart = defined(shadowRecordsOf([seeded[4]])[0], 'the shadow record');
    await new PredictionLogStore(dynamoClient(h.ddb.url), TABLE).putRecord(apart);
    expect(jsonBody(await get(apart.id))).toEqual(apart);
    expect((await get(apart.id, 'key-1')).statusCode).toBe(404);
    const other = await get(seeded[3].id, 'key-1');
    expect(other.statusCode).toBe(404);
    expect(jsonBody(other)).toEqual({ error: expect.objectContaining({ code: 'NOT_FOUND' }) });
  });

  it('answers 404 for an unknown id and 400 for malformed or idempotency ids', async () => {
    expect(jsonBody(await get(newPredictionId()))).toEqual({ error: expect.objectContaining({ code: 'NOT_FOUND' }) });
    for (const id of ['idem#key-1#order-42', 'abc', `${seeded[0].id}x`]) {
      const res = await get(id);
      expect(res.statusCode).toBe(400);
      expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'INVALID_ID', field: 'id' }) });
    }
  });
});

describe('feedback and the summary', () => {
  const post = (id: string, body: string, type = 'application/json', apiKeyId = OPERATOR_KEY_ID) =>
    feedback(
      proxyEvent({
        method: 'POST',
        resource: '/predictions/{id}/feedback',
        pathParameters: { id },
        headers: { 'content-type': type },
        body,
        apiKeyId,
      }),
    );
  const summary = (window: string, apiKeyId = OPERATOR_KEY_ID) =>
    query(proxyEvent({ method: 'GET', resource: '/metrics/summary', query: { window }, apiKeyId }));

  it('records ground truth; the summary counts classes, latency percentiles and accuracy', async () => {
    // Four within the last hour get feedback: three right, one wrong.
    const recent = seeded.slice(0, 4);
    for (const [i, r] of recent.entries()) {
      const truth = i === 3 ? (r.label === 'benign' ? 'malignant' : 'benign') : defined(r.label, 'a seeded label');
      const res = await post(r.id, JSON.stringify({ label: truth }));
      expect(res.statusCode).toBe(200);
      expect(jsonBody<PredictionRecord>(res).feedback).toEqual({ label: truth, givenAt: expect.any(String), apiKeyId: OPERATOR_KEY_ID });
    }
    const res = await summary('1h');
    expect(res.statusCode).toBe(200);
    const s = jsonBody<MetricsSummary>(res);
    const inWindow = seeded.filter((r) => Date.parse(r.createdAt) >= Date.parse(s.from));
    expect(s.count).toBe(inWindow.length);
    expect(s.countsByLabel).toEqual({
      malignant: inWindow.filter((r) => r.label === 'malignant').length,
      benign: inWindow.filter((r) => r.label === 'benign').length,
    });
    expect(s.latencyMs.p50).toBe(Math.ceil(inWindow.length / 2));
    expect(s.latencyMs.p99).toBe(inWindow.length);
    expect(s.feedbackCount).toBe(4);
    expect(s.accuracy).toBeCloseTo(0.75);
    expect(s.truncated).toBe(false);
    // Per version, by hand: 0.9.0 predicted malignant once, rightly; 1.0.0 predicted benign, benign,
    // malignant against three benign (labels in manifest order, rows actual, columns predicted).
    expect(s.versions.map((v) => [v.modelVersion, v.count, v.feedbackCount, v.classification?.accuracy])).toEqual([
      ['0.9.0', inWindow.filter((r) => r.modelVersion === '0.9.0').length, 1, 1],
      ['1.0.0', inWindow.filter((r) => r.modelVersion === '1.0.0').length, 3, 2 / 3],
    ]);
    expect(s.versions[1]?.classification).toMatchObject({
      confusion: {
        labels: ['malignant', 'benign'],
        counts: [
          [0, 0],
          [1, 2],
        ],
      },
      classes: [
        { label: 'malignant', support: 0, predicted: 1, precision: 0, recall: null, f1: 0 },
        { label: 'benign', support: 3, predicted: 2, precision: 1, recall: 2 / 3, f1: 0.8 },
      ],
      macroF1: 0.4,
      // Every true label benign: no AUC. Every confidence 0.5, right 2 of 3 times: ECE |2/3 − 0.5|.
      rocAuc: null,
    });
    expect(s.versions[1]?.classification?.weightedF1).toBeCloseTo(0.8, 12);
    expect(s.versions[1]?.classification?.ece).toBeCloseTo(1 / 6, 12);

    const day = jsonBody<MetricsSummary>(await summary('24h'));
    expect(day.count).toBe(25);
    expect([s.source, day.source]).toEqual(['log', 'log']);
    // The metrics are an operator's view.
    const client = await summary('1h', 'key-1');
    expect(client.statusCode).toBe(403);
    expect(jsonBody(client)).toEqual({ error: expect.objectContaining({ code: 'FORBIDDEN' }) });
  });

  it('keeps the first feedback (409 with its label) unless the caller asks to replace it; both stay in the log', async () => {
    const r = seeded[6];
    const first = await post(r.id, JSON.stringify({ label: 'benign' }), 'application/json', 'key-1');
    expect(first.statusCode).toBe(200);
    const second = await post(r.id, JSON.stringify({ label: 'malignant' }), 'application/json', 'key-1');
    expect(second.statusCode).toBe(409);
    expect(jsonBody(second)).toEqual({
      error: expect.objectContaining({ code: 'FEEDBACK_EXISTS', details: { feedback: expect.objectContaining({ label: 'benign' }) } }),
    });
    const replaced = await post(r.id, JSON.stringify({ label: 'malignant', replace: true }), 'application/json', 'key-1');
    expect(replaced.statusCode).toBe(200);
    const rec = jsonBody<PredictionRecord>(replaced);
    expect(rec.feedback).toMatchObject({ label: 'malignant', apiKeyId: 'key-1' });
    expect(rec.feedbackHistory).toEqual([expect.objectContaining({ label: 'benign', apiKeyId: 'key-1' })]);
    expect(jsonBody(await post(r.id, JSON.stringify({ label: 'benign', replace: 'yes' })))).toEqual({
      error: expect.objectContaining({ code: 'INVALID_BODY', field: 'replace' }),
    });
  });

  it("answers 404 to a client key's feedback on another key's prediction", async () => {
    const res = await post(seeded[7].id, JSON.stringify({ label: 'benign' }), 'application/json', 'key-1');
    expect(res.statusCode).toBe(404);
  });

  it('answers 404 for an unknown prediction and 400 for a label the model does not know', async () => {
    expect(jsonBody(await post(newPredictionId(), '{"label": "benign"}'))).toEqual({
      error: expect.objectContaining({ code: 'NOT_FOUND' }),
    });
    const bad = await post(seeded[0].id, '{"label": "maybe"}');
    expect(bad.statusCode).toBe(400);
    expect(jsonBody(bad)).toEqual({ error: expect.objectContaining({ code: 'INVALID_LABEL', field: 'label' }) });
    expect(jsonBody(await post(seeded[0].id, '{"label": 1}'))).toEqual({ error: expect.objectContaining({ code: 'INVALID_LABEL' }) });
    expect(jsonBody(await post(seeded[0].id, '{"truth": "benign"}'))).toEqual({ error: expect.objectContaining({ code: 'INVALID_BODY' }) });
    expect(jsonBody(await post(seeded[0].id, '{'))).toEqual({ error: expect.objectContaining({ code: 'INVALID_JSON' }) });
    expect((await post(seeded[0].id, 'label=benign', 'application/x-www-form-urlencoded')).statusCode).toBe(415);
    expect(jsonBody(await post('idem#key-1#x', '{"label": "benign"}'))).toEqual({ error: expect.objectContaining({ code: 'INVALID_ID' }) });
  });

  it('answers 503 STORAGE_UNAVAILABLE while the table cannot be reached', async () => {
    await h.ddb.stop();
    try {
      const listed = await list();
      expect(listed.statusCode).toBe(503);
      expect(jsonBody(listed)).toEqual({ error: expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' }) });
      expect((await post(seeded[0].id, '{"label": "benign"}')).statusCode).toBe(503);
    } finally {
      await h.ddb.start();
    }
  });

  it('rejects a malformed window', async () => {
    for (const window of ['1w', '0h', '91d', '2161h', 'h']) {
      const res = await summary(window);
      expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'INVALID_QUERY', field: 'window' }) });
    }
  });

  it('answers windows over 24 h with 400 ANALYTICS_OFF where the deployment has no analytics store', async () => {
    // GIVEN the function of a deployment with analytics=false (queryEnv's default), WHEN asked for a long window
    for (const window of ['25h', '7d', '90d']) {
      const res = await summary(window);
      // THEN a clear 4xx naming the switch, not a partial answer from the log
      expect(res.statusCode).toBe(400);
      expect(jsonBody(res)).toEqual({
        error: { code: 'ANALYTICS_OFF', field: 'window', message: expect.stringMatching(/analytics store.*analytics=false.*24h or less/) },
      });
    }
    // AND the 24 h window still comes from the log
    expect((await summary('24h')).statusCode).toBe(200);
  });
});
