/**
 * Regression quality of fed-back predictions. One sign convention throughout: the error of a prediction
 * is predicted − actual, so a positive mean error (bias) means the model predicts too high, and a
 * residual as this module reports it is that same error.
 */
import { type BinnedDistribution, binCounts } from '../drift';

export interface ValuePair {
  predicted: number;
  actual: number;
}

export interface RegressionMetrics {
  count: number;
  /** Mean absolute error. */
  mae: number;
  /** Root of the mean squared error. */
  rmse: number;
  /** Mean of predicted − actual: positive when the model over-predicts. */
  meanError: number;
  /**
   * Coefficient of determination 1 − Σ(predicted − actual)² / Σ(actual − mean actual)². Null when every
   * actual value is the same: the denominator is 0 and R² is undefined (constant predictions are fine:
   * R² is then 0 at the mean and negative elsewhere).
   */
  r2: number | null;
}

/** MAE, RMSE, mean error and R² of the pairs; undefined when there are none. Pairs must hold finite numbers. */
export function regressionMetrics(pairs: readonly ValuePair[]): RegressionMetrics | undefined {
  const count = pairs.length;
  if (count === 0) return undefined;
  let abs = 0;
  let sq = 0;
  let signed = 0;
  let sumActual = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const { predicted, actual } of pairs) {
    if (!Number.isFinite(predicted) || !Number.isFinite(actual))
      throw new Error(`Regression pairs must be finite numbers, got ${predicted} and ${actual}`);
    const e = predicted - actual;
    abs += Math.abs(e);
    sq += e * e;
    signed += e;
    sumActual += actual;
    min = Math.min(min, actual);
    max = Math.max(max, actual);
  }
  // Constant actuals checked exactly: the mean of equal doubles need not equal them (0.1 · 3 / 3), which
  // would turn 0/0 into a huge negative number.
  let r2: number | null = null;
  if (min < max) {
    const mean = sumActual / count;
    let total = 0;
    for (const { actual } of pairs) total += (actual - mean) ** 2;
    r2 = 1 - sq / total;
  }
  return { count, mae: abs / count, rmse: Math.sqrt(sq / count), meanError: signed / count, r2 };
}

/** Each prediction with its residual (predicted − actual, the module's one sign), for a residuals-against-predicted plot. */
export function residuals(pairs: readonly ValuePair[]): { predicted: number; residual: number }[] {
  return pairs.map(({ predicted, actual }) => ({ predicted, residual: predicted - actual }));
}

export interface HistogramBin {
  /** Lower bound (exclusive), null for the open first bin. */
  lower: number | null;
  /** Upper bound (inclusive), null for the open last bin. */
  upper: number | null;
  /** Training share of the bin. */
  baselineShare: number;
  /** Live values in the bin and their share (0 with no values). */
  count: number;
  share: number;
}

/**
 * Histogram of predicted values over the training baseline's bins (a bin holds lower < v <= upper, the
 * baseline's rule), beside the training shares. Non-finite values are left out and counted apart.
 */
export function predictionHistogram(
  baseline: BinnedDistribution,
  values: readonly number[],
): { bins: HistogramBin[]; n: number; nonFinite: number } {
  const finite = values.filter((v) => Number.isFinite(v));
  const counts = binCounts(baseline.edges, finite);
  const n = finite.length;
  return {
    bins: counts.map((count, i) => ({
      lower: baseline.edges[i - 1] ?? null,
      upper: baseline.edges[i] ?? null,
      baselineShare: baseline.proportions[i] ?? 0,
      count,
      share: n === 0 ? 0 : count / n,
    })),
    n,
    nonFinite: values.length - n,
  };
}
