/** The summary's per-version quality, from hand-computed fixtures (the DynamoDB paging is in query.test.ts). */
import type { ModelManifest } from '../../contract/manifest';
import { type SummaryRecord, summarize } from '../../lambda/log/summary';

const META = { model: 'toy', window: '1h', from: 'a', to: 'b', truncated: false };
const CLASSIFIER: Pick<ModelManifest, 'output'> = {
  output: { kind: 'classification', labels: ['no', 'yes'], tensor: 'p', softmax: false },
};

/** A fed-back binary prediction of version 1; `pYes` is the probability of "yes", the positive class. */
function pred(label: string, pYes: number, actual?: string): SummaryRecord {
  return {
    modelVersion: '1',
    label,
    probabilities: { no: 1 - pYes, yes: pYes },
    latencyMs: 1,
    ...(actual === undefined ? {} : { feedback: { label: actual, givenAt: 'now' } }),
  };
}

describe('the summary of a classifier', () => {
  it('gives per-class precision, recall, F1, the confusion matrix, ROC AUC and ECE per version', () => {
    // GIVEN five fed-back predictions and one without feedback
    const records = [
      pred('yes', 0.9, 'yes'),
      pred('yes', 0.6, 'no'),
      { ...pred('no', 0.3, 'yes'), probabilities: { no: 0.7, yes: 0.3 } },
      pred('no', 0.2, 'no'),
      pred('yes', 0.8, 'yes'),
      pred('yes', 0.5),
    ];
    const s = summarize(records, META, CLASSIFIER);

    // THEN by hand: confusion (rows actual no/yes, columns predicted no/yes) [[1, 1], [1, 2]]
    expect(s.feedbackCount).toBe(5);
    expect(s.accuracy).toBeCloseTo(3 / 5, 12);
    const [v] = s.versions;
    expect(v).toMatchObject({ modelVersion: '1', count: 6, feedbackCount: 5 });
    const c = v?.classification;
    expect(c?.confusion).toEqual({
      labels: ['no', 'yes'],
      counts: [
        [1, 1],
        [1, 2],
      ],
    });
    expect(c?.accuracy).toBeCloseTo(0.6, 12);
    // no: TP 1 of 2 predicted, 2 actual; yes: TP 2 of 3 predicted, 3 actual
    expect(c?.classes).toEqual([
      { label: 'no', support: 2, predicted: 2, precision: 0.5, recall: 0.5, f1: 0.5 },
      { label: 'yes', support: 3, predicted: 3, precision: 2 / 3, recall: 2 / 3, f1: 2 / 3 },
    ]);
    expect(c?.macroF1).toBeCloseTo((0.5 + 2 / 3) / 2, 12);
    expect(c?.weightedF1).toBeCloseTo((0.5 * 2 + (2 / 3) * 3) / 5, 12);
    // P(yes) of the positives 0.9, 0.3, 0.8 above the negatives' 0.6, 0.2 in 5 of 6 pairs
    expect(c?.rocAuc).toBeCloseTo(5 / 6, 12);
    // Confidence of the predicted label: 0.6 wrong, 0.7 wrong, 0.8 and 0.8 right, 0.9 right (bins of 0.1):
    // (1·0.6 + 1·0.7 + 2·0.2 + 1·0.1) / 5
    expect(c?.ece).toBeCloseTo(0.36, 12);
    // The curve behind it: bins 6 to 9 hold them, the others are empty.
    const bins = c?.calibration ?? [];
    expect(bins).toHaveLength(10);
    expect(bins.filter((b) => b.count > 0)).toEqual([
      { lower: 0.6, upper: 0.7, count: 1, meanProbability: 0.6, observedRate: 0 },
      { lower: 0.7, upper: 0.8, count: 1, meanProbability: 0.7, observedRate: 0 },
      { lower: 0.8, upper: 0.9, count: 2, meanProbability: 0.8, observedRate: 1 },
      { lower: 0.9, upper: 1, count: 1, meanProbability: 0.9, observedRate: 1 },
    ]);
    expect(bins[0]).toEqual({ lower: 0, upper: 0.1, count: 0, meanProbability: null, observedRate: null });
  });

  it('leaves AUC and ECE null without probabilities and quality out without feedback', () => {
    const bare = (label: string, actual?: string, modelVersion = '2'): SummaryRecord => ({
      modelVersion,
      label,
      latencyMs: 1,
      ...(actual === undefined ? {} : { feedback: { label: actual, givenAt: 'now' } }),
    });
    const s = summarize([bare('no', 'no'), bare('yes', 'no'), bare('yes', undefined, '1')], META, CLASSIFIER);
    expect(s.versions.map((v) => [v.modelVersion, v.feedbackCount])).toEqual([
      ['1', 0],
      ['2', 2],
    ]);
    expect(s.versions[0]?.classification).toBeUndefined();
    expect(s.versions[1]?.classification).toMatchObject({ count: 2, accuracy: 0.5, rocAuc: null, ece: null, macroF1: (2 / 3 + 0) / 2 });
    expect(s.versions[1]?.classification?.calibration).toBeUndefined();
  });
});
