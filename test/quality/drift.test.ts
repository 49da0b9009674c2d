import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBaseline } from '../../contract/baseline';
import {
  binIndex,
  binShares,
  categoricalPsi,
  categoryShares,
  checkBinned,
  featureKs,
  featurePsi,
  ks,
  PSI_EPSILON,
  psi,
  psiOfShares,
} from '../../contract/drift';

// Four bins around the interior cut points 1, 2, 3: (-inf,1], (1,2], (2,3], (3,inf).
const EDGES = [1, 2, 3];
const UNIFORM = { edges: EDGES, proportions: [0.25, 0.25, 0.25, 0.25] };
// Lands 2, 1, 2 and 3 values in the four bins.
const SAMPLE = [0, 1, 2, 2.5, 3, 4, 5, 6];

describe('binning', () => {
  test('bins are right-closed and the outer ones open-ended, like numpy searchsorted(side="left")', () => {
    expect([-1e9, 0.5, 1, 1.5, 2, 3, 3.1, 1e9].map((x) => binIndex(EDGES, x))).toEqual([0, 0, 0, 1, 1, 2, 3, 3]);
  });

  test('repeated cut points (a discrete feature) put the repeated value in the lowest bin', () => {
    expect(binIndex([0, 0, 0, 2], 0)).toBe(0);
    expect(binIndex([0, 0, 0, 2], 1)).toBe(3);
    expect(binIndex([0, 0, 0, 2], 5)).toBe(4);
  });

  test('shares of a sample', () => {
    expect(binShares(EDGES, SAMPLE)).toEqual([0.25, 0.125, 0.25, 0.375]);
    expect(binShares(EDGES, [])).toEqual([0, 0, 0, 0]);
  });

  test('a malformed distribution is refused with the reason', () => {
    expect(() => checkBinned({ edges: [1, 2], proportions: [0.5, 0.5] }, 'f')).toThrow(/2 edges for 2 bins \(expected 1\)/);
    expect(() => checkBinned({ edges: [2, 1], proportions: [0.3, 0.3, 0.4] }, 'f')).toThrow(/not ascending/);
    expect(() => checkBinned({ edges: [1], proportions: [0.3, 0.3] }, 'f')).toThrow(/sum to 1/);
    expect(() => checkBinned(UNIFORM, 'f')).not.toThrow();
  });
});

describe('PSI', () => {
  test('matches the hand-computed value: 0.125·ln 2 + 0.125·ln 1.5', () => {
    // Bins 1 and 3 differ: (0.125 − 0.25)·ln(0.125/0.25) + (0.375 − 0.25)·ln(0.375/0.25).
    expect(psi(UNIFORM, SAMPLE)).toBeCloseTo(0.125 * Math.log(2) + 0.125 * Math.log(1.5), 12);
    expect(psi(UNIFORM, SAMPLE)).toBeCloseTo(0.1373265360835137, 12);
  });

  test('is zero for the same distribution and symmetric', () => {
    expect(psiOfShares([0.2, 0.3, 0.5], [0.2, 0.3, 0.5])).toBe(0);
    expect(psiOfShares([0.2, 0.3, 0.5], [0.5, 0.3, 0.2])).toBeCloseTo(psiOfShares([0.5, 0.3, 0.2], [0.2, 0.3, 0.5]), 15);
  });

  test('an empty bin counts as epsilon instead of making PSI infinite', () => {
    // 0.5·ln 2 + (1e-4 − 0.5)·ln(1e-4 / 0.5)
    expect(PSI_EPSILON).toBe(1e-4);
    const value = psiOfShares([0.5, 0.5], [1, 0]);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeCloseTo(4.60431846666895, 10);
    // Both empty: that bin contributes nothing.
    expect(psiOfShares([0.5, 0.5, 0], [0.5, 0.5, 0])).toBe(0);
  });

  test('an empty live sample is maximal drift, not NaN', () => {
    expect(Number.isFinite(psi(UNIFORM, []))).toBe(true);
    expect(psi(UNIFORM, [])).toBeGreaterThan(1);
  });

  test('of predicted classes against class priors', () => {
    // Priors 50/50, predictions 3:1 → 0.25·ln 1.5 + 0.25·ln 2.
    expect(categoricalPsi({ a: 0.5, b: 0.5 }, { a: 3, b: 1 })).toBeCloseTo(0.2746530721670274, 12);
    // A label the model never predicted in the window is an empty bin.
    expect(categoricalPsi({ a: 0.5, b: 0.5 }, { a: 4 })).toBeCloseTo(psiOfShares([0.5, 0.5], [1, 0]), 12);
  });

  test('agrees with numpy on the breast-cancer baseline and its held-out parity rows', () => {
    // Expected values from numpy: searchsorted(edges, x, side="left"), bincount, shares floored at 1e-4.
    const dir = join(__dirname, '../../models/breast-cancer');
    const baseline = parseBaseline(JSON.parse(readFileSync(join(dir, 'baseline.json'), 'utf8')));
    const rows = (JSON.parse(readFileSync(join(dir, 'parity.json'), 'utf8')) as { rows: { input: number[] }[] }).rows;
    const column = (j: number) => rows.map((r) => r.input[j]);
    expect(featurePsi(baseline.features[0], column(0))).toBeCloseTo(0.06153282298759307, 10);
    expect(featurePsi(baseline.features[1], column(1))).toBeCloseTo(0.15109165321030818, 10);
    expect(featureKs(baseline.features[2], column(2))).toBeCloseTo(0.07890109890109887, 10);
  });
});

describe('KS at the bin edges', () => {
  test('matches the hand-computed value', () => {
    // CDFs at the edges 1, 2, 3: live 0.25, 0.375, 0.625; baseline 0.25, 0.5, 0.75 → 0.125.
    expect(ks(UNIFORM, SAMPLE)).toBeCloseTo(0.125, 12);
  });

  test('is 0 for a sample shaped like the baseline and 1 for one entirely past it', () => {
    expect(ks(UNIFORM, [0, 1.5, 2.5, 3.5])).toBe(0);
    expect(ks(UNIFORM, [10, 11, 12])).toBeCloseTo(0.75, 12);
    expect(ks({ edges: [1], proportions: [1, 0] }, [5])).toBe(1);
  });
});

describe('categorical features', () => {
  const city = { categories: ['lisbon', 'oslo'], proportions: [0.5, 0.5, 0] };

  test('shares count each category and put unseen values last', () => {
    expect(categoryShares(['lisbon', 'oslo'], ['oslo', 'oslo', 'rome', 'lisbon'])).toEqual([0.25, 0.5, 0.25]);
    expect(categoryShares(['false', 'true'], [true, false, true, true])).toEqual([0.25, 0.75, 0]);
  });

  test('PSI is 0 for the training mix and grows when a category takes over or an unseen value appears', () => {
    expect(featurePsi(city, ['lisbon', 'oslo', 'lisbon', 'oslo'])).toBeCloseTo(0, 12);
    const shifted = featurePsi(city, ['oslo', 'oslo', 'oslo', 'lisbon']);
    expect(shifted).toBeCloseTo(psiOfShares([0.5, 0.5, 0], [0.25, 0.75, 0]), 12);
    expect(featurePsi(city, ['rome', 'rome', 'oslo', 'lisbon'])).toBeGreaterThan(0.25);
    expect(featureKs(city, ['oslo', 'oslo', 'oslo', 'lisbon'])).toBeCloseTo(0.25, 12);
  });
});
