import { parseBaseline } from '../../contract/baseline';

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
});
