/** Classifier metrics, ROC AUC and calibration on small fixtures worked out by hand. */
import { confidencePoints, labelPoints, reliabilityCurve } from '../../contract/metrics/calibration';
import { accuracyOf, classificationMetrics, confusionMatrix } from '../../contract/metrics/classification';
import { classifierAuc, type ProbabilityRow, rocAuc } from '../../contract/metrics/roc-auc';

const pairs = (predicted: string, actual: string, times: number) => new Array(times).fill({ predicted, actual });

describe('confusion matrix and per-class metrics', () => {
  // 12 fed-back predictions of a binary model: actual no → predicted no 6, yes 1; actual yes → no 2, yes 3.
  const PAIRS = [...pairs('no', 'no', 6), ...pairs('yes', 'no', 1), ...pairs('no', 'yes', 2), ...pairs('yes', 'yes', 3)];

  test('a 2 × 2 matrix by hand: rows actual, columns predicted, labels in manifest order', () => {
    expect(confusionMatrix(['no', 'yes'], PAIRS)).toEqual({
      labels: ['no', 'yes'],
      counts: [
        [6, 1],
        [2, 3],
      ],
      total: 12,
    });
  });

  test('precision, recall, F1, support and the averages', () => {
    // no:  TP 6, predicted 6 + 2 = 8, support 6 + 1 = 7 → P 6/8, R 6/7, F1 = 2·6/(7 + 8) = 4/5.
    // yes: TP 3, predicted 1 + 3 = 4, support 2 + 3 = 5 → P 3/4, R 3/5, F1 = 2·3/(5 + 4) = 2/3.
    // Accuracy (6 + 3)/12 = 3/4. Macro F1 (4/5 + 2/3)/2 = 11/15. Weighted (7·4/5 + 5·2/3)/12 = 67/90.
    const m = classificationMetrics(['no', 'yes'], PAIRS);
    expect(m.classes).toEqual([
      { label: 'no', support: 7, predicted: 8, truePositives: 6, precision: 6 / 8, recall: 6 / 7, f1: 4 / 5 },
      { label: 'yes', support: 5, predicted: 4, truePositives: 3, precision: 3 / 4, recall: 3 / 5, f1: expect.closeTo(2 / 3, 15) },
    ]);
    expect(m.accuracy).toBe(0.75);
    expect(m.macroF1).toBeCloseTo(11 / 15, 15);
    expect(m.weightedF1).toBeCloseTo(67 / 90, 15);
    expect(m.count).toBe(12);
    expect(accuracyOf(PAIRS)).toBe(0.75);
  });

  test('an actual label the model does not know gets a row of its own after the manifest labels', () => {
    // Manifest a, b; fed back: a→a, c (unknown) predicted a, z (unknown) predicted b. Unseen labels sorted: c, z.
    const m = classificationMetrics(
      ['b', 'a'],
      [
        { predicted: 'a', actual: 'a' },
        { predicted: 'a', actual: 'c' },
        { predicted: 'b', actual: 'z' },
      ],
    );
    expect(m.confusion.labels).toEqual(['b', 'a', 'c', 'z']);
    expect(m.confusion.counts).toEqual([
      [0, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 1, 0, 0],
      [1, 0, 0, 0],
    ]);
    // b: predicted once, never actual → P 0, R null, F1 0. a: TP 1 of 2 predicted, support 1 → F1 2/3.
    // c and z: support 1, never predicted → P null, R 0, F1 0. Macro over the four: (0 + 2/3 + 0 + 0)/4 = 1/6.
    expect(m.classes.map((c) => [c.label, c.precision, c.recall, c.f1])).toEqual([
      ['b', 0, null, 0],
      ['a', 0.5, 1, 2 / 3],
      ['c', null, 0, 0],
      ['z', null, 0, 0],
    ]);
    expect(m.macroF1).toBeCloseTo(1 / 6, 15);
    // Weighted by support (b 0, a 1, c 1, z 1): (2/3)/3 = 2/9.
    expect(m.weightedF1).toBeCloseTo(2 / 9, 15);
  });

  test('one class only: perfect on it, the absent class left out of the macro average', () => {
    const m = classificationMetrics(['no', 'yes'], pairs('yes', 'yes', 3));
    expect(m.classes[0]).toMatchObject({ label: 'no', support: 0, predicted: 0, precision: null, recall: null, f1: null });
    expect(m.macroF1).toBe(1);
    expect(m.weightedF1).toBe(1);
  });

  test('no feedback: an all-zero matrix and no metrics, not 0 or 1', () => {
    const m = classificationMetrics(['no', 'yes'], []);
    expect(m.confusion.counts).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect([m.accuracy, m.macroF1, m.weightedF1, accuracyOf([])]).toEqual([null, null, null, null]);
  });
});

