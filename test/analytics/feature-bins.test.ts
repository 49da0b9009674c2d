/**
 * The feature-drift query over the compactor's binned counts (contract/feature-bins.ts) against the query
 * that bins every row (`featureDriftRowsSql`, the query before the counts), on a generated log of
 * several closed days and an open one: the same answer when no day has counts (a store compacted before
 * they existed), once the compactor has written and backfilled them, with a late batch on a counted day,
 * and under a changed baseline. Bogus counts show which days the query reads from counts.
 */
import { rmSync } from 'node:fs';
import { featureDriftRowsSql, namedQuerySql, parameterCount } from '../../contract/analytics-queries';
import { type ModelBaseline, parseBaseline } from '../../contract/baseline';
import {
  countFeatureBins,
  FEATURE_BINS_PREFIX,
  featureBinSpecs,
  featureBinsFingerprint,
  featureBinsKey,
} from '../../contract/feature-bins';
import type { ModelManifest } from '../../contract/manifest';
import { missingRates } from '../../contract/metrics/missing-values';
import type { PredictionRecord } from '../../contract/prediction-log';
import { compactClosedDays, countCompactedClosedDays } from '../../lambda/analytics/compact';
import { featureBinsToParquet } from '../../lambda/analytics/parquet';
import { openAnalyticsDb } from '../../local/analytics/duckdb';
import { folderObjectStore } from '../../local/analytics/folder-store';
import { random } from '../support/dataset';
import { BASELINE, MANIFEST, NULLABLE_MANIFEST, normalize, predictionRows, tempStore, writeStore } from './fixtures';

const DAYS = ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04', '2026-01-05'];
/** The last day stays open. */
const NOW = new Date('2026-01-05T12:00:00Z');
const SINCE = '2026-01-01';

/**
 * `perDay` predictions a day, version 1 on the first days and 2 from day 3 on: values on and around the
 * bin edges (and their float32 neighbours), categories training never saw, missing values where the
 * feature is nullable, and now and then a row whose inputs were not kept inline.
 */
function generatedLog(manifest: ModelManifest, perDay: number): PredictionRecord[] {
  const r = random(28);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const features = manifest.input.kind === 'tabular' ? manifest.input.features : [];
  return DAYS.flatMap((day, d) =>
    Array.from({ length: perDay }, (_, i): PredictionRecord => {
      const inputValues = features.map((f) => {
        if (f.nullable && r() < 0.2) return null;
        if (f.type === 'string') return pick(['red', "o'k", 'blue', 'green']);
        if (f.type === 'bool') return r() < 0.7;
        if (f.type === 'int') return pick([0, 5, 10, 11, 15, 20, 21, 30]);
        return pick([0.5, 1, 1.1, 1.5, 2, 2.2, 2.5, 3, Math.round(r() * 300) / 100]);
      });
      return {
        id: `${day}-${String(i).padStart(4, '0')}`,
        model: manifest.name,
        modelVersion: d < 2 ? '1' : '2',
        createdAt: `${day}T${String(i % 24).padStart(2, '0')}:00:00.000Z`,
        label: pick(['yes', 'no']),
        probabilities: { yes: 0.6, no: 0.4 },
        latencyMs: 1,
        requestId: `req-${day}-${i}`,
        ...(r() < 0.05 ? { inputKey: `predictions/${manifest.name}/${day}/${i}.json` } : { inputValues }),
      };
    }),
  );
}

/** Writes each day of `log` in two batches that overlap (five predictions delivered twice). */
async function writeDays(root: string, manifest: ModelManifest, log: readonly PredictionRecord[]): Promise<void> {
  for (const day of DAYS) {
    const ofDay = log.filter((r) => r.createdAt.startsWith(day));
    await writeStore(root, 'predictions', predictionRows(ofDay.slice(0, 25), manifest), manifest);
    await writeStore(root, 'predictions', predictionRows(ofDay.slice(20), manifest), manifest);
  }
}

