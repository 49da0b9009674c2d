/**
 * `mlship query` and `mlship export` against the local system: the bucket's `analytics/` prefix is
 * mirrored into `<data dir>/analytics` and queried with DuckDB; the export scans the local table.
 */

import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { NAMED_QUERIES, type NamedQuery, namedQueriesFor } from '../contract/analytics-queries';
import { type ModelBaseline, parseBaseline } from '../contract/baseline';
import { ENV } from '../contract/env';
import type { ModelManifest } from '../contract/manifest';
import { openAnalyticsDb, type QueryResult } from '../local/analytics/duckdb';
import { type ExportResult, exportLog } from '../local/analytics/export';
import { mirrorAnalytics } from '../local/analytics/mirror';
import { callApi } from './api';
import type { Target } from './target';

function localOnly(target: Target, what: string): void {
  if (target.kind !== 'local') {
    throw new Error(
      `${what} runs against the local system; on AWS use the Athena workgroup of the stack (its named queries are saved there).`,
    );
  }
}

/** The model the target serves and its baseline (`GET /model` carries it when the model has one). */
async function modelOf(target: Target): Promise<{ manifest: ModelManifest; baseline?: ModelBaseline }> {
  const info = await callApi<ModelManifest & { baseline?: unknown }>(target, '/model');
  const { baseline, ...manifest } = info;
  return { manifest: manifest as ModelManifest, baseline: baseline === undefined ? undefined : parseBaseline(baseline) };
}

export interface QueryOptions {
  named?: string;
  sql?: string;
  /** First day of the window for named queries. @default 90 days ago */
  since?: string;
  dataDir: string;
}

export async function runQuery(target: Target, opts: QueryOptions): Promise<QueryResult> {
  localOnly(target, 'mlship query');
  if ((opts.named === undefined) === (opts.sql === undefined)) throw new Error('Give either SQL or --named NAME.');
  if (opts.named !== undefined && !(NAMED_QUERIES as readonly string[]).includes(opts.named)) {
    throw new Error(`Unknown named query "${opts.named}"; one of ${NAMED_QUERIES.join(', ')}.`);
  }
  const root = join(opts.dataDir, 'analytics');
  const s3 = new S3Client(target.s3);
  try {
    await mirrorAnalytics(s3, target.bucketName, root);
  } finally {
    s3.destroy();
  }
  const { manifest, baseline } = await modelOf(target);
  const db = await openAnalyticsDb(root, manifest);
  try {
    if (opts.sql !== undefined) return await db.query(opts.sql);
    const since = opts.since ?? new Date(Date.now() - 90 * 86_400_000).toISOString().slice(0, 10);
    const supported = namedQueriesFor(manifest, baseline);
    if (!supported.includes(opts.named as NamedQuery))
      throw new Error(
        `${opts.named} needs what this model lacks (a baseline.json; class priors; tabular inputs). Available: ${supported.join(', ')}.`,
      );
    return await db.named(opts.named as NamedQuery, baseline, since);
  } finally {
    db.close();
  }
}

export async function runExport(target: Target, onProgress?: (r: ExportResult) => void): Promise<ExportResult> {
  localOnly(target, 'mlship export');
  const { manifest } = await modelOf(target);
  const ddb = new DynamoDBClient({
    endpoint: target.awsEnv[ENV.DYNAMODB_URL],
    region: target.awsEnv.AWS_REGION,
    credentials: target.s3.credentials,
  });
  const s3 = new S3Client(target.s3);
  try {
    return await exportLog(ddb, target.tableName, s3, target.bucketName, manifest, { onProgress });
  } finally {
    ddb.destroy();
    s3.destroy();
  }
}

/** A result as an aligned text table. */
export function formatResult(r: QueryResult): string {
  if (r.rows.length === 0) return '(no rows)';
  const cells = r.rows.map((row) => r.columns.map((c) => cell(row[c])));
  const widths = r.columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(r.columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(6);
  return typeof v === 'string' ? v : JSON.stringify(v);
}
