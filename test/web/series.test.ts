import { psi } from '../../contract/drift';
import type { PredictionRecord } from '../../contract/prediction-log';
import {
  bucketSeconds,
  categoryAxis,
  confusionView,
  decileBins,
  featureDrift,
  missingShares,
  percentile,
  predictedValueHistogram,
  reliabilitySeries,
  residualSeries,
  timeBuckets,
} from '../../web/src/series';

function rec(i: number, secondsAfter: number, latencyMs: number, label: string, input: unknown, feedback?: string): PredictionRecord {
  const timestamp = new Date(Date.UTC(2024, 4, 1, 12, 0, 0) + secondsAfter * 1000).toISOString();
  return {
    id: `id${i}`,
    model: 'm',
    modelVersion: '1',
    createdAt: timestamp,
    inputValues: input as number[],
    label,
    latencyMs,
    requestId: 'r',
    ...(feedback ? { feedback: { label: feedback, givenAt: timestamp } } : {}),
  };
}

describe('dashboard series', () => {
  test('nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
  });

  test('bucket width keeps at most ~60 points', () => {
    expect(bucketSeconds(0)).toBe(10);
    expect(bucketSeconds(3600)).toBe(60);
    expect(bucketSeconds(86400)).toBe(3600);
  });

  test('volume, latency and running accuracy per bucket, empty buckets kept', () => {
    // Buckets of 10 s: [0,10) holds two, [10,20) none, [20,30) one.
    const b = timeBuckets([rec(1, 0, 5, 'a', [1], 'a'), rec(2, 5, 15, 'b', [1], 'a'), rec(3, 25, 7, 'a', [1], 'a')]);
    expect(b.count).toEqual([2, 0, 1]);
    expect(b.p50).toEqual([5, null, 7]);
    expect(b.p99).toEqual([15, null, 7]);
    expect(b.accuracy).toEqual([0.5, 0.5, 2 / 3]);
    expect(b.t[1] - b.t[0]).toBe(10);
  });

  test('a lone bucket gets an empty one before it, so the time axis has a span', () => {
    const b = timeBuckets([rec(1, 0, 5, 'a', [1]), rec(2, 1, 6, 'a', [1])]);
    expect(b.count).toEqual([0, 2]);
    expect(b.p50).toEqual([null, 5]);
  });

  test('decile bins of a reference sample put 10% in each bin', () => {
    const values = Array.from({ length: 100 }, (_v, i) => i);
    const bins = decileBins(values);
    expect(bins.edges).toHaveLength(9);
    expect(bins.proportions.every((p) => Math.abs(p - 0.1) < 1e-12)).toBe(true);
    expect(psi(bins, values)).toBe(0);
  });

  test('drift against the baseline when given, else newer against older predictions', () => {
    const items = Array.from({ length: 40 }, (_v, i) => rec(i, i, 1, 'a', i < 20 ? [100 + i] : [i]));
    const self = featureDrift(items, ['x'], undefined);
    expect(self).toMatchObject({ reference: 'older-predictions', rows: 20, referenceRows: 20 });
    // The newest 20 (values 100..119) all sit past the older ones' last cut point.
    expect(self?.features[0].psi).toBeGreaterThan(3);
    const baseline = {
      rows: 10,
      bins: 2,
      features: [{ name: 'x', mean: 0, std: 1, min: 0, max: 200, edges: [50], proportions: [0.5, 0.5] }],
    };
    const vsBaseline = featureDrift(items, ['x'], baseline);
    expect(vsBaseline?.reference).toBe('baseline');
    expect(vsBaseline?.features[0].psi).toBeCloseTo(0, 12);
    expect(featureDrift(items.slice(0, 5), ['x'], undefined)).toBeUndefined();
  });

  test('each feature on its own present values: a row missing one feature still counts for the others', () => {
    // 15 rows; a is missing in 3 of them (6 left at or below its edge 50, 6 above), b is always 1.
    const items = Array.from({ length: 15 }, (_v, i) => rec(i, i, 1, 'a', [i % 5 === 4 ? null : i < 7 ? 10 : 90, 1]));
    const edge = { mean: 0, std: 1, min: 0, max: 100, edges: [50], proportions: [0.5, 0.5] };
    const baseline = {
      rows: 10,
      bins: 2,
      features: [
        { name: 'a', ...edge },
        { name: 'b', ...edge },
      ],
    };
    const d = featureDrift(items, ['a', 'b'], baseline);
    expect(d).toMatchObject({ reference: 'baseline', rows: 15 });
    expect(d?.features.map((f) => [f.name, f.n])).toEqual([
      ['a', 12],
      ['b', 15],
    ]);
    expect(d?.features[0]?.psi).toBeCloseTo(0, 12);
    expect(d?.features[1]?.psi).toBeCloseTo(psi(edge, new Array(15).fill(1)), 12);
    // A feature with fewer than 10 present values has no figure; the others keep theirs.
    const sparse = items.map((r, i) => ({ ...r, inputValues: [i < 9 ? 10 : null, 1] }));
    expect(featureDrift(sparse, ['a', 'b'], baseline)?.features.map((f) => f.name)).toEqual(['b']);
    // Newer against older predictions: each side needs 10 present values of the feature.
    const twice = [...items, ...items].map((r, i) => ({ ...r, id: `t${i}` }));
    expect(featureDrift(twice, ['a', 'b'], undefined)?.features.map((f) => [f.name, f.n, f.psi])).toEqual([
      ['a', 12, 0],
      ['b', 15, 0],
    ]);
  });
});