/** Edges that float32 cannot hold exactly, and other categories: another baseline of the same features. */
const OTHER_BASELINE = parseBaseline({
  ...BASELINE,
  features: [
    { name: 'a', mean: 1.5, std: 1, min: 0, max: 3, edges: [1.1, 2.2], proportions: [0.3, 0.4, 0.3] },
    { name: 'b', mean: 15, std: 5, min: 0, max: 30, edges: [10.5, 20], proportions: [0.4, 0.3, 0.3] },
    { name: 'c', kind: 'categorical', categories: ['blue'], proportions: [0.4, 0.6] },
    { name: 'd', kind: 'categorical', categories: ['false'], proportions: [0.2, 0.8] },
  ],
});

const NULLABLE_BASELINE = parseBaseline({
  rows: 100,
  bins: 3,
  features: [
    { name: 'a', mean: 1.5, std: 1, min: 0, max: 3, edges: [1.1, 2], proportions: [0.25, 0.5, 0.25] },
    { name: 'b', mean: 1.5, std: 1, min: 0, max: 3, edges: [1, 2.2], proportions: [0.5, 0.25, 0.25] },
  ],
  classPriors: { no: 0.5, yes: 0.5 },
});

type Answer = { version: unknown; feature_index: unknown; feature: unknown; predictions: unknown; psi: number }[];

async function answers(root: string, manifest: ModelManifest, baseline: ModelBaseline): Promise<{ counts: Answer; rows: Answer }> {
  const db = await openAnalyticsDb(root, manifest, { threads: 1 });
  const run = async (sql: string) => {
    const rows = normalize((await db.query(sql, new Array<string>(parameterCount(sql)).fill(SINCE))).rows) as Answer;
    // Ties in PSI may order differently: compare by version and feature.
    return rows.sort((x, y) => `${x.version} ${x.feature_index}`.localeCompare(`${y.version} ${y.feature_index}`));
  };
  try {
    return {
      counts: await run(namedQuerySql('feature-drift', manifest, baseline)),
      rows: await run(featureDriftRowsSql(manifest, baseline)),
    };
  } finally {
    db.close();
  }
}

/** The named query's answer is the row-binning one: counts exactly, PSI to float rounding. */
async function expectSameAnswer(root: string, manifest: ModelManifest, baseline: ModelBaseline): Promise<Answer> {
  const { counts, rows } = await answers(root, manifest, baseline);
  expect(rows.length).toBeGreaterThan(0);
  expect(counts.map(({ psi, ...r }) => r)).toEqual(rows.map(({ psi, ...r }) => r));
  counts.forEach((r, i) => {
    expect(r.psi).toBeCloseTo(rows[i]?.psi as number, 12);
  });
  return counts;
}

const binKeys = async (root: string) => (await folderObjectStore(root).list(FEATURE_BINS_PREFIX)).sort();

