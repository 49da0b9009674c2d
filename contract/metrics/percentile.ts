/** Nearest-rank percentile: the smallest value with at least p % of the values at or below it. */

/** The p-th (0 < p <= 100) nearest-rank percentile of ascending values; null when there are none. */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (!(p > 0 && p <= 100)) throw new Error(`A percentile is within (0, 100], got ${p}`);
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length); // 1..length
  return sorted[rank - 1] ?? null;
}
