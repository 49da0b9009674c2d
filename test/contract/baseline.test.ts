import { checkBaselineMatches, parseBaseline } from '../../contract/baseline';
import { parseManifest } from '../../contract/manifest';

const feature = { name: 'a', mean: 0, std: 1, min: 0, max: 1, edges: [0.5], proportions: [0.5, 0.5] };

describe('baseline', () => {
  it('accepts a consistent baseline', () => {
    expect(parseBaseline({ rows: 10, bins: 2, features: [feature], classPriors: { yes: 0.4, no: 0.6 } }).features[0]).toMatchObject({
      edges: [0.5],
    });
  });

  it('names each feature whose bins do not match the bin count, and edges out of order', () => {
    const bad = { rows: 10, bins: 3, features: [feature, { ...feature, name: 'b', edges: [0.7, 0.2], proportions: [0.2, 0.3, 0.5] }] };
    expect(() => parseBaseline(bad, 'models/x/baseline.json')).toThrow(
      /Invalid model baseline models\/x\/baseline\.json:[\s\S]*features\.0\.proportions: expected 3 proportions[\s\S]*features\.0\.edges: expected 2 edges[\s\S]*features\.1\.edges: edges must be ascending/,
    );
  });

  it('explains a field of the wrong type in words', () => {
    expect(() => parseBaseline({ rows: 'ten', bins: 2, features: [feature] })).toThrow(
      /rows: Invalid input: expected (int|number), received string/,
    );
  });

  it('takes a regressor’s predicted-value bins and held-out metrics, checked like a feature’s', () => {
    const prediction = { mean: 10, std: 2, min: 5, max: 15, edges: [10], proportions: [0.5, 0.5] };
    const b = parseBaseline({ rows: 10, bins: 2, features: [feature], prediction, evaluation: { rows: 4, mae: 1.5, rmse: 2 } });
    expect(b.prediction).toEqual(prediction);
    expect(b.evaluation).toEqual({ rows: 4, mae: 1.5, rmse: 2 });
    expect(() => parseBaseline({ rows: 10, bins: 2, features: [feature], prediction: { ...prediction, edges: [10, 12] } })).toThrow(
      /prediction\.edges: expected 1 edges/,
    );
    expect(() => parseBaseline({ rows: 10, bins: 2, features: [feature], evaluation: { rows: 4, accuracy: 1.5 } })).toThrow(
      /evaluation\.accuracy/,
    );
  });

  it('refuses a predicted-value distribution or regression metrics for a classifier, and accuracy for a regressor', () => {
    const base = {
      name: 'm',
      version: '1',
      file: 'm.onnx',
      inputTensor: 'x',
      input: { kind: 'tabular', features: [{ name: 'a', type: 'float' }] },
    };
    const classifier = parseManifest({ ...base, output: { kind: 'classification', labels: ['no', 'yes'], tensor: 'p' } });
    const regressor = parseManifest({ ...base, output: { kind: 'regression', tensor: 'y' } });
    const prediction = { mean: 10, std: 2, min: 5, max: 15, edges: [10], proportions: [0.5, 0.5] };
    const withPrediction = parseBaseline({ rows: 10, bins: 2, features: [feature], prediction, evaluation: { rows: 4, mae: 1 } });
    expect(() => checkBaselineMatches(regressor, withPrediction)).not.toThrow();
    expect(() => checkBaselineMatches(classifier, withPrediction)).toThrow(/only a regression model has/);
    const withAccuracy = parseBaseline({ rows: 10, bins: 2, features: [feature], evaluation: { rows: 4, accuracy: 0.9 } });
    expect(() => checkBaselineMatches(classifier, withAccuracy)).not.toThrow();
    expect(() => checkBaselineMatches(regressor, withAccuracy)).toThrow(/held-out accuracy does not apply/);
  });
});
