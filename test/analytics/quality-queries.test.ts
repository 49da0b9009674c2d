/**
 * The quality named queries on DuckDB: a regressor's error by day against answers worked out by hand
 * (test/analytics/fixtures.ts), however the log reached the store, and both quality queries against the
 * contract's metrics over a larger generated log.
 */
import { rmSync } from 'node:fs';
import { parameterCount, versionQualitySql } from '../../contract/analytics-queries';
import type { ModelManifest } from '../../contract/manifest';
import { confidencePoints, reliabilityCurve } from '../../contract/metrics/calibration';
import { classificationMetrics } from '../../contract/metrics/classification';
import { regressionMetrics } from '../../contract/metrics/regression';
import type { PredictionRecord } from '../../contract/prediction-log';
import { compactClosedDays } from '../../lambda/analytics/compact';
import type { AnalyticsRow } from '../../lambda/analytics/engine';
import { analyticsVersions, versionSummary } from '../../lambda/log/summary';
import { type AnalyticsDb, openAnalyticsDb } from '../../local/analytics/duckdb';
import { folderObjectStore } from '../../local/analytics/folder-store';
import {
  EARLIER_REGRESSION_FEEDBACK,
  expectRows,
  feedbackRows,
  MANIFEST,
  normalize,
  predictionRows,
  RECORDS,
  REGRESSION_MANIFEST,
  REGRESSION_RECORDS,
  tempStore,
  writeStore,
} from './fixtures';

const SINCE = '2026-01-01';

const DELIVERIES = ['once', 'twice', 'compacted, then again', 'beside a classifier'] as const;

async function store(how: (typeof DELIVERIES)[number]): Promise<{ db: AnalyticsDb; root: string }> {
  const root = tempStore();
  const write = async (records: PredictionRecord[], feedback = records) => {
    await writeStore(root, 'predictions', predictionRows(records, REGRESSION_MANIFEST), REGRESSION_MANIFEST);
    await writeStore(root, 'feedback', feedbackRows(feedback), REGRESSION_MANIFEST);
  };
  await write(REGRESSION_RECORDS, [...REGRESSION_RECORDS, EARLIER_REGRESSION_FEEDBACK]);
  // The same rows again in other batches (other keys).
  const again = () => write(REGRESSION_RECORDS.slice(2), REGRESSION_RECORDS.slice(0, 3));
  if (how === 'twice') await again();
  if (how === 'compacted, then again') {
    await compactClosedDays(folderObjectStore(root), REGRESSION_MANIFEST, { now: new Date('2026-02-01T00:00:00Z') });
    await again();
    await write([], [EARLIER_REGRESSION_FEEDBACK]);
  }
  if (how === 'beside a classifier') {
    // The classifier "toy" in the same store: its rows have no predicted value and labels that are no numbers.
    await writeStore(root, 'predictions', predictionRows(RECORDS));
    await writeStore(root, 'feedback', feedbackRows(RECORDS));
  }
  return { db: await openAnalyticsDb(root, REGRESSION_MANIFEST, { threads: 1 }), root };
}

