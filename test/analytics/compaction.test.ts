/**
 * Compaction of closed days (lambda/analytics/compact.ts) over a folder laid out like the bucket: one
 * ZSTD object per day, table and version, one row per id (feedback the latest), raw files gone; running
 * it again changes nothing; a batch delivered after compaction is counted once and folded in next time;
 * the open day is left alone.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compactedObjectKey, parseAnalyticsKey } from '../../contract/analytics';
import { compactClosedDays } from '../../lambda/analytics/compact';
import { openAnalyticsDb } from '../../local/analytics/duckdb';
import { folderObjectStore } from '../../local/analytics/folder-store';
import { EARLIER_FEEDBACK, feedbackRows, MANIFEST, predictionRows, RECORDS, tempStore, writeStore } from './fixtures';

const AFTER_BOTH_DAYS = new Date('2026-02-01T03:00:00Z');

let root: string;
beforeEach(async () => {
  // GIVEN the fixture log delivered twice (other batch keys), with p4's superseded feedback
  root = tempStore();
  await writeStore(root, 'predictions', predictionRows(RECORDS));
  await writeStore(root, 'predictions', predictionRows(RECORDS.slice(1, 3)));
  await writeStore(root, 'feedback', feedbackRows([...RECORDS, EARLIER_FEEDBACK]));
  await writeStore(root, 'feedback', feedbackRows(RECORDS.slice(0, 1)));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const keys = () => folderObjectStore(root).list('analytics/');
const rowsOf = async (sql: string) => {
  const db = await openAnalyticsDb(root, MANIFEST, { threads: 1 });
  try {
    return (await db.query(sql)).rows;
  } finally {
    db.close();
  }
};

describe('compaction of closed days', () => {
  it('rewrites each closed day as one object per table and version, one row per id, sorted, ZSTD', async () => {
    // WHEN both days are closed and compacted
    const result = await compactClosedDays(folderObjectStore(root), MANIFEST, { now: AFTER_BOTH_DAYS });

    // THEN only the compacted objects are left: predictions day 1 (version 1) and day 2 (version 2), feedback alike
    expect(await keys()).toEqual(
      [
        compactedObjectKey('feedback', 'toy', '2026-01-01', '1'),
        compactedObjectKey('feedback', 'toy', '2026-01-02', '2'),
        compactedObjectKey('predictions', 'toy', '2026-01-01', '1'),
        compactedObjectKey('predictions', 'toy', '2026-01-02', '2'),
      ].sort(),
    );
    expect(result.partitions.map((p) => [p.table, p.dt, p.merged, p.rowsIn, p.rowsOut])).toEqual([
      ['predictions', '2026-01-01', 2, 6, 4],
      ['predictions', '2026-01-02', 1, 1, 1],
      ['feedback', '2026-01-01', 2, 5, 3],
      ['feedback', '2026-01-02', 1, 1, 1],
    ]);
    expect(result.remaining).toBe(0);
    // AND the rows: each id once, in id order, stamped; p4 keeps its latest feedback only
    expect(await rowsOf('SELECT id, version, compacted_at FROM predictions ORDER BY dt, id')).toEqual(
      ['p1', 'p2', 'p3', 'p4', 'p5'].map((id) => ({
        id,
        version: id === 'p5' ? '2' : '1',
        compacted_at: expect.stringMatching(/^2026-02-01 03:00:00/),
      })),
    );
    expect(await rowsOf('SELECT id, label, CAST(received_at AS VARCHAR) AS at FROM feedback ORDER BY id')).toEqual([
      { id: 'p1', label: 'yes', at: expect.stringMatching(/^2026-01-03 00:00:00/) },
      { id: 'p2', label: 'no', at: expect.stringMatching(/^2026-01-03 00:00:00/) },
      { id: 'p4', label: 'no', at: expect.stringMatching(/^2026-01-04 00:00:00/) },
      { id: 'p5', label: 'yes', at: expect.stringMatching(/^2026-01-03 00:00:00/) },
    ]);
    // AND the files are ZSTD, every column, as DuckDB reads them
    const file = join(root, compactedObjectKey('predictions', 'toy', '2026-01-01', '1')).replace(/'/g, "''");
    expect(await rowsOf(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`)).toEqual([{ compression: 'ZSTD' }]);
    // AND the input features survive the round trip
    expect(await rowsOf("SELECT f_a, f_b, f_c, f_d FROM predictions WHERE id = 'p3'")).toEqual([
      { f_a: 1.5, f_b: 25, f_c: 'red', f_d: 'false' },
    ]);
  });

  it('is idempotent: a second run finds nothing to do and changes no byte', async () => {
    const store = folderObjectStore(root);
    await compactClosedDays(store, MANIFEST, { now: AFTER_BOTH_DAYS });
    const before = new Map((await keys()).map((k) => [k, readFileSync(join(root, k))]));
    // WHEN compaction runs again, later
    const again = await compactClosedDays(store, MANIFEST, { now: new Date('2026-02-02T03:00:00Z') });
    // THEN it compacts nothing and the objects are byte for byte the same
    expect(again.partitions).toEqual([]);
    expect(new Map((await keys()).map((k) => [k, readFileSync(join(root, k))]))).toEqual(before);
  });

  it('counts a batch delivered after compaction once, and folds it in on the next run', async () => {
    const store = folderObjectStore(root);
    await compactClosedDays(store, MANIFEST, { now: AFTER_BOTH_DAYS });
    // GIVEN a redelivered batch of day 1 and p4's stale feedback, after the day was compacted
    const late = [
      ...(await writeStore(root, 'predictions', predictionRows(RECORDS.slice(0, 2)))),
      ...(await writeStore(root, 'feedback', feedbackRows([EARLIER_FEEDBACK]))),
    ];
    expect(late.map((k) => parseAnalyticsKey(k)?.compacted)).toEqual([false, false]);
    const perDay = 'SELECT p.dt, count(*) AS n FROM predictions p GROUP BY p.dt ORDER BY p.dt';
    const accuracy = async () => {
      const db = await openAnalyticsDb(root, MANIFEST, { threads: 1 });
      try {
        return (await db.named('accuracy-by-day', undefined, '2026-01-01')).rows;
      } finally {
        db.close();
      }
    };
    const answer = [
      { day: '2026-01-01', version: '1', predictions: '4', with_feedback: '3', correct: '2', accuracy: 2 / 3 },
      { day: '2026-01-02', version: '2', predictions: '1', with_feedback: '1', correct: '1', accuracy: 1 },
    ];
    // THEN the table holds day 1's two ids twice, and the named query still counts each once (p4 keeps "no")
    expect(await rowsOf(perDay)).toEqual([
      { dt: '2026-01-01', n: '6' },
      { dt: '2026-01-02', n: '1' },
    ]);
    expect(await accuracy()).toEqual(answer);

    // WHEN the next run folds the late files in
    const next = await compactClosedDays(store, MANIFEST, { now: new Date('2026-02-01T04:00:00Z') });
    expect(next.partitions.map((p) => [p.table, p.dt, p.merged, p.rowsOut])).toEqual([
      ['predictions', '2026-01-01', 1, 4],
      ['feedback', '2026-01-01', 1, 3],
    ]);
    // THEN the day is one object per table again, with the same answer
    expect((await keys()).every((k) => parseAnalyticsKey(k)?.compacted)).toBe(true);
    expect(await rowsOf(perDay)).toEqual([
      { dt: '2026-01-01', n: '4' },
      { dt: '2026-01-02', n: '1' },
    ]);
    expect(await accuracy()).toEqual(answer);
  });

  it('leaves the open day to the stream, and stops starting days at the deadline', async () => {
    // WHEN day 2 is still open
    const store = folderObjectStore(root);
    const partial = await compactClosedDays(store, MANIFEST, { now: new Date('2026-01-02T23:59:59Z') });
    // THEN only day 1 is compacted; day 2's raw object stays
    expect(partial.partitions.map((p) => `${p.table} ${p.dt}`)).toEqual(['predictions 2026-01-01', 'feedback 2026-01-01']);
    expect((await keys()).filter((k) => !parseAnalyticsKey(k)?.compacted).map((k) => parseAnalyticsKey(k)?.dt)).toEqual([
      '2026-01-02',
      '2026-01-02',
    ]);
    // AND a run whose deadline has passed starts no day and says how many are left
    const late = await compactClosedDays(store, MANIFEST, { now: AFTER_BOTH_DAYS, deadline: Date.now() - 1 });
    expect(late).toEqual({ partitions: [], featureBins: [], remaining: 2 });
  });
});
