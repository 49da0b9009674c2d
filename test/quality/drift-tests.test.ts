/** KS and chi-square drift tests against a baseline, the minimum sample, and the drifted share, all worked by hand. */
import { parseBaseline } from '../../contract/baseline';
import {
  chiSquareHomogeneity,
  chiSquareTest,
  driftedShare,
  featureDriftTest,
  featureDriftTests,
  ksTest,
  predictedValueDriftTest,
  predictionDriftTest,
} from '../../contract/metrics/drift-tests';

// Four bins around 1, 2, 3 with a quarter of 400 training rows each: training CDF 0.25, 0.5, 0.75 at the edges.
const UNIFORM = { edges: [1, 2, 3], proportions: [0.25, 0.25, 0.25, 0.25] };
const ROWS = 400;
/** `counts[i]` values inside bin i (0.5, 1.5, 2.5, 3.5). */
const sample = (counts: number[]) => counts.flatMap((c, i) => new Array<number>(c).fill(i + 0.5));

describe('KS test against a binned baseline', () => {
  test('the hand-worked case: D = 0.15 at the first edge, p from the Kolmogorov tail at the effective sample size', () => {
    // Live bins 40/20/20/20 of 100: CDF 0.40, 0.60, 0.80 against 0.25, 0.50, 0.75 → D = max(0.15, 0.10, 0.05) = 0.15.
    // nₑ = 100·400 / 500 = 80; λ = (√80 + 0.12 + 0.11/√80)·0.15 = (8.944272 + 0.12 + 0.012298)·0.15 = 1.3614855.
    // P(K > 1.3614855) = 0.0490874 (just under the 0.05 critical value 1.3581): drifted.
    const r = ksTest(UNIFORM, ROWS, sample([40, 20, 20, 20]));
    expect(r).toEqual({
      status: 'tested',
      test: 'ks',
      statistic: expect.closeTo(0.15, 12),
      pValue: expect.closeTo(0.04908737672278438, 9),
      n: 100,
      effectiveN: 80,
      drifted: true,
    });
  });

  test('a sample shaped like the baseline has D = 0 and p = 1', () => {
    expect(ksTest(UNIFORM, ROWS, sample([25, 25, 25, 25]))).toMatchObject({ statistic: 0, pValue: 1, drifted: false });
  });

  test('missing and non-finite values are left out of n', () => {
    const values: unknown[] = [...sample([25, 25, 25, 25]), null, Number.NaN, undefined, Number.POSITIVE_INFINITY];
    expect(ksTest(UNIFORM, ROWS, values)).toMatchObject({ n: 100, statistic: 0 });
  });

  test('below the minimum sample the answer is insufficient data, not a number', () => {
    expect(ksTest(UNIFORM, ROWS, sample([99, 0, 0, 0]))).toEqual({ status: 'insufficient-data', n: 99, minimum: 100 });
    expect(ksTest(UNIFORM, ROWS, [])).toEqual({ status: 'insufficient-data', n: 0, minimum: 100 });
    // A lower minimum (configuration) tests the same sample: everything in bin 0 is D = 0.75.
    expect(ksTest(UNIFORM, ROWS, sample([99, 0, 0, 0]), { minimumSample: 10 })).toMatchObject({ statistic: 0.75, drifted: true });
  });

  test('a stricter p-value threshold changes the verdict, not the p-value', () => {
    expect(ksTest(UNIFORM, ROWS, sample([40, 20, 20, 20]), { pValue: 0.01 })).toMatchObject({ drifted: false });
  });
});

