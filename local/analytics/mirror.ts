/**
 * Mirrors the bucket's `analytics/` prefix into a local folder for DuckDB, through the S3 API (the
 * same calls against s3rver or a real bucket): objects already mirrored with the same size and ETag
 * are skipped, objects gone from the bucket are removed. DuckDB then reads plain files, with no S3
 * extension to download.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { PREFIX } from '../../contract/bucket';

const INDEX = '.mirror-etags.json';

export interface MirrorResult {
  downloaded: number;
  removed: number;
  objects: number;
}

export async function mirrorAnalytics(s3: S3Client, bucket: string, root: string): Promise<MirrorResult> {
  mkdirSync(root, { recursive: true });
  const indexFile = join(root, INDEX);
  const etags: Record<string, string> = existsSync(indexFile) ? JSON.parse(readFileSync(indexFile, 'utf8')) : {};
  const seen = new Set<string>();
  let downloaded = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: PREFIX.analytics, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined || !o.Key.endsWith('.parquet') || o.Key.split('/').includes('..')) continue;
      seen.add(o.Key);
      const file = join(root, o.Key);
      const tag = `${o.ETag ?? ''}:${o.Size ?? 0}`;
      if (etags[o.Key] === tag && existsSync(file)) continue;
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      const body = await got.Body?.transformToByteArray();
      if (body === undefined) throw new Error(`s3://${bucket}/${o.Key} has no body`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, body);
      etags[o.Key] = tag;
      downloaded++;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  let removed = 0;
  for (const file of listFiles(join(root, PREFIX.analytics))) {
    const key = relative(root, file).split(sep).join('/');
    if (!seen.has(key)) {
      rmSync(file);
      delete etags[key];
      removed++;
    }
  }
  writeFileSync(indexFile, JSON.stringify(etags));
  return { downloaded, removed, objects: seen.size };
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}
