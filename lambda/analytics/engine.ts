/**
 * How the query function reaches the analytics store: one interface, two engines. On AWS it is Athena
 * (`athena-engine.ts`, from the function's environment); the local runner hands in DuckDB over the local
 * bucket's Parquet (`local/analytics/engine.ts`) before it loads the handlers. The handler's code and the
 * SQL it sends are the same either way; DuckDB, a native dev dependency, never enters a Lambda bundle.
 */
import { ANALYTICS_OFF, ENV } from '../../contract/env';
import { type FunctionConfig, required } from '../runtime/config';
import { athenaEngine } from './athena-engine';

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

let localEngine: AnalyticsEngine | undefined;

/** The local runner's engine, set before the handlers are loaded (the AWS deployment never sets one). */
export function useLocalAnalyticsEngine(engine: AnalyticsEngine | undefined): void {
  localEngine = engine;
}

/**
 * The engine of the query function: the local one when the runner set it, else Athena in the workgroup
 * and database the environment names, or undefined when both say `off` (no analytics store deployed).
 */
export function analyticsEngineOf(config: FunctionConfig): AnalyticsEngine | undefined {
  if (localEngine !== undefined) return localEngine;
  const workgroup = required(config, ENV.ANALYTICS_WORKGROUP);
  const database = required(config, ENV.ANALYTICS_DATABASE);
  if ((workgroup === ANALYTICS_OFF) !== (database === ANALYTICS_OFF))
    throw new Error(`${ENV.ANALYTICS_WORKGROUP} and ${ENV.ANALYTICS_DATABASE} must both name the store or both be "${ANALYTICS_OFF}"`);
  return workgroup === ANALYTICS_OFF ? undefined : athenaEngine({ workgroup, database });
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