describe('chi-square test of homogeneity', () => {
  test('a 2 × 2 table by hand', () => {
    // [[10, 20], [30, 40]]: N = 100, columns 40 and 60, rows 30 and 70 → expected [[12, 18], [28, 42]].
    // χ² = 4/12 + 4/18 + 4/28 + 4/42 = 0.793651, df = 1.
    const r = chiSquareHomogeneity([10, 20], [30, 40]);
    expect(r.df).toBe(1);
    expect(r.statistic).toBeCloseTo(4 / 12 + 4 / 18 + 4 / 28 + 4 / 42, 12);
  });

  test('an unseen category is pooled with the sparse cells instead of making χ² infinite', () => {
    // Training [60, 40, 0], live [55, 40, 5]: the third column's expected live count is 100·5/200 = 2.5 < 5,
    // and pooled alone it is still 2.5, so it joins the smallest other column: [60, 55] and [40, 45].
    // Expected 57.5 and 42.5 in each row: χ² = 2·6.25/57.5 + 2·6.25/42.5 = 0.511509, df = 1.
    const r = chiSquareHomogeneity([60, 40, 0], [55, 40, 5]);
    expect(r).toEqual({ statistic: expect.closeTo(2 * (6.25 / 57.5) + 2 * (6.25 / 42.5), 12), df: 1 });
    // Categories neither sample holds are no cells at all.
    expect(chiSquareHomogeneity([10, 0, 20], [30, 0, 40])).toEqual(chiSquareHomogeneity([10, 20], [30, 40]));
  });

  test('one cell left (or an empty sample) is no evidence of drift', () => {
    expect(chiSquareHomogeneity([100, 0], [50, 0])).toEqual({ statistic: 0, df: 0 });
    expect(chiSquareHomogeneity([100, 10], [0, 0])).toEqual({ statistic: 0, df: 0 });
    expect(chiSquareTest([1, 0], 100, [150, 0])).toMatchObject({ status: 'tested', df: 0, pValue: 1, drifted: false });
  });

  test('categorical feature against the baseline: df = 2 so p = e^(−χ²/2) exactly', () => {
    // Training red .5, blue .3, other .2 of 100 rows → [50, 30, 20]; live red 30, blue 30, green 40 → [30, 30, 40].
    // Columns 80, 60, 60; expected 40, 30, 30 in both rows: χ² = 2·(100/40 + 0 + 100/30) = 11.6667.
    // df = 2: p = e^(−5.8333) = 0.0029283.
    const feature = parseBaseline({
      rows: 100,
      bins: 2,
      features: [{ name: 'colour', kind: 'categorical', categories: ['red', 'blue'], proportions: [0.5, 0.3, 0.2] }],
    }).features[0];
    const values = [...new Array(30).fill('red'), ...new Array(30).fill('blue'), ...new Array(40).fill('green'), null, null];
    const r = featureDriftTest(feature, 100, values);
    expect(r).toEqual({
      status: 'tested',
      test: 'chi-square',
      statistic: expect.closeTo(35 / 3, 12),
      pValue: expect.closeTo(Math.exp(-35 / 6), 14),
      df: 2,
      n: 100,
      drifted: true,
    });
  });

  test('predicted classes against class priors: a 2 × 2 table, p checked against the χ²(1) tail', () => {
    // Priors 50/50 of 100 rows, 70 predicted yes and 30 no: [[50, 50], [30, 70]], columns 80 and 120, expected
    // 40 and 60 per row: χ² = 2·(100/40 + 100/60) = 8.3333. df = 1: p = 0.0038924 (χ²(1) critical values: 6.635 at
    // 0.01, 10.828 at 0.001, so 0.001 < p < 0.01).
    const predicted = [...new Array(70).fill('yes'), ...new Array(30).fill('no')];
    const r = predictionDriftTest({ no: 0.5, yes: 0.5 }, 100, predicted);
    expect(r).toMatchObject({ test: 'chi-square', statistic: expect.closeTo(25 / 3, 12), df: 1, n: 100, drifted: true });
    expect(r.status === 'tested' && r.pValue).toBeCloseTo(0.003892417122778637, 12);
    // The training mix exactly: χ² = 0, p = 1.
    expect(predictionDriftTest({ no: 0.5, yes: 0.5 }, 100, [...predicted.slice(20), ...new Array(20).fill('no')])).toMatchObject({
      statistic: 0,
      pValue: 1,
      drifted: false,
    });
  });

  test('a predicted label the priors lack is a category with no training share', () => {
    // Training [50, 50, 0]; live no 40, yes 40, maybe 20: every expected live count is >= 5 (maybe: 100·20/200 = 10).
    // Columns 90, 90, 20; expected 45, 45, 10 per row: χ² = 2·(25/45 + 25/45) + 100/10 + 100/10 = 22.2222, df = 2.
    const predicted = [...new Array(40).fill('no'), ...new Array(40).fill('yes'), ...new Array(20).fill('maybe')];
    expect(predictionDriftTest({ no: 0.5, yes: 0.5 }, 100, predicted)).toMatchObject({
      statistic: expect.closeTo(4 * (25 / 45) + 20, 12),
      df: 2,
    });
  });

  test('too few predictions answer insufficient data', () => {
    expect(predictionDriftTest({ no: 0.5, yes: 0.5 }, 100, ['yes', 'no'])).toEqual({ status: 'insufficient-data', n: 2, minimum: 100 });
  });
});

