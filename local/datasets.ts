/**
 * The training datasets `npm start` puts in the bucket: each example model's `dataset.csv` (and the
 * served model's, when it has one) under `datasets/<model>/`, where `mlship train` reads it without
 * `--data`, as a user's upload would be on AWS.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { DATASET_FILE, datasetPrefix } from '../contract/bucket';
import { MANIFEST_FILE } from '../contract/manifest';
import { readManifestFile } from '../contract/model-files';
import { PROJECT_ROOT } from './paths';
import { uploadFile } from './s3';

/** Model folders with a model.json and a dataset.csv: the examples under models/ and the served one. */
export function datasetFolders(servedModelDir: string, examplesDir = join(PROJECT_ROOT, 'models')): string[] {
  const examples = existsSync(examplesDir)
    ? readdirSync(examplesDir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => join(examplesDir, e.name))
    : [];
  const folders = [...new Set([...examples, resolve(servedModelDir)])];
  return folders.filter((dir) => existsSync(join(dir, MANIFEST_FILE)) && existsSync(join(dir, DATASET_FILE))).sort();
}

/** Uploads each folder's dataset.csv to `datasets/<manifest name>/dataset.csv`; returns the keys written. */
export async function uploadDatasets(s3: S3Client, bucket: string, folders: readonly string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const dir of folders) {
    const { name } = readManifestFile(join(dir, MANIFEST_FILE));
    const key = `${datasetPrefix(name)}${DATASET_FILE}`;
    await uploadFile(s3, bucket, key, join(dir, DATASET_FILE), 'text/csv');
    keys.push(key);
  }
  return keys;
}
