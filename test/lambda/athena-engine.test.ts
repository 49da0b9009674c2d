/**
 * The query function's Athena engine against a recording stand-in of the Athena client (there is no
 * Athena here): the requests it sends, its polling, result paging and error mapping — and the SQL text
 * it sends, with the execution parameters put in as Athena puts them, run on DuckDB over a real store,
 * gives the hand-computed summary. The stand-in answers GetQueryResults with those DuckDB rows in
 * Athena's shape (a header row, every value as text), so the summary is computed from what Athena answers.
 */
import { rmSync } from 'node:fs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { summarySql, versionQualitySql } from '../../contract/analytics-queries';
import { ApiError } from '../../contract/errors';
import { readManifestFile } from '../../contract/model-files';
import type { MetricsSummary } from '../../contract/prediction-log';
import { type AthenaSender, athenaEngine } from '../../lambda/analytics/athena-engine';
import { type AnalyticsEngine, cachedAnalyticsEngine } from '../../lambda/analytics/engine';
import { createQueryHandler, queryDepsFromEnv } from '../../lambda/api/query';
import { summarizeAnalytics } from '../../lambda/log/summary';
import { openAnalyticsDb } from '../../local/analytics/duckdb';
import { EARLIER_FEEDBACK, feedbackRows, MANIFEST, predictionRows, RECORDS, tempStore, writeStore } from '../analytics/fixtures';
import { defined } from '../support/defined';
import { jsonBody, proxyEvent } from './events';
import { type Harness, OPERATOR_KEY_ID, queryEnv, startHarness } from './harness';

interface Sent {
  command: string;
  input: Record<string, unknown>;
}

/** Athena's substitution of execution parameters: each `?` outside string literals, in order. */
function withParameters(sql: string, params: string[]): string {
  let i = 0;
  return sql
    .split(/('(?:[^']|'')*')/)
    .map((part, k) => (k % 2 === 1 ? part : part.replace(/\?/g, () => params[i++])))
    .join('');
}

type Script = (sent: Sent, calls: Sent[]) => unknown;

/** A client that records each command and answers from `script`. */
function standIn(script: Script): { client: AthenaSender; calls: Sent[] } {
  const calls: Sent[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const sent = { command: command.constructor.name, input: command.input };
      calls.push(sent);
      return script(sent, calls);
    },
  } as unknown as AthenaSender;
  return { client, calls };
}

/** GetQueryResults pages of `rows` in Athena's shape: column info, the names as the first row, values as text, `size` rows per page. */
function resultPages(rows: Record<string, unknown>[], columns: string[], size: number) {
  const all = [
    { Data: columns.map((c) => ({ VarCharValue: c })) },
    ...rows.map((r) => ({ Data: columns.map((c) => (r[c] === null ? {} : { VarCharValue: String(r[c]) })) })),
  ];
  const pages = [];
  for (let i = 0; i < all.length; i += size) {
    pages.push({
      ResultSet: { Rows: all.slice(i, i + size), ResultSetMetadata: { ColumnInfo: columns.map((Name) => ({ Name, Type: 'varchar' })) } },
      ...(i + size < all.length ? { NextToken: `page-${i + size}` } : {}),
    });
  }
  return pages;
}

let store: string;
beforeAll(async () => {
  // GIVEN the fixture log in a store, with a stream batch delivered a second time under other keys
  store = tempStore();
  await writeStore(store, 'predictions', predictionRows(RECORDS));
  await writeStore(store, 'predictions', predictionRows(RECORDS.slice(0, 2)));
  await writeStore(store, 'feedback', feedbackRows(RECORDS));
  await writeStore(store, 'feedback', feedbackRows([EARLIER_FEEDBACK]));
});
afterAll(() => rmSync(store, { recursive: true, force: true }));

/** Runs the SQL text as Athena would receive it (parameters put in) on DuckDB over the store. */
async function duckdbAnswer(sent: Sent): Promise<{ rows: Record<string, unknown>[]; columns: string[] }> {
  const db = await openAnalyticsDb(store, MANIFEST, { threads: 1 });
  try {
    const sql = withParameters(String(sent.input.QueryString), (sent.input.ExecutionParameters as string[] | undefined) ?? []);
    return await db.query(sql);
  } finally {
    db.close();
  }
}

