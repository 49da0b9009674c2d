/**
 * Distribution drift of live inputs against the training baseline: the Population Stability Index (PSI)
 * over the baseline's bins, and the Kolmogorov-Smirnov distance evaluated at the bin edges.
 *
 * A baseline feature (`models/<name>/baseline.json`, written by the training script) is described by
 * `edges`, the k − 1 ascending interior cut points (training deciles), and `proportions`, the k training
 * shares of the bins. Bin i holds the values v with edges[i−1] < v <= edges[i]; the first and last bins
 * are open-ended. This is numpy's `searchsorted(edges, v, side="left")`, the rule the baseline was
 * counted with, so a value equal to a cut point lands where the training values equal to it did.
 */

/** Shares below this are raised to it before the logarithm: an empty bin would make PSI infinite. */
export const PSI_EPSILON = 1e-4;

/** Conventional PSI reading: under 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 a significant one. */
export const PSI_MODERATE = 0.1;
export const PSI_SIGNIFICANT = 0.25;

export interface BinnedDistribution {
  /** Ascending interior cut points, one fewer than the bins (repeats allowed for discrete features). */
  edges: number[];
  /** Share of the training values in each bin; sums to 1. */
  proportions: number[];
}

/** Checks a binned distribution's shape; throws naming `what` so a bad baseline file is easy to find. */
export function checkBinned(d: BinnedDistribution, what: string): void {
  const k = d.proportions.length;
  if (k < 1) throw new Error(`${what}: no bins`);
  if (d.edges.length !== k - 1) throw new Error(`${what}: ${d.edges.length} edges for ${k} bins (expected ${k - 1})`);
  for (let i = 1; i < d.edges.length; i++) {
    // 1 <= i < edges.length
    if (!((d.edges[i] as number) >= (d.edges[i - 1] as number))) throw new Error(`${what}: edges are not ascending at index ${i}`);
  }
  const sum = d.proportions.reduce((a, b) => a + b, 0);
  if (d.proportions.some((p) => !(p >= 0)) || Math.abs(sum - 1) > 1e-3)
    throw new Error(`${what}: proportions must be non-negative and sum to 1 (sum ${sum})`);
}

/** Index of the bin holding `x`: the number of edges strictly below it (binary search). */
export function binIndex(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((edges[mid] as number) < x)
      lo = mid + 1; // lo <= mid < hi <= edges.length
    else hi = mid;
  }
  return lo;
}

/** How many of `values` fall in each bin of `edges`. */
export function binCounts(edges: readonly number[], values: ArrayLike<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  // binIndex is at most edges.length, the last of counts' edges.length + 1 slots.
  for (let i = 0; i < values.length; i++) (counts[binIndex(edges, values[i] as number)] as number)++;
  return counts;
}

/** Shares of `values` in each bin of `edges`. An empty sample gives all zeros. */
export function binShares(edges: number[], values: ArrayLike<number>): number[] {
  const counts = binCounts(edges, values);
  return values.length === 0 ? counts : counts.map((c) => c / values.length);
}

/**
 * PSI = Σ (actual − expected) · ln(actual / expected) over bins, with each share floored at `epsilon`.
 * Symmetric in its arguments, 0 for identical distributions.
 */
export function psiOfShares(expected: number[], actual: number[], epsilon = PSI_EPSILON): number {
  if (expected.length !== actual.length) throw new Error(`PSI needs the same bins: ${expected.length} vs ${actual.length}`);
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    // i < expected.length = actual.length
    const e = Math.max(expected[i] as number, epsilon);
    const a = Math.max(actual[i] as number, epsilon);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/** PSI of a live sample against a baseline feature. */
export function psi(baseline: BinnedDistribution, values: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  return psiOfShares(baseline.proportions, binShares(baseline.edges, values), epsilon);
}

/**
 * KS distance max |F_live(x) − F_baseline(x)| taken at the baseline's edges, the only points where the
 * binned baseline knows its CDF exactly. This is a lower bound of the exact two-sample statistic.
 */
export function ks(baseline: BinnedDistribution, values: ArrayLike<number>): number {
  const live = binShares(baseline.edges, values);
  let base = 0;
  let seen = 0;
  let d = 0;
  // The CDF at edges[i] is the cumulative share of bins 0..i; past the last edge both CDFs reach 1.
  for (let i = 0; i < live.length - 1; i++) {
    // i < live.length - 1 = edges.length = proportions.length - 1 (checkBinned)
    base += baseline.proportions[i] as number;
    seen += live[i] as number;
    d = Math.max(d, Math.abs(seen - base));
  }
  return d;
}

/** PSI between categorical distributions (e.g. predicted classes against training class priors). */
export function categoricalPsi(expected: Record<string, number>, counts: Record<string, number>, epsilon = PSI_EPSILON): number {
  const labels = Object.keys(expected);
  const total = labels.reduce((s, l) => s + (counts[l] ?? 0), 0);
  const actual = labels.map((l) => (total === 0 ? 0 : (counts[l] ?? 0) / total));
  return psiOfShares(
    labels.map((l) => expected[l] as number), // l is a key of expected
    actual,
    epsilon,
  );
}

/** A baseline feature: binned numbers, or categories with an "any other value" share at the end. */
export type FeatureDistribution = BinnedDistribution | { categories: string[]; proportions: number[] };

function isCategories(d: FeatureDistribution): d is { categories: string[]; proportions: number[] } {
  return 'categories' in d;
}

/** How many of `values` are each category (bools read as "true"/"false"), then how many are anything else. */
export function categoryCounts(categories: readonly string[], values: ArrayLike<unknown>): number[] {
  const index = new Map(categories.map((c, i) => [c, i]));
  const counts = new Array<number>(categories.length + 1).fill(0);
  // Indices run 0..categories.length, the slots of counts.
  for (let i = 0; i < values.length; i++) (counts[index.get(String(values[i])) ?? categories.length] as number)++;
  return counts;
}

/** Shares of each category in `values` (bools read as "true"/"false"), then of everything else. */
export function categoryShares(categories: readonly string[], values: ArrayLike<unknown>): number[] {
  const counts = categoryCounts(categories, values);
  return values.length === 0 ? counts : counts.map((c) => c / values.length);
}

/** PSI of a live column against a baseline feature of either kind. */
export function featurePsi(d: FeatureDistribution, values: ArrayLike<unknown>, epsilon = PSI_EPSILON): number {
  if (isCategories(d)) return psiOfShares(d.proportions, categoryShares(d.categories, values), epsilon);
  return psi(d, values as ArrayLike<number>, epsilon);
}

/**
 * KS distance for numbers; for categories, which have no order, the largest difference between a
 * category's live and training shares.
 */
export function featureKs(d: FeatureDistribution, values: ArrayLike<unknown>): number {
  if (!isCategories(d)) return ks(d, values as ArrayLike<number>);
  const live = categoryShares(d.categories, values);
  return live.reduce((m, s, i) => Math.max(m, Math.abs(s - (d.proportions[i] ?? 0))), 0);
}

/** A reference distribution from earlier values: deciles of numbers, or the categories seen. */
export function referenceOf(values: readonly unknown[], decileBins: (v: number[]) => BinnedDistribution): FeatureDistribution {
  if (values.every((v) => typeof v === 'number')) return decileBins(values as number[]);
  const categories = [...new Set(values.map((v) => String(v)))];
  return { categories, proportions: categoryShares(categories, values) };
}
