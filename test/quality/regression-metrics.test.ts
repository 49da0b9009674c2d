/** Regression metrics on small fixtures worked out by hand. */
import { predictionHistogram, regressionMetrics, residuals } from '../../contract/metrics/regression';

// Predicted 3, 5, 7, 1 against actual 2, 6, 7, 3: errors (predicted − actual) +1, −1, 0, −2.
const PAIRS = [
  { predicted: 3, actual: 2 },
  { predicted: 5, actual: 6 },
  { predicted: 7, actual: 7 },
  { predicted: 1, actual: 3 },
];

describe('regression metrics', () => {
  test('MAE, RMSE, mean error and R² by hand', () => {
    // MAE = (1 + 1 + 0 + 2)/4 = 1. RMSE = √((1 + 1 + 0 + 4)/4) = √1.5. Mean error = (1 − 1 + 0 − 2)/4 = −0.5 (under-predicts).
    // Mean actual 4.5: Σ(actual − 4.5)² = 6.25 + 2.25 + 6.25 + 2.25 = 17; R² = 1 − 6/17 = 11/17.
    expect(regressionMetrics(PAIRS)).toEqual({
      count: 4,
      mae: 1,
      rmse: expect.closeTo(Math.sqrt(1.5), 15),
      meanError: -0.5,
      r2: expect.closeTo(11 / 17, 15),
    });
  });

  test('the sign: predicting too high is a positive mean error', () => {
    expect(regressionMetrics([{ predicted: 12, actual: 10 }])?.meanError).toBe(2);
  });

  test('constant predictions keep R² defined: 0 at the mean, negative elsewhere', () => {
    // Predicting 4.5 everywhere: Σ(error)² = Σ(actual − mean)² → R² = 0.
    expect(regressionMetrics(PAIRS.map((p) => ({ ...p, predicted: 4.5 })))?.r2).toBeCloseTo(0, 15);
    // Predicting 5: errors 3, −1, −2, 2 → Σ = 18, R² = 1 − 18/17 = −1/17.
    expect(regressionMetrics(PAIRS.map((p) => ({ ...p, predicted: 5 })))?.r2).toBeCloseTo(-1 / 17, 15);
  });

  test('constant actual values make R² null (0/0), even where their float mean is off by an ulp', () => {
    // 0.1 three times: the mean (0.1 + 0.1 + 0.1)/3 = 0.10000000000000002, not 0.1, so Σ(actual − mean)² would be tiny, not 0.
    const r = regressionMetrics([
      { predicted: 1, actual: 0.1 },
      { predicted: 2, actual: 0.1 },
      { predicted: 0.1, actual: 0.1 },
    ]);
    expect(r?.r2).toBeNull();
    expect(r?.mae).toBeCloseTo((0.9 + 1.9 + 0) / 3, 15);
    expect(regressionMetrics([{ predicted: 1, actual: 1 }])).toEqual({ count: 1, mae: 0, rmse: 0, meanError: 0, r2: null });
  });

  test('no pairs give no metrics; a non-finite pair is refused', () => {
    expect(regressionMetrics([])).toBeUndefined();
    expect(() => regressionMetrics([{ predicted: Number.NaN, actual: 1 }])).toThrow(/finite/);
  });

  test('residuals carry the same sign as the mean error', () => {
    expect(residuals(PAIRS)).toEqual([
      { predicted: 3, residual: 1 },
      { predicted: 5, residual: -1 },
      { predicted: 7, residual: 0 },
      { predicted: 1, residual: -2 },
    ]);
  });
});

describe('predicted-value histogram over the baseline bins', () => {
  // Bins (−∞, 1], (1, 2], (2, ∞) with training shares 0.25, 0.5, 0.25.
  const baseline = { edges: [1, 2], proportions: [0.25, 0.5, 0.25] };

  test('counts each value where training counted it (edges belong to the lower bin)', () => {
    // 0.5 and 1 → bin 0; 1.5 → bin 1; 3 → bin 2; NaN left out.
    expect(predictionHistogram(baseline, [0.5, 1, 1.5, 3, Number.NaN])).toEqual({
      bins: [
        { lower: null, upper: 1, baselineShare: 0.25, count: 2, share: 0.5 },
        { lower: 1, upper: 2, baselineShare: 0.5, count: 1, share: 0.25 },
        { lower: 2, upper: null, baselineShare: 0.25, count: 1, share: 0.25 },
      ],
      n: 4,
      nonFinite: 1,
    });
  });

  test('no values: zero counts and shares beside the training shares', () => {
    expect(predictionHistogram(baseline, []).bins.map((b) => [b.count, b.share, b.baselineShare])).toEqual([
      [0, 0, 0.25],
      [0, 0, 0.5],
      [0, 0, 0.25],
    ]);
  });
});