describe('ROC AUC', () => {
  test('from counted pairs, a tie counting one half', () => {
    // Positives 0.9, 0.8, 0.4; negatives 0.7, 0.4, 0.2. Pairs won by the positive: 0.9 → 3, 0.8 → 3, 0.4 → 1 (0.2)
    // plus ½ (the tie with 0.4) = 7.5 of 3·3 = 9 → 5/6. Ranks: 0.2 → 1, the 0.4s → 2.5, 0.7 → 4, 0.8 → 5, 0.9 → 6;
    // R₊ = 2.5 + 5 + 6 = 13.5, U = 13.5 − 3·4/2 = 7.5.
    const points = [
      { score: 0.9, positive: true },
      { score: 0.7, positive: false },
      { score: 0.4, positive: true },
      { score: 0.8, positive: true },
      { score: 0.4, positive: false },
      { score: 0.2, positive: false },
    ];
    expect(rocAuc(points)).toBeCloseTo(5 / 6, 15);
  });

  test('every score tied is 0.5; perfect and inverted rankings are 1 and 0', () => {
    expect(rocAuc([0, 1, 0, 1].map((p) => ({ score: 0.3, positive: p === 1 })))).toBe(0.5);
    expect(
      rocAuc([
        { score: 0.1, positive: false },
        { score: 0.9, positive: true },
      ]),
    ).toBe(1);
    expect(
      rocAuc([
        { score: 0.9, positive: false },
        { score: 0.1, positive: true },
      ]),
    ).toBe(0);
  });

  test('one class only, or nothing: null', () => {
    expect(rocAuc([{ score: 0.5, positive: true }])).toBeNull();
    expect(rocAuc([])).toBeNull();
    expect(() => rocAuc([{ score: Number.NaN, positive: true }])).toThrow(/finite/);
  });

  test('binary: the second label is the positive class; rows without probabilities are left out', () => {
    const rows: ProbabilityRow[] = [
      { actual: 'yes', probabilities: { no: 0.2, yes: 0.8 } },
      { actual: 'no', probabilities: { no: 0.6, yes: 0.4 } },
      { actual: 'yes', probabilities: { no: 0.7, yes: 0.3 } },
      { actual: 'no', probabilities: {} },
    ];
    // Positives 0.8, 0.3 against the negative 0.4: 1 of 2 pairs → 0.5.
    expect(classifierAuc(['no', 'yes'], rows)).toEqual({ kind: 'binary', positive: 'yes', auc: 0.5, count: 3 });
  });

  test('one-vs-rest: per class by hand and their macro mean; a class that never occurs has none', () => {
    const rows = [
      { actual: 'a', probabilities: { a: 0.7, b: 0.2, c: 0.1 } },
      { actual: 'b', probabilities: { a: 0.2, b: 0.5, c: 0.3 } },
      { actual: 'c', probabilities: { a: 0.1, b: 0.3, c: 0.6 } },
      { actual: 'a', probabilities: { a: 0.3, b: 0.6, c: 0.1 } },
    ];
    // a: positives 0.7, 0.3 above negatives 0.2, 0.1 → 4/4. b: positive 0.5 above 0.2 and 0.3, below 0.6 → 2/3.
    // c: positive 0.6 above 0.1, 0.3, 0.1 → 1. d never occurs → null. Macro (1 + 2/3 + 1)/3 = 8/9.
    const r = classifierAuc(
      ['a', 'b', 'c', 'd'],
      rows.map((r) => ({ ...r, probabilities: { ...r.probabilities, d: 0 } })),
    );
    expect(r).toEqual({
      kind: 'one-vs-rest',
      perClass: [
        { label: 'a', auc: 1 },
        { label: 'b', auc: expect.closeTo(2 / 3, 15) },
        { label: 'c', auc: 1 },
        { label: 'd', auc: null },
      ],
      macro: expect.closeTo(8 / 9, 15),
      count: 4,
    });
  });
});

describe('reliability curve and expected calibration error', () => {
  test('two bins by hand', () => {
    // Bins [0, 0.5) and [0.5, 1]. Bin 0: 0.2 (miss), 0.4 (hit) → mean p 0.3, rate 0.5, gap 0.2.
    // Bin 1: 0.6, 0.8 (hits), 1.0 (miss) → mean p 0.8, rate 2/3, gap 2/15.
    // ECE = 2/5 · 0.2 + 3/5 · 2/15 = 0.08 + 0.08 = 0.16.
    const curve = reliabilityCurve(
      [
        { probability: 0.2, outcome: false },
        { probability: 0.4, outcome: true },
        { probability: 0.6, outcome: true },
        { probability: 0.8, outcome: true },
        { probability: 1, outcome: false },
      ],
      2,
    );
    expect(curve.bins).toEqual([
      { lower: 0, upper: 0.5, count: 2, meanProbability: expect.closeTo(0.3, 15), observedRate: 0.5 },
      { lower: 0.5, upper: 1, count: 3, meanProbability: expect.closeTo(0.8, 15), observedRate: 2 / 3 },
    ]);
    expect(curve.ece).toBeCloseTo(0.16, 15);
    expect(curve.count).toBe(5);
  });

  test('ten bins by default; empty bins and an empty sample have no rates', () => {
    const curve = reliabilityCurve([{ probability: 0.05, outcome: false }]);
    expect(curve.bins).toHaveLength(10);
    expect(curve.bins[0]).toMatchObject({ count: 1, meanProbability: 0.05, observedRate: 0 });
    expect(curve.bins[5]).toMatchObject({ count: 0, meanProbability: null, observedRate: null });
    expect(curve.ece).toBeCloseTo(0.05, 15);
    expect(reliabilityCurve([]).ece).toBeNull();
    expect(() => reliabilityCurve([{ probability: 1.2, outcome: true }])).toThrow(/\[0, 1\]/);
  });

  test('points from fed-back predictions: top-label confidence, or one label', () => {
    const rows: (ProbabilityRow & { predicted: string })[] = [
      { predicted: 'yes', actual: 'yes', probabilities: { no: 0.1, yes: 0.9 } },
      { predicted: 'no', actual: 'yes', probabilities: { no: 0.6, yes: 0.4 } },
      { predicted: 'no', actual: 'no', probabilities: {} },
    ];
    expect(confidencePoints(rows)).toEqual([
      { probability: 0.9, outcome: true },
      { probability: 0.6, outcome: false },
    ]);
    expect(labelPoints('yes', rows)).toEqual([
      { probability: 0.9, outcome: true },
      { probability: 0.4, outcome: true },
    ]);
  });
});
