/**
 * How the query function reaches the analytics store: one interface, two engines, handed to the query
 * function as a dependency. On AWS it is Athena (`athena-engine.ts`, from the function's environment);
 * the local runner passes DuckDB over the local bucket's Parquet (`local/analytics/engine.ts`). The
 * handler's code and the SQL it sends are the same either way; DuckDB, a native dev dependency, never
 * enters a Lambda bundle.
 */

/** One answer row: column name → value. Athena answers every value as text, DuckDB as typed values. */
export type AnalyticsRow = Record<string, string | number | null>;

export interface AnalyticsEngine {
  /** What answers ("athena", "duckdb"), for logs. */
  readonly name: string;
  /**
   * Runs `sql`, every `?` bound to the day `since` (yyyy-mm-dd), and answers its rows. Fails with an
   * `ApiError` (`ANALYTICS_UNAVAILABLE`, `ANALYTICS_TIMEOUT`) when the engine refuses, fails or cannot
   * finish before `deadline` (epoch ms, when the caller stops waiting).
   */
  run(sql: string, since: string, deadline: number): Promise<AnalyticsRow[]>;
}

/**
 * An engine that answers a repeated question (the same SQL and first day) from the last answer for
 * `ttlMs`, and lets concurrent askers share one run. A failed run is not kept: the next ask runs again.
 */
export function cachedAnalyticsEngine(engine: AnalyticsEngine, ttlMs: number, now: () => number = Date.now): AnalyticsEngine {
  const answers = new Map<string, { at: number; rows: Promise<AnalyticsRow[]> }>();
  return {
    name: `${engine.name} (answers kept ${ttlMs / 1000} s)`,
    run(sql, since, deadline) {
      const key = `${since}\n${sql}`;
      const t = now();
      for (const [k, a] of answers) if (t - a.at >= ttlMs) answers.delete(k);
      const kept = answers.get(key);
      if (kept !== undefined) return kept.rows;
      const rows = engine.run(sql, since, deadline);
      answers.set(key, { at: t, rows });
      rows.catch(() => answers.delete(key));
      return rows;
    },
  };
}