describe('regression series', () => {
  /** A regression prediction `secondsAfter` the start, with its true value (a number, or text as older items hold it). */
  const value = (i: number, secondsAfter: number, predictedValue: number, actual?: number | string): PredictionRecord => {
    const createdAt = new Date(Date.UTC(2024, 4, 1, 12, 0, 0) + secondsAfter * 1000).toISOString();
    return {
      id: `v${i}`,
      model: 'm',
      modelVersion: '1',
      createdAt,
      predictedValue,
      latencyMs: 1,
      requestId: 'r',
      ...(actual === undefined ? {} : { feedback: { label: actual, givenAt: createdAt } }),
    };
  };

  test('MAE and mean error per bucket of the fed-back predictions, null without any', () => {
    // Buckets of 10 s: [0,10) errors +2 and −4; [10,20) none fed back; [20,30) error +1 (text "9").
    const b = timeBuckets([value(1, 0, 10, 8), value(2, 5, 10, 14), value(3, 12, 5), value(4, 25, 10, '9')]);
    expect(b.mae).toEqual([3, null, 1]);
    expect(b.meanError).toEqual([-1, null, 1]);
    expect(b.accuracy).toEqual([null, null, null]);
  });

  test('residuals against predicted, in predicted order', () => {
    expect(residualSeries([value(1, 0, 30, 20), value(2, 1, 10, 12), value(3, 2, 20)])).toEqual({
      predicted: [10, 30],
      residual: [-2, 10],
    });
  });

  test("predicted values over the baseline's bins beside the training shares", () => {
    const baseline = {
      rows: 10,
      bins: 3,
      features: [],
      prediction: { mean: 0, std: 1, min: 0, max: 100, edges: [10, 20], proportions: [0.2, 0.5, 0.3] },
    };
    // 5 and 10 fall in (−∞, 10], 15 in (10, 20], 25 in (20, ∞): a bin holds lower < v <= upper.
    const h = predictedValueHistogram([value(1, 0, 5), value(2, 0, 10), value(3, 0, 15), value(4, 0, 25)], baseline);
    expect(h?.labels).toEqual(['≤ 10', '10–20', '> 20']);
    expect(h?.bins.map((x) => [x.count, x.share, x.baselineShare])).toEqual([
      [2, 0.5, 0.2],
      [1, 0.25, 0.5],
      [1, 0.25, 0.3],
    ]);
    expect(predictedValueHistogram([value(1, 0, 5)], { ...baseline, prediction: undefined })).toBeUndefined();
  });
});

describe('category axis labels', () => {
  test('level when each label fits its bar', () => {
    expect(categoryAxis(['malignant', 'benign'], 1200)).toEqual({ labels: ['malignant', 'benign'], rotate: 0, size: 40 });
  });
  test('at an angle, cut to 14 characters, when the bars are narrow', () => {
    const names = ['worst concave points', 'mean radius', 'px12', 'px3', 'px40', 'px41', 'px42', 'px43', 'px44', 'px45'];
    const axis = categoryAxis(names, 300);
    expect(axis.rotate).toBe(-45);
    expect(axis.labels[0]).toBe('worst concave…');
    expect(axis.labels).toHaveLength(10);
    expect(axis.size).toBeGreaterThan(40);
  });
  test('every n-th label when even angled labels would touch', () => {
    const axis = categoryAxis(
      Array.from({ length: 64 }, (_v, i) => `px${i}`),
      300,
    );
    expect(axis.labels.filter((l) => l !== '').length).toBeLessThan(64);
    expect(axis.labels[0]).toBe('px0');
  });
  test('angled labels shown stand at least a line (14 px) apart across their slant, as on a 390 px screen', () => {
    // 30 features over the ~280 px a phone leaves the plot
    const axis = categoryAxis(
      Array.from({ length: 30 }, (_v, i) => `mean feature ${i}`),
      280,
    );
    const shown = axis.labels.flatMap((l, i) => (l === '' ? [] : [i]));
    const gapPx = ((shown[1] as number) - (shown[0] as number)) * (280 / 30);
    expect(gapPx * Math.SQRT1_2).toBeGreaterThanOrEqual(14);
  });
});

