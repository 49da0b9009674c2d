/** The tail probabilities behind the drift tests, against published table values and closed forms. */
import { chiSquareSurvival, kolmogorovSurvival, lnGamma, regularizedGammaQ } from '../../contract/metrics/distributions';

describe('ln Γ', () => {
  test('matches factorials and Γ(1/2) = √π', () => {
    expect(lnGamma(1)).toBeCloseTo(0, 14);
    expect(lnGamma(10)).toBeCloseTo(Math.log(362_880), 12); // 9!
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14);
    expect(lnGamma(0.1)).toBeCloseTo(Math.log(9.513507698668732), 12); // Γ(0.1), through the reflection formula
    expect(() => lnGamma(0)).toThrow(/x > 0/);
  });
});

describe('chi-square survival function', () => {
  test.each([
    // Critical values of the chi-square table (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.4): P(X >= x) = α.
    [3.841458820694124, 1, 0.05],
    [6.6348966010212145, 1, 0.01],
    [11.070497693516351, 5, 0.05],
    [18.307038053275146, 10, 0.05],
    [124.34211340400407, 100, 0.05],
  ])('P(χ² >= %d | df = %d) = %d', (x, df, alpha) => {
    expect(chiSquareSurvival(x, df)).toBeCloseTo(alpha, 12);
  });

  test('with two degrees of freedom it is exactly e^(−x/2)', () => {
    for (const x of [0.1, 1, 5.991464547107979, 30]) expect(chiSquareSurvival(x, 2)).toBeCloseTo(Math.exp(-x / 2), 14);
  });

  test('keeps its digits far in the tail and is 1 at 0', () => {
    // Q(1.5, 100) = Γ(1.5, 100)/Γ(1.5): 4.218541107192018e-43 (a value 1 − P could never give).
    expect(chiSquareSurvival(200, 3) / 4.218541107192018e-43).toBeCloseTo(1, 10);
    expect(chiSquareSurvival(0, 4)).toBe(1);
    expect(regularizedGammaQ(3, 0)).toBe(1);
  });

  test('refuses degrees of freedom that are not whole numbers >= 1', () => {
    expect(() => chiSquareSurvival(1, 0)).toThrow(/degrees of freedom/);
    expect(() => chiSquareSurvival(1, 1.5)).toThrow(/degrees of freedom/);
    expect(() => chiSquareSurvival(Number.NaN, 1)).toThrow(/NaN/);
  });
});

describe('Kolmogorov survival function', () => {
  test.each([
    // The asymptotic critical values of the KS test: 1.2238 (α = 0.10), 1.3581 (0.05), 1.6276 (0.01).
    [1.2238478702170825, 0.1],
    [1.3580986393225507, 0.05],
    [1.627623611518903, 0.01],
  ])('P(K > %d) = %d', (lambda, alpha) => {
    expect(kolmogorovSurvival(lambda)).toBeCloseTo(alpha, 12);
  });

  test('both series agree where they meet (λ = 1.18) and the tails are right', () => {
    // P(K > 1) = 0.26999967167735456 (Kolmogorov 1933, tabulated by Smirnov 1948).
    expect(kolmogorovSurvival(1)).toBeCloseTo(0.26999967167735456, 14);
    expect(kolmogorovSurvival(1.18 - 1e-12)).toBeCloseTo(kolmogorovSurvival(1.18), 10);
    expect(kolmogorovSurvival(0)).toBe(1);
    expect(kolmogorovSurvival(0.2)).toBeCloseTo(1, 11);
    // 2(e^−18 − e^−72 + …) ≈ 2e^−18.
    expect(kolmogorovSurvival(3) / (2 * Math.exp(-18))).toBeCloseTo(1, 12);
  });
});
