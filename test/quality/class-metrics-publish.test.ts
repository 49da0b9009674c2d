/** The quality job's per-class figures, ROC AUC and calibration error, and their EMF documents, on fixtures worked out by hand. */
import { parseManifest } from '../../contract/manifest';
import type { PredictionRecord } from '../../contract/prediction-log';
import { QUALITY_METRICS as M, MAX_CLASS_METRICS } from '../../contract/quality';
import type { ClassQuality } from '../../lambda/quality/accuracy';
import { analyzeWindow } from '../../lambda/quality/analyze';
import { classDocuments, qualityDocuments } from '../../lambda/quality/publish';

const manifestOf = (labels: string[]) =>
  parseManifest({
    name: 'toy',
    version: '1',
    file: 'toy.onnx',
    inputTensor: 'x',
    input: { kind: 'tabular', features: [{ name: 'x', type: 'float' }] },
    output: { kind: 'classification', labels, tensor: 'p' },
  });

let seq = 0;
function fed(label: string, probabilities: Record<string, number>, actual?: string, modelVersion = '1'): PredictionRecord {
  seq++;
  const createdAt = '2026-01-01T10:00:00.000Z';
  return {
    id: `id${seq}`,
    model: 'toy',
    modelVersion,
    createdAt,
    inputValues: [1],
    label,
    probabilities,
    latencyMs: 1,
    requestId: `r${seq}`,
    ...(actual === undefined ? {} : { feedback: { label: actual, givenAt: createdAt } }),
  };
}

type Doc = Record<string, unknown> & {
  _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
};
const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Doc);

