/**
 * The analytics tables in DuckDB: views `predictions`, `feedback` and `feature_bins` (the compactor's
 * binned counts) over a folder of Parquet files laid out as in the bucket
 * (`analytics/<table>/model=…/dt=…/*.parquet`), with the Hive partitions read from the path as strings,
 * as Athena's projection reads them. The named queries run here unchanged.
 */

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ANALYTICS_TABLES, type ColumnSpec, type ColumnType, PARTITION_KEYS, tableColumns, tablePrefix } from '../../contract/analytics';
import { type NamedQuery, namedQuerySql, parameterCount } from '../../contract/analytics-queries';
import type { ModelBaseline } from '../../contract/baseline';
import { FEATURE_BINS_COLUMNS, FEATURE_BINS_PREFIX, FEATURE_BINS_TABLE } from '../../contract/feature-bins';
import type { ModelManifest } from '../../contract/manifest';

/** The DuckDB type of each analytics column type (the views and the bench's staging table use it). */
export const DUCKDB_TYPE: Record<ColumnType, string> = {
  string: 'VARCHAR',
  double: 'DOUBLE',
  float: 'FLOAT',
  timestamp: 'TIMESTAMPTZ',
};

export interface QueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
}

export interface AnalyticsDb {
  /** Runs SQL; `params` fill its `?` placeholders in order. */
  query(sql: string, params?: (string | number)[]): Promise<QueryResult>;
  /** Runs a named query over the days from `since` (yyyy-mm-dd) on. */
  named(name: NamedQuery, baseline: ModelBaseline | undefined, since: string): Promise<QueryResult>;
  close(): void;
}

function hasParquet(dir: string): boolean {
  if (!existsSync(dir)) return false;
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory() ? hasParquet(p) : entry.endsWith('.parquet')) return true;
  }
  return false;
}

/**
 * The view of one table: the files when there are any, else an empty relation of the model's columns. A
 * column no file has yet (`compacted_at` in a store written before compaction existed) reads as NULL, as
 * Athena reads a Glue column a file lacks.
 */
async function viewSql(conn: DuckDBConnection, table: string, dir: string, specs: readonly ColumnSpec[]): Promise<string> {
  if (hasParquet(dir)) {
    const glob = join(dir, '**', '*.parquet').replace(/'/g, "''");
    const files = `read_parquet('${glob}', hive_partitioning = true, hive_types_autocast = false, union_by_name = true)`;
    const present = new Set((await conn.runAndReadAll(`SELECT * FROM ${files} LIMIT 0`)).columnNames());
    const missing = specs.filter((c) => !present.has(c.name)).map((c) => `, CAST(NULL AS ${DUCKDB_TYPE[c.type]}) AS ${c.name}`);
    return `CREATE OR REPLACE VIEW ${table} AS SELECT *${missing.join('')} FROM ${files}`;
  }
  const columns = [
    ...specs.map((c) => `CAST(NULL AS ${DUCKDB_TYPE[c.type]}) AS ${c.name}`),
    ...PARTITION_KEYS.map((k) => `CAST(NULL AS VARCHAR) AS ${k}`),
  ];
  return `CREATE OR REPLACE VIEW ${table} AS SELECT ${columns.join(', ')} WHERE false`;
}

/** Opens an in-memory DuckDB over the Parquet store of `manifest`'s model mirrored (or written) under `root`. */
export async function openAnalyticsDb(root: string, manifest: ModelManifest, opts: { threads?: number } = {}): Promise<AnalyticsDb> {
  const instance = await DuckDBInstance.create(':memory:', opts.threads !== undefined ? { threads: String(opts.threads) } : {});
  const conn: DuckDBConnection = await instance.connect();
  for (const table of ANALYTICS_TABLES)
    await conn.run(await viewSql(conn, table, join(root, tablePrefix(table)), tableColumns(table, manifest)));
  await conn.run(await viewSql(conn, FEATURE_BINS_TABLE, join(root, FEATURE_BINS_PREFIX), FEATURE_BINS_COLUMNS));
  const query = async (sql: string, params: (string | number)[] = []): Promise<QueryResult> => {
    const reader = await conn.runAndReadAll(sql, params.length > 0 ? params : undefined);
    return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Record<string, unknown>[] };
  };
  return {
    query,
    named: (name, baseline, since) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(since)) throw new Error(`since must be a day (yyyy-mm-dd), got "${since}"`);
      const sql = namedQuerySql(name, manifest, baseline);
      return query(sql, new Array<string>(parameterCount(sql)).fill(since));
    },
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}