/** A stand-in that runs the query on DuckDB, reports it QUEUED, RUNNING, then SUCCEEDED, and pages its rows two at a time. */
function athenaOverDuckDb(): { client: AthenaSender; calls: Sent[] } {
  let answer: Promise<ReturnType<typeof resultPages>> | undefined;
  let polls = 0;
  return standIn(async (sent) => {
    switch (sent.command) {
      case 'StartQueryExecutionCommand':
        answer = duckdbAnswer(sent).then(({ rows, columns }) => resultPages(rows, columns, 2));
        return { QueryExecutionId: 'q-1' };
      case 'GetQueryExecutionCommand':
        polls++;
        return { QueryExecution: { Status: { State: polls === 1 ? 'QUEUED' : polls === 2 ? 'RUNNING' : 'SUCCEEDED' } } };
      case 'GetQueryResultsCommand': {
        const pages = await defined(answer, 'a started query (GetQueryResults before StartQueryExecution)');
        const token = sent.input.NextToken as string | undefined;
        return pages[token === undefined ? 0 : pages.findIndex((_p, i) => pages[i - 1]?.NextToken === token)];
      }
      default:
        throw new Error(`unexpected ${sent.command}`);
    }
  });
}

const engineWith = (client: AthenaSender, over: Partial<Parameters<typeof athenaEngine>[0]> = {}) =>
  athenaEngine({ workgroup: 'Mlship-analytics', database: 'mlship_analytics', client, pollFirstMs: 5, pollMaxMs: 20, ...over });
const inOneMinute = () => Date.now() + 60_000;

describe('Athena engine', () => {
  it('starts the summary in the workgroup with the day as each parameter, polls until done, reads every page', async () => {
    // WHEN the summary of the window from 2026-01-01 runs through the engine
    const { client, calls } = athenaOverDuckDb();
    const rows = await engineWith(client).run(summarySql(MANIFEST), '2026-01-01', inOneMinute());

    // THEN the requests are the ones the query role is granted, in order, shaped as Athena wants them
    expect(calls.map((c) => c.command)).toEqual([
      'StartQueryExecutionCommand',
      'GetQueryExecutionCommand',
      'GetQueryExecutionCommand',
      'GetQueryExecutionCommand',
      'GetQueryResultsCommand',
      'GetQueryResultsCommand',
    ]);
    expect(calls[0].input).toEqual({
      QueryString: summarySql(MANIFEST),
      WorkGroup: 'Mlship-analytics',
      QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: 'mlship_analytics' },
      // The window's first day once per `?` (each table is read twice: compacted rows and rows not yet compacted).
      ExecutionParameters: new Array<string>(4).fill("'2026-01-01'"),
    });
    expect(calls[1].input).toEqual({ QueryExecutionId: 'q-1' });
    expect(calls[5].input).toEqual({ QueryExecutionId: 'q-1', NextToken: 'page-2', MaxResults: 1000 });

    // AND the answer, computed by DuckDB from that very text and read back as Athena's text values,
    // is the hand-computed summary: p1..p5 once each (p1, p2 were delivered twice), p4's latest feedback
    expect(rows).toEqual([
      { predicted_label: 'no', predictions: '2', with_feedback: '1', correct: '1', p50: '30', p90: '40', p99: '40' },
      { predicted_label: 'yes', predictions: '3', with_feedback: '3', correct: '2', p50: '20', p90: null, p99: null },
    ]);
    const summary = summarizeAnalytics(rows, { model: 'toy', window: '90d', from: '2026-01-01T00:00:00.000Z', to: 'now' });
    expect(summary).toEqual({
      model: 'toy',
      window: '90d',
      from: '2026-01-01T00:00:00.000Z',
      to: 'now',
      count: 5,
      truncated: false,
      countsByLabel: { no: 2, yes: 3 },
      // latencies 5, 10, 20, 30, 40: nearest rank 3 → 20, rank 5 → 40
      latencyMs: { p50: 20, p90: 40, p99: 40 },
      feedbackCount: 4,
      accuracy: 0.75,
      versions: [],
      source: 'analytics',
    });
  });

  it('reads only the days asked for', async () => {
    const { client } = athenaOverDuckDb();
    const rows = await engineWith(client).run(summarySql(MANIFEST), '2026-01-02', inOneMinute());
    expect(summarizeAnalytics(rows, { model: 'toy', window: '7d', from: 'x', to: 'y' })).toMatchObject({
      count: 1,
      countsByLabel: { yes: 1 },
      latencyMs: { p50: 5, p90: 5, p99: 5 },
      feedbackCount: 1,
      accuracy: 1,
    });
  });

  it('answers 503 ANALYTICS_UNAVAILABLE with the reason when the query fails', async () => {
    const { client } = standIn((sent) =>
      sent.command === 'StartQueryExecutionCommand'
        ? { QueryExecutionId: 'q-2' }
        : {
            QueryExecution: {
              Status: { State: 'FAILED', AthenaError: { ErrorMessage: 'Query cancelled: bytes scanned limit was exceeded' } },
            },
          },
    );
    const failure = engineWith(client).run(summarySql(MANIFEST), '2026-01-01', inOneMinute());
    await expect(failure).rejects.toMatchObject({
      code: 'ANALYTICS_UNAVAILABLE',
      status: 503,
      message: expect.stringMatching(/failed: .*limit/),
    });
  });

  it('answers 503 ANALYTICS_UNAVAILABLE when Athena refuses the call (e.g. access denied)', async () => {
    const { client, calls } = standIn(() => {
      throw Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    });
    await expect(engineWith(client).run(summarySql(MANIFEST), '2026-01-01', inOneMinute())).rejects.toMatchObject({
      code: 'ANALYTICS_UNAVAILABLE',
      message: expect.stringContaining('StartQueryExecution: AccessDeniedException'),
    });
    expect(calls).toHaveLength(1);
  });

  it('stops a query still running at the deadline and answers 504 ANALYTICS_TIMEOUT', async () => {
    // GIVEN a query that never finishes, WHEN the caller's deadline nears
    const { client, calls } = standIn((sent) =>
      sent.command === 'StartQueryExecutionCommand' ? { QueryExecutionId: 'q-3' } : { QueryExecution: { Status: { State: 'RUNNING' } } },
    );
    const started = Date.now();
    const failure = engineWith(client, { answerMarginMs: 100 }).run(summarySql(MANIFEST), '2026-01-01', Date.now() + 400);
    // THEN it answers before the deadline, with the query stopped
    await expect(failure).rejects.toMatchObject({ code: 'ANALYTICS_TIMEOUT', status: 504, field: 'window' });
    expect(Date.now() - started).toBeLessThan(400);
    expect(calls.at(-1)).toEqual({ command: 'StopQueryExecutionCommand', input: { QueryExecutionId: 'q-3' } });
    expect(calls.filter((c) => c.command === 'GetQueryExecutionCommand').length).toBeGreaterThan(2);
  });
});

