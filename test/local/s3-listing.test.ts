/** The embedded S3 lists like S3: a delimiter listing shows every folder, however deep its objects sit. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { modelPackageKey } from '../../contract/bucket';
import { type EmbeddedS3, s3Client, startS3 } from '../../local/s3';

const BUCKET = 'listing-test-bucket';
const KEYS = [
  modelPackageKey('breast-cancer', '1.0.0'),
  'predictions/breast-cancer/2026-11-30/01M8P0K24MZ2ZVF1KQ5FV0X9KB.json',
  'batch/input/run-1/rows.csv',
  'batch/output/run-1/rows.csv.out',
  'datasets/top.json',
  'readme.txt',
];

describe('embedded S3 listings', () => {
  let dir: string;
  let s3: EmbeddedS3;
  let client: S3Client;

  const list = async (input: { Prefix?: string; Delimiter?: string; MaxKeys?: number }) => {
    const out = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, ...input }));
    return {
      keys: (out.Contents ?? []).map((o) => o.Key),
      prefixes: (out.CommonPrefixes ?? []).map((p) => p.Prefix),
      truncated: out.IsTruncated ?? false,
    };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlship-s3-listing-'));
    s3 = await startS3({ dir, bucket: BUCKET });
    client = s3Client(s3.url);
    for (const Key of KEYS) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x' }));
  });

  afterAll(async () => {
    client.destroy();
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the top-level folders of deeply nested objects (what `aws s3 ls s3://bucket/` asks)', async () => {
    // GIVEN objects two to four levels deep WHEN listing the root with "/" THEN every first folder is a prefix
    expect(await list({ Delimiter: '/' })).toEqual({
      keys: ['readme.txt'],
      prefixes: ['batch/', 'datasets/', 'models/', 'predictions/'],
      truncated: false,
    });
  });

  it('shows the next level under a prefix, and the objects at the bottom', async () => {
    expect(await list({ Prefix: 'models/', Delimiter: '/' })).toEqual({ keys: [], prefixes: ['models/breast-cancer/'], truncated: false });
    expect(await list({ Prefix: 'batch/', Delimiter: '/' })).toEqual({
      keys: [],
      prefixes: ['batch/input/', 'batch/output/'],
      truncated: false,
    });
    expect(await list({ Prefix: 'models/breast-cancer/1.0.0/', Delimiter: '/' })).toEqual({
      keys: [modelPackageKey('breast-cancer', '1.0.0')],
      prefixes: [],
      truncated: false,
    });
  });

  it('lists every key without a delimiter', async () => {
    expect((await list({})).keys).toEqual([...KEYS].sort());
    expect((await list({ Prefix: 'batch/' })).keys).toEqual(['batch/input/run-1/rows.csv', 'batch/output/run-1/rows.csv.out']);
  });
});
