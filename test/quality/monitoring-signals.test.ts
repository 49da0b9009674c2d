/** Missing-value rates, label delay, the default thresholds with their overrides, and the alerts they drive. */
import { PSI_SIGNIFICANT } from '../../contract/drift';
import { qualityAlerts } from '../../contract/metrics/alerts';
import { labelDelayStats, labelDelays } from '../../contract/metrics/label-delay';
import { isMissing, missingRates } from '../../contract/metrics/missing-values';
import { nearestRank } from '../../contract/metrics/percentile';
import { DEFAULT_QUALITY_THRESHOLDS, qualityThresholds } from '../../contract/metrics/thresholds';

describe('missing values', () => {
  test('null, undefined and NaN are missing; an empty string and 0 are values', () => {
    expect([null, undefined, Number.NaN, '', 0, false].map(isMissing)).toEqual([true, true, true, false, false, false]);
  });

  test('rate per feature by hand', () => {
    // x: one NaN of 4; y: two nulls of 4; z: none ('' is a category).
    const rows = [
      [1, null, 'a'],
      [Number.NaN, null, 'b'],
      [3, 4, 'c'],
      [4, 5, ''],
    ];
    expect(missingRates(['x', 'y', 'z'], rows)).toEqual([
      { feature: 'x', n: 4, missing: 1, rate: 0.25 },
      { feature: 'y', n: 4, missing: 2, rate: 0.5 },
      { feature: 'z', n: 4, missing: 0, rate: 0 },
    ]);
    expect(missingRates(['x'], [])).toEqual([{ feature: 'x', n: 0, missing: 0, rate: null }]);
  });
});

describe('label delay', () => {
  const at = (h: number) => new Date(Date.UTC(2026, 0, 1, 10) + h * 3_600_000).toISOString();
  const HOUR = 3_600_000;

  test('from prediction to the first feedback, p50/p90 by nearest rank', () => {
    const records = [
      { createdAt: at(0), feedback: { givenAt: at(1) } },
      { createdAt: at(0), feedback: { givenAt: at(2) } },
      { createdAt: at(0), feedback: { givenAt: at(10) } },
      // Corrected at +5 h; ground truth first arrived at +0.5 h.
      { createdAt: at(0), feedback: { givenAt: at(5) }, feedbackHistory: [{ givenAt: at(0.5) }] },
      { createdAt: at(0) },
    ];
    const delays = labelDelays(records);
    expect(delays).toEqual([1, 2, 10, 0.5].map((h) => h * HOUR));
    // Sorted 0.5, 1, 2, 10 h: p50 is rank ⌈0.5·4⌉ = 2 → 1 h; p90 rank ⌈0.9·4⌉ = 4 → 10 h.
    expect(labelDelayStats(delays)).toEqual({ count: 4, p50Ms: HOUR, p90Ms: 10 * HOUR, maxMs: 10 * HOUR });
  });

  test('no feedback: a count of 0 and no figures', () => {
    expect(labelDelayStats([])).toEqual({ count: 0, p50Ms: null, p90Ms: null, maxMs: null });
    expect(() => labelDelays([{ createdAt: 'yesterday', feedback: { givenAt: at(1) } }])).toThrow(/ISO/);
  });

  test('nearest rank: the smallest value with at least p % at or below it', () => {
    expect([1, 50, 51, 100].map((p) => nearestRank([10, 20], p))).toEqual([10, 10, 20, 20]);
    expect(() => nearestRank([1], 0)).toThrow(/\(0, 100\]/);
  });
});