describe.each([
  ['four mixed features', MANIFEST, BASELINE],
  ['a nullable feature', NULLABLE_MANIFEST, NULLABLE_BASELINE],
] as const)('feature drift from binned counts, %s', (_, manifest, baseline) => {
  let root: string;
  const store = () => folderObjectStore(root);
  const log = generatedLog(manifest, 60);
  const fingerprint = featureBinsFingerprint(featureBinSpecs(manifest, baseline));

  beforeEach(async () => {
    // GIVEN a store of five days, each delivered in two batches, compacted before counts existed (no baseline)
    root = tempStore();
    await writeDays(root, manifest, log);
    await compactClosedDays(store(), manifest, { now: NOW });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('answers from the rows of days compacted without counts, and the same once only their counts are added', async () => {
    expect(await binKeys(root)).toEqual([]);
    await expectSameAnswer(root, manifest, baseline);

    // WHEN only the counts are added (no compaction), as the bench fills its store
    const result = await countCompactedClosedDays(store(), manifest, { now: NOW, baseline });
    // THEN every closed day got its counts from its compacted rows, and the answer stands
    expect([result.partitions, result.featureBins.map((b) => [b.dt, b.backfill])]).toEqual([[], DAYS.slice(0, 4).map((dt) => [dt, true])]);
    await expectSameAnswer(root, manifest, baseline);
  });

  it('writes counts for the closed days (backfilling the days compacted before) and answers the same from them', async () => {
    // WHEN a late batch for day 2 arrives and the compactor runs with the baseline
    const late = log.filter((r) => r.createdAt.startsWith(DAYS[1] as string)).slice(0, 5);
    await writeStore(root, 'predictions', predictionRows(late, manifest), manifest);
    const result = await compactClosedDays(store(), manifest, { now: NOW, baseline });

    // THEN day 2 was compacted again with its counts, the other closed days got counts from their compacted rows, the open day none
    expect(result.featureBins.map((b) => [b.dt, b.backfill])).toEqual([
      [DAYS[1], false],
      [DAYS[0], true],
      [DAYS[2], true],
      [DAYS[3], true],
    ]);
    expect(await binKeys(root)).toEqual(DAYS.slice(0, 4).map((dt) => featureBinsKey(manifest.name, dt, fingerprint)));
    await expectSameAnswer(root, manifest, baseline);

    // AND a second run has nothing to do
    const again = await compactClosedDays(store(), manifest, { now: NOW, baseline });
    expect([again.partitions, again.featureBins]).toEqual([[], []]);
  });

  it('reads the counts of a closed day without late rows, and bins the rows of a day with a late batch', async () => {
    await compactClosedDays(store(), manifest, { now: NOW, baseline });
    const right = await expectSameAnswer(root, manifest, baseline);

    // WHEN day 1's counts are replaced by bogus ones (every version-1 prediction of feature 1 in bin 0)
    const key = featureBinsKey(manifest.name, DAYS[0] as string, fingerprint);
    const spec = featureBinSpecs(manifest, baseline)[0];
    await store().put(
      key,
      await featureBinsToParquet([
        { version: '1', feature: spec?.feature.name as string, feature_index: 1, bin: 0, n: 1000, baseline: fingerprint },
      ]),
    );
    // THEN the answer for version 1 moved: the counts were read instead of the day's rows
    const { counts: fromBogus } = await answers(root, manifest, baseline);
    expect(fromBogus.find((r) => r.version === '1' && r.feature_index === 1)?.predictions).not.toEqual(
      right.find((r) => r.version === '1' && r.feature_index === 1)?.predictions,
    );

    // WHEN a late batch lands on day 1 (rows the stream wrote since it was closed)
    const late = log.filter((r) => r.createdAt.startsWith(DAYS[0] as string)).slice(10, 12);
    await writeStore(root, 'predictions', predictionRows(late, manifest), manifest);
    // THEN day 1 is binned from its rows again, bogus counts and all: the answer is the rows' one
    expect((await expectSameAnswer(root, manifest, baseline)).map(({ psi, ...r }) => r)).toEqual(right.map(({ psi, ...r }) => r));
  });

  it('ignores counts of another baseline, and the compactor writes the day again with the new bins', async () => {
    await compactClosedDays(store(), manifest, { now: NOW, baseline });
    const other = manifest === MANIFEST ? OTHER_BASELINE : parseBaseline({ ...baseline, features: [...baseline.features].reverse() });
    const otherFingerprint = featureBinsFingerprint(featureBinSpecs(manifest, other));
    expect(otherFingerprint).not.toBe(fingerprint);

    // WHEN the baseline changes: the old counts are not summed with the new bins
    await expectSameAnswer(root, manifest, other);

    // AND the next run counts every closed day again under the new bins and removes the old counts
    const result = await compactClosedDays(store(), manifest, { now: NOW, baseline: other });
    expect(result.featureBins.map((b) => b.dt)).toEqual(DAYS.slice(0, 4));
    expect(await binKeys(root)).toEqual(DAYS.slice(0, 4).map((dt) => featureBinsKey(manifest.name, dt, otherFingerprint)));
    await expectSameAnswer(root, manifest, other);
  });
});

describe('missing-rate-by-day from binned counts, a nullable feature', () => {
  const manifest = NULLABLE_MANIFEST;
  const baseline = NULLABLE_BASELINE;
  const log = generatedLog(manifest, 60);
  let root: string;
  const store = () => folderObjectStore(root);
  const answer = async () => {
    const db = await openAnalyticsDb(root, manifest, { threads: 1 });
    try {
      return normalize((await db.named('missing-rate-by-day', baseline, SINCE)).rows);
    } finally {
      db.close();
    }
  };
  /** The quality job's figure (missingRates) over each day's and version's inline predictions. */
  const fromRecords = () =>
    DAYS.flatMap((day) =>
      ['1', '2'].flatMap((version) => {
        const rows = log.filter((r) => r.createdAt.startsWith(day) && r.modelVersion === version && r.inputValues !== undefined);
        if (rows.length === 0) return [];
        return missingRates(
          baseline.features.map((f) => f.name),
          rows.map((r) => r.inputValues ?? []),
        ).map((m) => ({ day, version, feature: m.feature, predictions: m.n, missing: m.missing, missing_rate: m.rate }));
      }),
    );

  beforeEach(async () => {
    // GIVEN five days, each delivered in two overlapping batches, the first four closed
    root = tempStore();
    await writeDays(root, manifest, log);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("equals the rows' figure before the counts exist and once the closed days are read from them", async () => {
    const want = fromRecords();
    // Feature a is missing now and then; b never is.
    expect(want.some((r) => r.feature === 'a' && r.missing > 0)).toBe(true);
    expect(await answer()).toEqual(want);

    // WHEN the compactor closes days 1 to 4 with their counts
    await compactClosedDays(store(), manifest, { now: NOW, baseline });
    expect((await binKeys(root)).length).toBe(4);
    // THEN the same answer, and it comes from the counts: bogus counts for day 1 move it
    expect(await answer()).toEqual(want);
    const fingerprint = featureBinsFingerprint(featureBinSpecs(manifest, baseline));
    await store().put(
      featureBinsKey(manifest.name, DAYS[0] as string, fingerprint),
      await featureBinsToParquet([
        { version: '1', feature: 'a', feature_index: 1, bin: null, n: 7, baseline: fingerprint },
        { version: '1', feature: 'a', feature_index: 1, bin: 0, n: 3, baseline: fingerprint },
      ]),
    );
    const bogus = await answer();
    expect(bogus.filter((r) => r.day === DAYS[0])).toEqual([
      { day: DAYS[0], version: '1', feature: 'a', predictions: 10, missing: 7, missing_rate: 0.7 },
    ]);
    expect(bogus.filter((r) => r.day !== DAYS[0])).toEqual(want.filter((r) => r.day !== DAYS[0]));
  });
});

describe('binned counts', () => {
  it('count every version, a version without inline inputs as one empty row', () => {
    const specs = featureBinSpecs(MANIFEST, BASELINE);
    const counts = countFeatureBins(specs, [
      { version: '1', f_a: 1, f_b: 10, f_c: 'blue', f_d: 'true' },
      { version: '2', f_a: null, f_b: null, f_c: null, f_d: null },
    ]);
    const fp = featureBinsFingerprint(specs);
    expect(counts).toEqual([
      // 1 and 10 sit on an edge: the lower bin; "blue" is any other value.
      { version: '1', feature: 'a', feature_index: 1, bin: 0, n: 1, baseline: fp },
      { version: '1', feature: 'b', feature_index: 2, bin: 0, n: 1, baseline: fp },
      { version: '1', feature: 'c', feature_index: 3, bin: 2, n: 1, baseline: fp },
      { version: '1', feature: 'd', feature_index: 4, bin: 0, n: 1, baseline: fp },
      { version: '2', feature: 'a', feature_index: 1, bin: null, n: 0, baseline: fp },
    ]);
  });
});