describe.each(DELIVERIES)('regression-error-by-day (rows delivered %s)', (how) => {
  let db: AnalyticsDb;
  let root: string;
  beforeAll(async () => ({ db, root } = await store(how)));
  afterAll(() => {
    db?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('equals the hand-computed answer', async () => {
    // Day 1, version 1: six predictions, five with feedback, four with a number ("abc" is none).
    // Errors (predicted − actual) +1, −1, 0, −2: MAE 4/4 = 1, RMSE √(6/4), mean error −2/4 = −0.5.
    // Actual 2, 6, 7, 3, mean 4.5: Σ(actual − 4.5)² = 17, R² = 1 − 6/17 = 11/17.
    // Day 2, version 2: 10 against the latest label 10.5 (not the superseded 12): every figure 0.5 or −0.5;
    // one actual value, so R² is undefined (NULL).
    const got = await db.named('regression-error-by-day', undefined, SINCE);
    expectRows(got.rows, [
      {
        day: '2026-01-01',
        version: '1',
        predictions: 6,
        with_feedback: 5,
        n: 4,
        mae: 1,
        rmse: Math.sqrt(1.5),
        mean_error: -0.5,
        r2: 11 / 17,
      },
      { day: '2026-01-02', version: '2', predictions: 1, with_feedback: 1, n: 1, mae: 0.5, rmse: 0.5, mean_error: -0.5, r2: null },
    ]);
  });

  it("gives a long window's summary the same figures per version", async () => {
    // The days above are one version each: the same figures, counted over fed-back numbers.
    const sql = versionQualitySql(REGRESSION_MANIFEST);
    const rows = (await db.query(sql, new Array<string>(parameterCount(sql)).fill(SINCE))).rows;
    const [v1, v2] = analyticsVersions(rows as AnalyticsRow[], REGRESSION_MANIFEST);
    expect(v1).toMatchObject({ modelVersion: '1', count: 6, feedbackCount: 4, regression: { count: 4 } });
    expect(v1?.regression?.mae).toBeCloseTo(1, 12);
    expect(v1?.regression?.rmse).toBeCloseTo(Math.sqrt(1.5), 12);
    expect(v1?.regression?.meanError).toBeCloseTo(-0.5, 12);
    expect(v1?.regression?.r2).toBeCloseTo(11 / 17, 12);
    expect(v2).toEqual({
      modelVersion: '2',
      count: 1,
      feedbackCount: 1,
      regression: { count: 1, mae: 0.5, rmse: 0.5, r2: null, meanError: -0.5 },
    });
  });
});

/** Runs `test` on a store holding `records` (predictions and their feedback) of one model, then removes it. */
async function withStore(records: PredictionRecord[], manifest: ModelManifest, test: (db: AnalyticsDb) => Promise<void>): Promise<void> {
  const root = tempStore();
  await writeStore(root, 'predictions', predictionRows(records, manifest), manifest);
  await writeStore(root, 'feedback', feedbackRows(records), manifest);
  const db = await openAnalyticsDb(root, manifest, { threads: 1 });
  try {
    await test(db);
  } finally {
    db.close();
    rmSync(root, { recursive: true, force: true });
  }
}

/** A deterministic pseudo-random sequence in [0, 1) (a linear congruential generator), so the generated log is the same every run. */
function sequence(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

describe('the quality queries agree with the contract metrics on a generated log', () => {
  const next = sequence(7);
  const days = ['2026-01-01T08:00:00.000Z', '2026-01-02T08:00:00.000Z'];
  /** Log record `id` of `model`, fed back with `label` unless that is undefined. */
  const generated = (id: string, model: string, label: string | undefined, fields: Partial<PredictionRecord>): PredictionRecord => ({
    id,
    model,
    modelVersion: '1',
    createdAt: days[0],
    inputValues: [1, 10, 'red', true],
    latencyMs: 1,
    requestId: 'r',
    ...fields,
    ...(label === undefined ? {} : { feedback: { label, givenAt: '2026-01-03T00:00:00.000Z' } }),
  });

  it('regression-error-by-day: each day and version as regressionMetrics computes it', async () => {
    const records: PredictionRecord[] = Array.from({ length: 80 }, (_, i) => {
      const actual = Math.round(next() * 1000) / 10;
      return generated(`g${i}`, 'toy-reg', i % 5 === 0 ? undefined : String(actual), {
        modelVersion: i % 2 === 0 ? '1' : '2',
        createdAt: days[i % 4 < 2 ? 0 : 1],
        predictedValue: actual + (next() - 0.4) * 20,
      });
    });
    await withStore(records, REGRESSION_MANIFEST, async (db) => {
      const rows = normalize((await db.named('regression-error-by-day', undefined, SINCE)).rows);
      expect(rows).toHaveLength(4);
      for (const row of rows) {
        const group = records.filter((r) => r.modelVersion === row.version && r.createdAt.startsWith(String(row.day)));
        const m = regressionMetrics(
          group.flatMap((r) =>
            r.feedback === undefined ? [] : [{ predicted: r.predictedValue as number, actual: Number(r.feedback.label) }],
          ),
        );
        expect(row).toEqual({
          day: row.day,
          version: row.version,
          predictions: group.length,
          with_feedback: m?.count,
          n: m?.count,
          mae: expect.closeTo(m?.mae as number, 9),
          rmse: expect.closeTo(m?.rmse as number, 9),
          mean_error: expect.closeTo(m?.meanError as number, 9),
          r2: expect.closeTo(m?.r2 as number, 9),
        });
      }
    });
  });

  it('class-metrics and calibration: each version as classificationMetrics and reliabilityCurve compute them', async () => {
    const labels = ['no', 'yes', 'maybe'];
    const pick = () => labels[Math.floor(next() * 3)] as string;
    const records: PredictionRecord[] = Array.from({ length: 90 }, (_, i) => {
      // Unequal supports (about 50/35/15 %), so macro and weighted F1 differ.
      const u = next();
      const actual = u < 0.5 ? 'no' : u < 0.85 ? 'yes' : 'maybe';
      // Right about 60 % of the time, and "maybe" predicted more often than it occurs: the classes differ.
      const predicted = next() < 0.6 ? actual : next() < 0.5 ? 'maybe' : pick();
      return generated(`c${i}`, 'toy', i % 7 === 0 ? undefined : actual, {
        modelVersion: i % 3 === 0 ? '2' : '1',
        createdAt: days[i % 2],
        label: predicted,
        // Multiples of 1/64 from 0.25 to 1: exact in the store's float32 score column.
        probabilities: { [predicted]: (16 + Math.floor(next() * 49)) / 64 },
      });
    });
    await withStore(records, MANIFEST, async (db) => {
      const rows = normalize((await db.named('class-metrics', undefined, SINCE)).rows);
      const curves = normalize((await db.named('calibration', undefined, SINCE)).rows);
      for (const version of ['1', '2']) {
        const pairs = records
          .filter((r) => r.modelVersion === version && r.feedback !== undefined)
          .map((r) => ({ predicted: r.label as string, actual: r.feedback?.label as string }));
        const m = classificationMetrics(['no', 'yes'], pairs);
        // The SQL lists the labels present, sorted; the contract lists the model's first.
        const want = m.classes
          .filter((c) => c.f1 !== null)
          .sort((a, b) => a.label.localeCompare(b.label))
          .map((c) => ({
            version,
            label: c.label,
            support: c.support,
            predicted: c.predicted,
            true_positives: c.truePositives,
            precision: c.precision,
            recall: c.recall,
            f1: c.f1,
            macro_f1: m.macroF1,
            weighted_f1: m.weightedF1,
          }));
        expect(want).toHaveLength(3);
        expect(m.macroF1).not.toBeCloseTo(m.weightedF1 as number, 3);
        expectRows(
          rows.filter((r) => r.version === version),
          want,
        );
        // Calibration: the non-empty bins of the reliability curve of the predicted label's probability.
        const curve = reliabilityCurve(
          confidencePoints(
            records
              .filter((r) => r.modelVersion === version && r.feedback !== undefined)
              .map((r) => ({ predicted: r.label as string, actual: r.feedback?.label as string, probabilities: r.probabilities ?? {} })),
          ),
        );
        const bins = curve.bins.flatMap((b, bin) =>
          b.count === 0
            ? []
            : [
                {
                  version,
                  bin,
                  lower: b.lower,
                  upper: b.upper,
                  n: b.count,
                  mean_confidence: b.meanProbability,
                  accuracy: b.observedRate,
                  ece: curve.ece,
                },
              ],
        );
        expect(bins.length).toBeGreaterThan(4);
        expectRows(
          curves.filter((r) => r.version === version),
          bins,
        );
      }
    });
  });
  it("roc-auc: each version's ROC AUC as GET /metrics/summary computes it from the log", async () => {
    const records: PredictionRecord[] = Array.from({ length: 160 }, (_, i) => {
      // P(yes) in multiples of 1/64 (exact in float32, and so is 1 − it): many ties, which count one half.
      const pYes = Math.floor(next() * 65) / 64;
      const predicted = pYes >= 0.5 ? 'yes' : 'no';
      // True about as often as the model says, and now and then a label the model does not know (a negative).
      const u = next();
      const actual = i % 23 === 0 ? 'maybe' : u < pYes ? 'yes' : 'no';
      return generated(`r${i}`, 'toy', i % 9 === 0 ? undefined : actual, {
        modelVersion: i % 3 === 0 ? '2' : '1',
        createdAt: days[i % 2],
        label: predicted,
        probabilities: { no: 1 - pYes, yes: pYes },
      });
    });
    await withStore(records, MANIFEST, async (db) => {
      const rows = normalize((await db.named('roc-auc', undefined, SINCE)).rows);
      expect(rows.map((r) => r.version)).toEqual(['1', '2']);
      for (const row of rows) {
        const own = records.filter((r) => r.modelVersion === row.version);
        const fedBack = own.filter((r) => r.feedback !== undefined);
        const auc = versionSummary(String(row.version), own, MANIFEST).classification?.rocAuc;
        expect(auc).toBeGreaterThan(0.6);
        expect(row).toEqual({
          version: row.version,
          positive_label: 'yes',
          positives: fedBack.filter((r) => r.feedback?.label === 'yes').length,
          negatives: fedBack.filter((r) => r.feedback?.label !== 'yes').length,
          roc_auc: expect.closeTo(auc as number, 12),
        });
      }
      // A long window's summary has it from the query it already runs for the confusion matrix.
      const sql = versionQualitySql(MANIFEST);
      const cells = (await db.query(sql, new Array<string>(parameterCount(sql)).fill(SINCE))).rows as AnalyticsRow[];
      const summaries = analyticsVersions(cells, MANIFEST);
      expect(summaries.map((v) => v.modelVersion)).toEqual(['1', '2']);
      for (const v of summaries) {
        const own = records.filter((r) => r.modelVersion === v.modelVersion);
        const fromLog = versionSummary(v.modelVersion, own, MANIFEST).classification;
        expect(v.classification?.rocAuc).toBeCloseTo(fromLog?.rocAuc as number, 12);
        expect(v.classification?.confusion).toEqual(fromLog?.confusion);
        expect(v).toMatchObject({ count: own.length, feedbackCount: own.filter((r) => r.feedback !== undefined).length });
      }
    });
  });
});
