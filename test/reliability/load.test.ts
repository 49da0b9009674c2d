/**
 * Fast load test: a few hundred concurrent `POST /predict` against the real local system, then the log
 * is scanned and reconciled with the answers. The full run is `npx tsx bench/reliability/load.ts`.
 */

import { type LocalSystem, startLocal } from '../../local/system';
import { answeredIds, MODEL_DIR, markerOf, runLoad, summarize } from '../support/load-runner';
import { reconcile, scanPredictions } from '../support/log-scan';
import { quietHandlerLogs } from '../support/quiet-logs';

describe('load on the local system', () => {
  let local: LocalSystem;
  const quiet = quietHandlerLogs();

  beforeAll(async () => {
    local = await startLocal({ port: 0, inMemory: true, modelDir: MODEL_DIR, apiKey: 'load-key-0123456789abcdefgh', replayIntervalMs: 0 });
  });

  afterAll(async () => {
    await local?.stop();
    quiet.restore();
  });

  it('answers 300 requests at concurrency 16 with 200s, each logged exactly once', async () => {
    const result = await runLoad({ url: local.url, apiKey: local.apiKey, requests: 300, concurrency: 16, maxSeconds: 40, tag: 1 });
    const summary = summarize(result);
    const { answered, answeredTwice } = answeredIds(result.answers);
    const rec = reconcile(answered, answeredTwice, await scanPredictions(local.dynamodbUrl, local.tableName), markerOf(1));

    expect(result.stoppedByTimeCap).toBe(false);
    expect(summary).toMatchObject({ requests: 300, ok: 300, status5xx: 0, networkErrors: 0, malformed: 0 });
    expect(rec).toEqual({ answered: 300, logged: 300, lost: [], duplicated: [], orphaned: [] });
    // hrtime latencies: sub-millisecond resolution, ordered percentiles.
    expect(Number.isInteger(summary.p50Ms)).toBe(false);
    expect(summary.p50Ms).toBeLessThanOrEqual(summary.p99Ms);
  });

  it('reconciliation notices a lost, a doubled and an orphaned item', async () => {
    // The checker must be able to fail: feed it answers that do not match the table.
    const items = await scanPredictions(local.dynamodbUrl, local.tableName);
    const answered = new Map(items.slice(1).map((i) => [i.id, String(i.inputValues?.[0])]));
    answered.set('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'never-logged');
    const doubled = [...items, { ...items[2], id: '01ARZ3NDEKTSV4RRFFQ69G5FAW' }];
    const rec = reconcile(answered, [], doubled, markerOf(1));
    expect(rec.lost).toEqual(['01ARZ3NDEKTSV4RRFFQ69G5FAV']);
    expect(rec.duplicated).toHaveLength(1);
    expect(rec.orphaned).toEqual(expect.arrayContaining([items[0].id, '01ARZ3NDEKTSV4RRFFQ69G5FAW']));
  });
});