describe('missing values per feature', () => {
  it('counts nulls per feature over the inline tabular inputs, most missing first', () => {
    // 4 comparable rows: a is missing in 1 (1/4), c in 3 (3/4), b never; the image row and the row of the
    // wrong width are not counted.
    const items = [
      rec(0, 0, 1, 'x', [null, 1, null]),
      rec(1, 1, 1, 'x', [2, 1, null]),
      rec(2, 2, 1, 'x', [3, 1, null]),
      rec(3, 3, 1, 'x', [4, 1, 5]),
      rec(4, 4, 1, 'x', { b64: 'iVBORw==' }),
      rec(5, 5, 1, 'x', [null, null]),
    ];
    expect(missingShares(items, ['a', 'b', 'c'])).toEqual({
      rows: 4,
      features: [
        { name: 'c', share: 0.75 },
        { name: 'a', share: 0.25 },
      ],
    });
  });

  it('answers nothing without inline tabular inputs, and no features when none is missing', () => {
    expect(missingShares([rec(0, 0, 1, 'x', { b64: 'x' })], ['a'])).toBeUndefined();
    expect(missingShares([rec(0, 0, 1, 'x', [1, 2])], ['a', 'b'])).toEqual({ rows: 1, features: [] });
  });
});

describe('classifier quality views', () => {
  const confusion = {
    labels: ['a', 'b', 'c', 'd'],
    // rows true a..d, columns predicted a..d; d never occurs nor is predicted
    counts: [
      [5, 1, 0, 0],
      [2, 3, 0, 0],
      [0, 1, 1, 0],
      [0, 0, 0, 0],
    ],
  };

  it('a confusion matrix without the labels no fed-back prediction had, rows totalled', () => {
    expect(confusionView(confusion)).toEqual({
      labels: ['a', 'b', 'c'],
      counts: [
        [5, 1, 0],
        [2, 3, 0],
        [0, 1, 1],
      ],
      rowTotals: [6, 5, 2],
      hidden: 0,
    });
  });

  it('beyond the maximum, the labels with the most true plus predicted counts, in the model order', () => {
    // Weights: a 6 + 7 = 13, b 5 + 5 = 10, c 2 + 1 = 3. Keeping two: a and b; c is left out but its row total is whole.
    expect(confusionView(confusion, 2)).toEqual({
      labels: ['a', 'b'],
      counts: [
        [5, 1],
        [2, 3],
      ],
      rowTotals: [6, 5],
      hidden: 1,
    });
  });

  it('reliability curves at the bin centres for the versions that have one', () => {
    const bin = (lower: number, count: number, observedRate: number | null) => ({
      lower,
      upper: lower + 0.5,
      count,
      meanProbability: count === 0 ? null : lower + 0.25,
      observedRate,
    });
    const classification = (calibration?: ReturnType<typeof bin>[]) => ({
      count: 1,
      accuracy: 1,
      classes: [],
      macroF1: null,
      weightedF1: null,
      confusion: { labels: [], counts: [] },
      rocAuc: null,
      ece: null,
      ...(calibration === undefined ? {} : { calibration }),
    });
    const r = reliabilitySeries([
      { modelVersion: '1', classification: classification([bin(0, 0, null), bin(0.5, 4, 0.75)]) },
      { modelVersion: '2', classification: classification() },
      { modelVersion: '3' },
      { modelVersion: '4', classification: classification([bin(0, 2, 0.5), bin(0.5, 2, 1)]) },
    ]);
    expect(r).toEqual({
      x: [0.25, 0.75],
      perfect: [0.25, 0.75],
      versions: [
        { modelVersion: '1', observed: [null, 0.75], count: 4 },
        { modelVersion: '4', observed: [0.5, 1], count: 4 },
      ],
    });
    expect(reliabilitySeries([{ modelVersion: '2', classification: classification() }])).toBeUndefined();
  });
});