describe('share of drifted features', () => {
  test('counts only the features with a verdict and alerts at 30 %', () => {
    const drifted = ksTest(UNIFORM, ROWS, sample([40, 20, 20, 20]));
    const stable = ksTest(UNIFORM, ROWS, sample([25, 25, 25, 25]));
    const few = ksTest(UNIFORM, ROWS, sample([5, 0, 0, 0]));
    // 1 of 3 tested = 0.333 >= 0.3.
    expect(driftedShare([drifted, stable, stable, few])).toEqual({ status: 'tested', tested: 3, drifted: 1, share: 1 / 3, alert: true });
    // 1 of 4 = 0.25 < 0.3.
    expect(driftedShare([drifted, stable, stable, stable])).toMatchObject({ share: 0.25, alert: false });
    expect(driftedShare([drifted, stable, stable, stable], 0.25)).toMatchObject({ alert: true });
  });

  test('no feature with enough data is insufficient data, not 0 %', () => {
    const few = ksTest(UNIFORM, ROWS, sample([5, 0, 0, 0]));
    expect(driftedShare([few, few])).toEqual({ status: 'insufficient-data', n: 5, minimum: 100 });
    expect(driftedShare([])).toEqual({ status: 'insufficient-data', n: 0, minimum: 100 });
  });
});

describe('a window of rows against a whole baseline', () => {
  const baseline = parseBaseline({
    rows: ROWS,
    bins: 4,
    features: [
      { name: 'x', mean: 2, std: 1, min: 0, max: 4, ...UNIFORM },
      { name: 'colour', kind: 'categorical', categories: ['red', 'blue'], proportions: [0.5, 0.3, 0.2] },
    ],
    prediction: { mean: 2, std: 1, min: 0, max: 4, ...UNIFORM },
  });

  test('each feature is tested on its own column, in baseline order', () => {
    // x: the 40/20/20/20 sample of the KS case (drifted). colour: red 50, blue 30, green 20 of 100 — the
    // training mix (200/120/80 of 400) exactly, so χ² = 0 and p = 1.
    const xs = sample([40, 20, 20, 20]);
    const colours = [...new Array(50).fill('red'), ...new Array(30).fill('blue'), ...new Array(20).fill('green')];
    const tests = featureDriftTests(
      baseline,
      xs.map((x, i) => [x, colours[i]]),
    );
    expect(tests.map((t) => t.feature)).toEqual(['x', 'colour']);
    expect(tests[0].result).toEqual(ksTest(UNIFORM, ROWS, xs));
    expect(tests[1].result).toMatchObject({ test: 'chi-square', statistic: 0, pValue: 1, df: 2, drifted: false });
    expect(driftedShare(tests.map((t) => t.result))).toMatchObject({ tested: 2, drifted: 1, share: 0.5, alert: true });
  });

  test('a regressor’s predicted values against the baseline’s, when it has them', () => {
    expect(predictedValueDriftTest(baseline, sample([25, 25, 25, 25]))).toMatchObject({ test: 'ks', statistic: 0, pValue: 1 });
    expect(predictedValueDriftTest({ ...baseline, prediction: undefined }, sample([25, 25, 25, 25]))).toBeUndefined();
  });
});