describe('thresholds', () => {
  test('the defaults, PSI shared with the drift module', () => {
    expect(DEFAULT_QUALITY_THRESHOLDS).toEqual({
      accuracyDrop: 0.05,
      macroF1Drop: 0.05,
      maeRatio: 1.25,
      driftedFeatureShare: 0.3,
      driftPValue: 0.05,
      psi: 0.25,
      minimumSample: 100,
      calibrationBins: 10,
    });
    expect(DEFAULT_QUALITY_THRESHOLDS.psi).toBe(PSI_SIGNIFICANT);
    expect(Object.isFrozen(DEFAULT_QUALITY_THRESHOLDS)).toBe(true);
  });

  test('overrides replace single values', () => {
    expect(qualityThresholds({ driftedFeatureShare: 0.5, minimumSample: 30, psi: undefined })).toEqual({
      ...DEFAULT_QUALITY_THRESHOLDS,
      driftedFeatureShare: 0.5,
      minimumSample: 30,
    });
  });

  test('every bad value is named in one error', () => {
    expect(() => qualityThresholds({ accuracyDrop: 5, maeRatio: 0.9, minimumSample: 2.5, colour: 1 })).toThrow(
      /accuracyDrop must be between 0 and 1[\s\S]*maeRatio must be greater than 1[\s\S]*minimumSample must be a whole number[\s\S]*unknown threshold "colour"/,
    );
  });
});

describe('quality alerts against the held-out metrics', () => {
  const reference = { rows: 200, accuracy: 0.9, macroF1: 0.82, mae: 1 };

  test('accuracy and F1 alert below reference − drop, MAE above reference × ratio, drift at or above the share', () => {
    // Accuracy limit 0.9 − 0.05 = 0.85: 0.84 breaches. Macro F1 limit 0.82 − 0.05 = 0.77: 0.8 is fine.
    // MAE limit 1 × 1.25: 1.3 breaches. Drifted share 1/3 >= 0.3 breaches.
    const checks = qualityAlerts(
      {
        feedbackCount: 150,
        accuracy: 0.84,
        macroF1: 0.8,
        mae: 1.3,
        driftedShare: { status: 'tested', tested: 3, drifted: 1, share: 1 / 3, alert: true },
      },
      reference,
    );
    expect(checks).toEqual([
      { metric: 'accuracy', status: 'breached', value: 0.84, limit: expect.closeTo(0.85, 12) },
      { metric: 'macroF1', status: 'ok', value: 0.8, limit: expect.closeTo(0.77, 12) },
      { metric: 'mae', status: 'breached', value: 1.3, limit: 1.25 },
      { metric: 'driftedFeatureShare', status: 'breached', value: 1 / 3, limit: 0.3 },
    ]);
    expect(qualityAlerts({ feedbackCount: 150, accuracy: 0.86, mae: 1.25 }, reference).map((c) => c.status)).toEqual(['ok', 'ok']);
  });

  test('too little feedback, no feedback at all, or no held-out figure: no verdict', () => {
    expect(qualityAlerts({ feedbackCount: 99, accuracy: 0.1 }, reference)).toEqual([
      { metric: 'accuracy', status: 'insufficient-data', n: 99, minimum: 100 },
    ]);
    expect(qualityAlerts({ feedbackCount: 0, mae: null }, reference)).toEqual([
      { metric: 'mae', status: 'insufficient-data', n: 0, minimum: 100 },
    ]);
    expect(qualityAlerts({ feedbackCount: 500, accuracy: 0.5 }, undefined)).toEqual([{ metric: 'accuracy', status: 'no-reference' }]);
    expect(qualityAlerts({ feedbackCount: 0, driftedShare: { status: 'insufficient-data', n: 12, minimum: 100 } }, reference)).toEqual([
      { metric: 'driftedFeatureShare', status: 'insufficient-data', n: 12, minimum: 100 },
    ]);
  });

  test('overridden thresholds move the limits', () => {
    const thresholds = qualityThresholds({ accuracyDrop: 0.1, minimumSample: 10 });
    expect(qualityAlerts({ feedbackCount: 20, accuracy: 0.84 }, reference, thresholds)).toEqual([
      { metric: 'accuracy', status: 'ok', value: 0.84, limit: expect.closeTo(0.8, 12) },
    ]);
  });
});
