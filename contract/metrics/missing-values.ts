/**
 * Missing inputs: a nullable feature's value may be absent (JSON null, an empty CSV cell, NaN), and the
 * share of such values per feature is a drift signal of its own. Drift tests leave missing values out
 * of the distributions they compare, so this is where they are counted.
 */

/** Null, undefined or NaN: what the log holds for a value the caller did not send. */
export function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
}

export interface MissingRate {
  feature: string;
  /** Rows read (missing or not). */
  n: number;
  missing: number;
  /** missing / n; null with no rows. */
  rate: number | null;
}

/** Per feature (column j of every row is feature j), how many values are missing and their share. */
export function missingRates(features: readonly string[], rows: ReadonlyArray<ArrayLike<unknown>>): MissingRate[] {
  return features.map((feature, j) => {
    let missing = 0;
    for (const row of rows) if (isMissing(row[j])) missing++;
    return { feature, n: rows.length, missing, rate: rows.length === 0 ? null : missing / rows.length };
  });
}