describe('GET /metrics/summary over 24 h through the query function', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ model: false });
  });
  afterAll(async () => h.close());

  /** The query function built from its environment, with the engine `make` builds in place of the one the environment names. */
  function handlerWith(make: () => AnalyticsEngine): (e: ReturnType<typeof proxyEvent>) => Promise<APIGatewayProxyResult> {
    const deps = queryDepsFromEnv(queryEnv(h, { workgroup: 'Mlship-analytics', database: 'mlship_analytics' }), __dirname);
    return createQueryHandler({ ...deps, analytics: make() });
  }
  const summary = (handler: ReturnType<typeof handlerWith>, window: string) =>
    handler(proxyEvent({ method: 'GET', resource: '/metrics/summary', query: { window }, apiKeyId: OPERATOR_KEY_ID }));

  it('asks the engine for the whole UTC days of the window and answers its summary', async () => {
    // GIVEN an engine that records what it is asked and answers one row
    const asked: { sql: string; since: string; deadline: number }[] = [];
    const handler = handlerWith(() => ({
      name: 'recording',
      run: async (sql, since, deadline) => {
        asked.push({ sql, since, deadline });
        return sql === summarySql({ name: 'breast-cancer' })
          ? [{ predicted_label: 'benign', predictions: '7', with_feedback: '2', correct: '1', p50: 3, p90: 4, p99: 5 }]
          : [
              { version: '1.0.0', predicted: 'benign', actual: 'benign', n: '1' },
              { version: '1.0.0', predicted: 'benign', actual: 'malignant', n: '1' },
              { version: '1.0.0', predicted: 'benign', actual: null, n: '5' },
            ];
      },
    }));
    // WHEN the dashboard asks for 7 days
    const before = Date.now();
    const res = await summary(handler, '7d');
    // THEN the engine ran the summary and per-version SQL of the served model from the day 7 days ago, within API Gateway's 29 s
    expect(res.statusCode).toBe(200);
    const since = new Date(before - 7 * 86_400_000).toISOString().slice(0, 10);
    expect(asked).toEqual([
      { sql: summarySql({ name: 'breast-cancer' }), since, deadline: expect.any(Number) },
      { sql: versionQualitySql(readManifestFile(h.manifestPath, __dirname)), since, deadline: expect.any(Number) },
    ]);
    expect(asked[0].deadline - before).toBeLessThanOrEqual(29_000 + 1000);
    expect(jsonBody<MetricsSummary>(res)).toMatchObject({
      window: '7d',
      from: `${asked[0].since}T00:00:00.000Z`,
      count: 7,
      countsByLabel: { benign: 7 },
      latencyMs: { p50: 3, p90: 4, p99: 5 },
      feedbackCount: 2,
      accuracy: 0.5,
      source: 'analytics',
    });
    // Per version from the cells: two of seven fed back, one right
    expect(jsonBody<MetricsSummary>(res).versions).toEqual([
      expect.objectContaining({
        modelVersion: '1.0.0',
        count: 7,
        feedbackCount: 2,
        classification: expect.objectContaining({ accuracy: 0.5 }),
      }),
    ]);
  });

  it('asks the engine once a minute per window, however often the dashboard refreshes, and again after a failure', async () => {
    // GIVEN an engine that counts its runs, failing the first 30-day one
    const asked: string[] = [];
    let failNext = true;
    const handler = handlerWith(() => ({
      name: 'counting',
      run: async (_sql, since) => {
        asked.push(since);
        if (since === new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10) && failNext) {
          failNext = false;
          throw new ApiError('ANALYTICS_UNAVAILABLE', 'not now');
        }
        return [{ predicted_label: 'benign', predictions: String(asked.length), with_feedback: '0', correct: '0', p50: 1, p90: 1, p99: 1 }];
      },
    }));
    // WHEN the 7-day window is asked six times (a minute of 10 s refreshes), then 30 days twice
    const counts: number[] = [];
    for (let i = 0; i < 6; i++) counts.push(jsonBody<MetricsSummary>(await summary(handler, '7d')).count);
    expect((await summary(handler, '30d')).statusCode).toBe(503);
    expect((await summary(handler, '30d')).statusCode).toBe(200);
    // THEN the engine ran each of the two queries once for 7 days (every answer the first one's), and for 30
    // days the failed summary query twice (the failure was not kept) beside one per-version run (its answer was)
    expect(counts).toEqual([1, 1, 1, 1, 1, 1]);
    expect(asked).toHaveLength(5);
  });

  it('keeps an answer for the time given, shares a run in flight, and forgets a failed one', async () => {
    let t = 0;
    let runs = 0;
    let fail = false;
    const engine = cachedAnalyticsEngine(
      {
        name: 'inner',
        run: async () => {
          runs++;
          if (fail) throw new Error('down');
          return [{ n: runs }];
        },
      },
      60_000,
      () => t,
    );
    const [a, b] = await Promise.all([engine.run('q', '2026-01-01', 0), engine.run('q', '2026-01-01', 0)]);
    expect([a, b, runs]).toEqual([[{ n: 1 }], [{ n: 1 }], 1]);
    t = 59_999;
    expect(await engine.run('q', '2026-01-01', 0)).toEqual([{ n: 1 }]);
    expect(await engine.run('q', '2026-01-02', 0)).toEqual([{ n: 2 }]);
    t = 60_000;
    fail = true;
    await expect(engine.run('q', '2026-01-01', 0)).rejects.toThrow('down');
    fail = false;
    expect(await engine.run('q', '2026-01-01', 0)).toEqual([{ n: 4 }]);
    expect(engine.name).toBe('inner (answers kept 60 s)');
  });

  it("answers the engine's failures as their JSON errors, never a crash", async () => {
    for (const [code, status] of [
      ['ANALYTICS_TIMEOUT', 504],
      ['ANALYTICS_UNAVAILABLE', 503],
    ] as const) {
      const handler = handlerWith(() => ({
        name: 'failing',
        run: async () => Promise.reject(new ApiError(code, 'no answer')),
      }));
      const res = await summary(handler, '30d');
      expect(res.statusCode).toBe(status);
      expect(jsonBody(res)).toEqual({ error: { code, message: 'no answer' } });
    }
    // An engine that breaks in an unforeseen way is a 500 with the JSON error shape, not a crash.
    const broken = await summary(
      handlerWith(() => ({ name: 'broken', run: async () => Promise.reject(new TypeError('boom')) })),
      '90d',
    );
    expect(broken.statusCode).toBe(500);
    expect(jsonBody(broken)).toEqual({ error: expect.objectContaining({ code: 'INTERNAL' }) });
  });
});
