/**
 * Writes analytics rows to the bucket: one Parquet object per table, partition and model version, under
 * a key derived from the rows themselves, so writing the same rows again (a redelivered stream batch, a
 * repeated export) replaces the object instead of adding a copy. Queries still keep one row per id
 * (`contract/analytics-queries.ts`), for rows that reach the store in two different batches, until
 * compaction (`compact.ts`) folds a closed day into one object per version.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  type AnalyticsTable,
  analyticsObjectKey,
  type FeedbackRow,
  type PredictionRow,
  partitionDate,
  type ShadowRow,
} from '../../contract/analytics';
import type { ModelManifest } from '../../contract/manifest';
import type { ObjectStore } from './compact';
import { toParquet } from './parquet';

export interface WrittenObject {
  key: string;
  rows: number;
  bytes: number;
}

type Row = PredictionRow | FeedbackRow | ShadowRow;

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
export async function objectsOf(
  table: AnalyticsTable,
  rows: readonly Row[],
  manifest: ModelManifest,
): Promise<{ key: string; body: Uint8Array; rows: number }[]> {
  const out: { key: string; body: Uint8Array; rows: number }[] = [];
  for (const group of groupRows(rows).values()) {
    const first = group[0];
    // groupRows makes a group only for a row it holds.
    if (first === undefined) throw new Error('An analytics row group is empty');
    out.push({
      key: analyticsObjectKey(table, first.model, partitionDate(first.ts), first.version, batchIdOf(table, group)),
      body: await toParquet(table, group, manifest),
      rows: group.length,
    });
  }
  return out;
}

export async function writeRows(
  s3: S3Client,
  bucket: string,
  table: AnalyticsTable,
  rows: readonly Row[],
  manifest: ModelManifest,
): Promise<WrittenObject[]> {
  const written: WrittenObject[] = [];
  for (const o of await objectsOf(table, rows, manifest)) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: o.body, ContentType: 'application/vnd.apache.parquet' }));
    written.push({ key: o.key, rows: o.rows, bytes: o.body.byteLength });
  }
  return written;
}

/** The bucket as compaction's object store: keys under a prefix, whole-object reads and writes, batch deletes. */
export function s3ObjectStore(s3: S3Client, bucket: string): ObjectStore {
  return {
    async list(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys;
    },
    async get(key) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = await got.Body?.transformToByteArray();
      if (body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
      return body;
    },
    async put(key, body) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/vnd.apache.parquet' }));
    },
    async delete(keys) {
      // DeleteObjects takes up to 1,000 keys a request.
      for (let i = 0; i < keys.length; i += 1000) {
        const out = await s3.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }),
        );
        const failed = out.Errors ?? [];
        if (failed.length > 0)
          throw new Error(`${failed.length} analytics objects were not deleted (first: ${failed[0]?.Key}: ${failed[0]?.Code})`);
      }
    },
  };
}
