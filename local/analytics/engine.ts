/**
 * The analytics engine of the local system: the query function's long summary windows run on DuckDB
 * over the local bucket's Parquet, mirrored through the S3 API as `mlship query` does, with the same SQL
 * Athena gets on AWS. Runs one at a time (they share the mirror folder).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { parameterCount } from '../../contract/analytics-queries';
import { ApiError } from '../../contract/errors';
import type { ModelManifest } from '../../contract/manifest';
import type { AnalyticsEngine, AnalyticsRow } from '../../lambda/analytics/engine';
import { mirrorAnalytics } from './mirror';

export interface DuckDbEngineOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** Folder the bucket's `analytics/` is mirrored into. */
  readonly root: string;
  readonly manifest: ModelManifest;
  /** DuckDB threads. @default 2 */
  readonly threads?: number;
}

export function duckdbEngine(opts: DuckDbEngineOptions): AnalyticsEngine {
  let queue: Promise<unknown> = Promise.resolve();
  const runOnce = async (sql: string, since: string): Promise<AnalyticsRow[]> => {
    try {
      await mirrorAnalytics(opts.s3, opts.bucket, opts.root);
    } catch (e) {
      throw new ApiError('ANALYTICS_UNAVAILABLE', `The local analytics store could not be read (${(e as Error).name}).`);
    }
    // DuckDB is loaded on the first long window, not at every start of the local system.
    const { openAnalyticsDb } = await import('./duckdb');
    const db = await openAnalyticsDb(opts.root, opts.manifest, { threads: opts.threads ?? 2 });
    try {
      const { rows } = await db.query(sql, new Array<string>(parameterCount(sql)).fill(since));
      return rows as AnalyticsRow[];
    } finally {
      db.close();
    }
  };
  return {
    name: 'duckdb',
    run(sql, since) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(since)) throw new Error(`since must be a day (yyyy-mm-dd), got "${since}"`);
      const next = queue.then(() => runOnce(sql, since));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
