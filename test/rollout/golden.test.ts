/** The golden-set comparison on the real parity files: scikit-learn's answers pass, any change fails. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compareGolden, describeVerdict, parseGoldenSet } from '../../contract/golden';
import type { Prediction } from '../../contract/prediction';
import { GOLDEN_TOLERANCE, type GoldenSet } from '../../contract/rollout';
import { defined } from '../support/defined';

const ROOT = resolve(__dirname, '..', '..');
const load = (model: string): GoldenSet => parseGoldenSet(JSON.parse(readFileSync(join(ROOT, 'models', model, 'parity.json'), 'utf8')));

/** What a faithful model server answers for the golden set: the expected labels and probabilities. */
function faithful(set: GoldenSet): Prediction[] {
  return set.rows.map((r) => {
    if (!('label' in r)) return { value: r.value };
    return {
      label: r.label,
      probabilities: Object.fromEntries(defined(set.labels, 'the golden set labels').map((l, j) => [l, r.probabilities[j]])),
    };
  });
}

describe.each(['breast-cancer', 'digits'])('%s golden set', (model) => {
  const set = load(model);
  const labels = defined(set.labels, `the ${model} labels`);

  it('passes its own answers', () => {
    const v = compareGolden(set, faithful(set));
    expect(v).toMatchObject({ passed: true, rows: 50, mismatchCount: 0, maxDifference: 0 });
    expect(describeVerdict(v)).toMatch(/^Golden set passed: 50 rows/);
  });

  it('fails on one flipped label', () => {
    const answers = faithful(set);
    const first = answers[7] as { label: string };
    const other = defined(
      labels.find((l) => l !== first.label),
      'a label other than the first answer',
    );
    answers[7] = { ...(answers[7] as object), label: other } as Prediction;
    const v = compareGolden(set, answers);
    expect(v.passed).toBe(false);
    expect(v.mismatches).toEqual([{ row: 7, field: 'label', expected: first.label, actual: other }]);
  });

  it('passes a drift inside the tolerance and fails one just beyond it', () => {
    const label = labels[0];
    const drift = (d: number) => {
      const answers = faithful(set) as { label: string; probabilities: Record<string, number> }[];
      answers[3].probabilities[label] += d;
      return compareGolden(set, answers);
    };
    expect(drift(GOLDEN_TOLERANCE.probability / 2).passed).toBe(true);
    const v = drift(GOLDEN_TOLERANCE.probability * 2);
    expect(v.passed).toBe(false);
    expect(v.mismatches).toEqual([expect.objectContaining({ row: 3, field: `probabilities.${label}` })]);
    expect(v.maxDifference).toBeCloseTo(GOLDEN_TOLERANCE.probability * 2, 10);
  });

  it('fails when a probability is missing, NaN, or a row is missing', () => {
    const missing = faithful(set) as { probabilities: Record<string, number> }[];
    delete missing[0].probabilities[labels[1]];
    expect(compareGolden(set, missing as Prediction[]).passed).toBe(false);
    const nan = faithful(set) as { probabilities: Record<string, number> }[];
    nan[1].probabilities[labels[0]] = NaN;
    expect(compareGolden(set, nan as Prediction[]).passed).toBe(false);
    const short = compareGolden(set, faithful(set).slice(0, 49));
    expect(short.passed).toBe(false);
    expect(short.mismatches[0]).toEqual({ row: -1, field: 'predictions', expected: 50, actual: 49 });
  });
});

describe('regression rows and bad files', () => {
  const set: GoldenSet = {
    rows: [
      { input: [1], value: 200 },
      { input: [2], value: 0.5 },
    ],
  };

  it('compares values relative to max(1, |expected|)', () => {
    expect(compareGolden(set, [{ value: 200.01 }, { value: 0.50005 }]).passed).toBe(true);
    const v = compareGolden(set, [{ value: 200.1 }, { value: 0.5 }]);
    expect(v.mismatches).toEqual([{ row: 0, field: 'value', expected: 200, actual: 200.1 }]);
    expect(compareGolden(set, [{ label: 'a', probabilities: {} }, { value: 0.5 }]).mismatches[0].field).toBe('prediction');
  });

  it('refuses a golden set with no rows or a row without an answer', () => {
    expect(() => parseGoldenSet({ rows: [] })).toThrow(/at least one row/);
    expect(() => parseGoldenSet({ labels: ['a', 'b'], rows: [{ input: [1], label: 'a', probabilities: [1] }] })).toThrow(/Golden row 0/);
  });
});
