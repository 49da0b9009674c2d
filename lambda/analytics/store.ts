/**
 * Writes analytics rows to the bucket: one Parquet object per table, partition and model version, under
 * a key derived from the rows themselves, so writing the same rows again (a redelivered stream batch, a
 * repeated export) replaces the object instead of adding a copy. Queries still keep one row per id
 * (`contract/analytics-queries.ts`), for rows that reach the store in two different batches.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type AnalyticsTable, analyticsObjectKey, type FeedbackRow, type PredictionRow, partitionDate } from '../../contract/analytics';
import type { ModelManifest } from '../../contract/manifest';
import { toParquet } from './parquet';

export interface WrittenObject {
  key: string;
  rows: number;
  bytes: number;
}

type Row = PredictionRow | FeedbackRow;

/** Groups rows by model, day and version: each group is one object. */
export function groupRows<R extends Row>(rows: readonly R[]): Map<string, R[]> {
  const groups = new Map<string, R[]>();
  for (const r of rows) {
    const k = `${r.model}\n${partitionDate(r.ts)}\n${r.version}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return groups;
}

/** A content-derived batch id: the same rows (in any order) give the same id. */
export function batchIdOf(table: AnalyticsTable, rows: readonly Row[]): string {
  const ids = rows.map((r) => ('received_at' in r ? `${r.id}@${r.received_at.toISOString()}` : r.id)).sort();
  return createHash('sha256').update(table).update('\n').update(ids.join('\n')).digest('hex').slice(0, 32);
}

/** The objects `rows` become: key and Parquet body per group. */
export function objectsOf(
  table: AnalyticsTable,
  rows: readonly Row[],
  manifest: ModelManifest,
): { key: string; body: Uint8Array; rows: number }[] {
  return [...groupRows(rows).values()].map((group) => {
    const first = group[0];
    // groupRows makes a group only for a row it holds.
    if (first === undefined) throw new Error('An analytics row group is empty');
    return {
      key: analyticsObjectKey(table, first.model, partitionDate(first.ts), first.version, batchIdOf(table, group)),
      body: toParquet(table, group, manifest),
      rows: group.length,
    };
  });
}

export async function writeRows(
  s3: S3Client,
  bucket: string,
  table: AnalyticsTable,
  rows: readonly Row[],
  manifest: ModelManifest,
): Promise<WrittenObject[]> {
  const written: WrittenObject[] = [];
  for (const o of objectsOf(table, rows, manifest)) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: o.body, ContentType: 'application/vnd.apache.parquet' }));
    written.push({ key: o.key, rows: o.rows, bytes: o.body.byteLength });
  }
  return written;
}