describe('a three-label classifier', () => {
  // Five fed-back predictions and one without feedback. Confusion (rows actual, columns predicted a/b/c):
  // a [1, 0, 0], b [1, 1, 0], c [0, 1, 1].
  const records = [
    fed('a', { a: 0.6, b: 0.3, c: 0.1 }, 'a'),
    fed('a', { a: 0.5, b: 0.4, c: 0.1 }, 'b'),
    fed('b', { a: 0.2, b: 0.7, c: 0.1 }, 'b'),
    fed('c', { a: 0.1, b: 0.1, c: 0.8 }, 'c'),
    fed('b', { a: 0.3, b: 0.4, c: 0.3 }, 'c'),
    fed('c', { a: 0.1, b: 0.1, c: 0.8 }),
  ];
  const [v] = analyzeWindow(manifestOf(['a', 'b', 'c']), undefined, records);
  const q = v?.quality;

  test('per-class precision, recall, F1 and support, and the averages', () => {
    // a: TP 1 of 2 predicted, support 1; b: TP 1 of 2, support 2; c: TP 1 of 1, support 2.
    expect(q).toMatchObject({ kind: 'classification', count: 5, accuracy: 3 / 5 });
    if (q?.kind !== 'classification') throw new Error('a classifier');
    expect(q.classes?.map(({ label, support, precision, recall }) => ({ label, support, precision, recall }))).toEqual([
      { label: 'a', support: 1, precision: 0.5, recall: 1 },
      { label: 'b', support: 2, precision: 0.5, recall: 0.5 },
      { label: 'c', support: 2, precision: 1, recall: 0.5 },
    ]);
    expect(q.classes?.map((c) => c.f1)).toEqual([2 / 3, 0.5, 2 / 3]);
    expect(q.macroF1).toBeCloseTo((2 / 3 + 0.5 + 2 / 3) / 3, 12);
    // (2/3·1 + 0.5·2 + 2/3·2) / 5
    expect(q.weightedF1).toBeCloseTo(0.6, 12);
  });

  test('one-vs-rest ROC AUC per class and their mean, and the calibration error', () => {
    if (q?.kind !== 'classification') throw new Error('a classifier');
    // a: its one positive (0.6) above all four negatives: 1. b: positives 0.4 and 0.7 against negatives
    // 0.3, 0.1 and 0.4 win 5 of 6 pairs and tie one: 5.5/6. c: positives 0.8 and 0.3 above three 0.1s: 1.
    expect(q.classes?.map((c) => c.rocAuc)).toEqual([1, 11 / 12, 1]);
    expect(q.rocAuc).toBeCloseTo((1 + 11 / 12 + 1) / 3, 12);
    // The predicted label's probability 0.6 right, 0.5 wrong, 0.7 right, 0.8 right, 0.4 wrong, one a bin:
    // (0.4 + 0.5 + 0.4 + 0.3 + 0.2) / 5.
    expect(q.ece).toBeCloseTo(0.36, 12);
  });

  test('publishes them: the version document, then one per class with the Class dimension', () => {
    if (v === undefined) throw new Error('one version');
    const docs = parse(qualityDocuments('toy', v, 1_000));
    const [summary] = docs;
    expect(summary).toMatchObject({ Model: 'toy', ModelVersion: '1', [M.accuracy]: 0.6, [M.feedbackCount]: 5 });
    expect(summary?.[M.weightedF1]).toBeCloseTo(0.6, 12);
    expect(summary?.[M.rocAuc]).toBeCloseTo(35 / 36, 12);
    expect(summary?.[M.calibrationError]).toBeCloseTo(0.36, 12);
    const perClass = docs.filter((d) => d.Class !== undefined);
    // Largest support first, ties in the model's order.
    expect(perClass.map((d) => d.Class)).toEqual(['b', 'c', 'a']);
    expect(perClass[0]?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Model', 'ModelVersion', 'Class']]);
    expect(perClass[0]?._aws.CloudWatchMetrics[0]?.Metrics).toEqual([
      { Name: M.classSupport, Unit: 'Count' },
      { Name: M.classPrecision, Unit: 'None' },
      { Name: M.classRecall, Unit: 'None' },
      { Name: M.classF1, Unit: 'None' },
      { Name: M.classRocAuc, Unit: 'None' },
    ]);
    expect(perClass[0]).toMatchObject({ [M.classSupport]: 2, [M.classPrecision]: 0.5, [M.classRecall]: 0.5, [M.classF1]: 0.5 });
    expect(perClass[0]?.[M.classRocAuc]).toBeCloseTo(11 / 12, 12);
    expect(perClass[2]).toMatchObject({ Class: 'a', [M.classSupport]: 1, [M.classPrecision]: 0.5, [M.classRecall]: 1, [M.classRocAuc]: 1 });
  });
});

describe('a binary classifier', () => {
  test("the second label's probability is ranked; no per-class AUC; no AUC or calibration without probabilities", () => {
    // P(yes) of the positives 0.9, 0.3, 0.8 above the negatives' 0.6, 0.2 in 5 of 6 pairs.
    const records = [
      fed('yes', { no: 0.1, yes: 0.9 }, 'yes'),
      fed('yes', { no: 0.4, yes: 0.6 }, 'no'),
      fed('no', { no: 0.7, yes: 0.3 }, 'yes'),
      fed('no', { no: 0.8, yes: 0.2 }, 'no'),
      fed('yes', { no: 0.2, yes: 0.8 }, 'yes'),
      fed('no', {}, 'no', '2'),
      fed('yes', {}, 'no', '2'),
    ];
    const [v1, v2] = analyzeWindow(manifestOf(['no', 'yes']), undefined, records);
    expect(v1?.quality).toMatchObject({ rocAuc: expect.closeTo(5 / 6, 12), ece: expect.closeTo(0.36, 12) });
    if (v1?.quality.kind !== 'classification') throw new Error('a classifier');
    expect(v1.quality.classes?.every((c) => c.rocAuc === undefined)).toBe(true);
    expect(v2?.quality).toMatchObject({ count: 2, accuracy: 0.5 });
    expect(v2?.quality).not.toHaveProperty('rocAuc');
    expect(v2?.quality).not.toHaveProperty('ece');
    const [summary2, ...classes2] = parse(qualityDocuments('toy', v2 as NonNullable<typeof v2>, 1));
    expect(summary2).not.toHaveProperty(M.rocAuc);
    expect(summary2).not.toHaveProperty(M.calibrationError);
    // "yes" never right: precision 0 and recall of nothing (no true "yes"), so it has no recall figure.
    expect(classes2.find((d) => d.Class === 'yes')).toMatchObject({ [M.classSupport]: 0, [M.classPrecision]: 0, [M.classF1]: 0 });
    expect(classes2.find((d) => d.Class === 'yes')).not.toHaveProperty(M.classRecall);
  });
});

describe('the number of class documents', () => {
  test(`is bounded by ${MAX_CLASS_METRICS}, largest supports kept; classes the window never saw are left out`, () => {
    const classes: ClassQuality[] = Array.from({ length: 30 }, (_, i) => ({
      label: `c${i}`,
      support: i % 10,
      precision: 1,
      recall: 1,
      f1: i === 29 ? null : 1,
    }));
    const labels = parse(classDocuments(1, { Model: 'toy', ModelVersion: '1' }, classes)).map((d) => d.Class);
    expect(labels).toHaveLength(MAX_CLASS_METRICS);
    // Supports 9 (c9, c19; c29 was never seen), 8 (c8, c18, c28), 7, … down to 3 (c3, c13, c23): 2 + 3·6 = 20.
    expect(labels.slice(0, 5)).toEqual(['c9', 'c19', 'c8', 'c18', 'c28']);
    expect(labels).not.toContain('c29');
    expect(labels.slice(-3)).toEqual(['c3', 'c13', 'c23']);
  });
});
