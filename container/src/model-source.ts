/**
 * Finds the model directory: `--model DIR`, then `MODEL_DIR`, then `MODEL_S3_URI` (downloaded once and
 * cached on local disk), then SageMaker's `/opt/ml/model`.
 */

import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import * as tar from 'tar';
import { ENV } from '../../contract/env';
import { MANIFEST_FILE } from '../../contract/manifest';

/** Where SageMaker mounts the model data. */
export const SAGEMAKER_MODEL_DIR = '/opt/ml/model';

/** Largest model package or prefix accepted from S3. */
const MAX_MODEL_BYTES = 2 * 1024 * 1024 * 1024;

export interface ModelSourceOptions {
  /** `--model DIR` from the command line. */
  readonly modelDir?: string;
  /** Environment to read `MODEL_DIR`, `MODEL_S3_URI`, `MLSHIP_S3_URL` (and access keys, when it holds them) from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Local cache for downloaded models. @default <tmpdir>/mlship-model-cache */
  readonly cacheDir?: string;
  /** Credentials of the download (s3rver's fixed pair locally). @default - the SDK's default chain (the task or execution role on AWS) */
  readonly credentials?: S3ClientConfig['credentials'];
}

export async function resolveModelDir(opts: ModelSourceOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  if (opts.modelDir) return opts.modelDir;
  const dir = env[ENV.MODEL_DIR];
  if (dir) return dir;
  const uri = env[ENV.MODEL_S3_URI];
  if (uri)
    return downloadModel(uri, {
      s3Url: env[ENV.S3_URL],
      region: env.AWS_REGION,
      cacheDir: opts.cacheDir,
      credentials: opts.credentials ?? credentialsOf(env),
    });
  if (existsSync(path.join(SAGEMAKER_MODEL_DIR, MANIFEST_FILE))) return SAGEMAKER_MODEL_DIR;
  throw new Error(
    `No model to serve: pass --model DIR, or set ${ENV.MODEL_DIR} or ${ENV.MODEL_S3_URI}, or mount one at ${SAGEMAKER_MODEL_DIR}.`,
  );
}

export interface ChallengerSourceOptions {
  /** `--challenger DIR` from the command line. */
  readonly challengerDir?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly cacheDir?: string;
}

/** The challenger's directory: `--challenger DIR`, `CHALLENGER_MODEL_DIR`, `CHALLENGER_MODEL_S3_URI` (downloaded); undefined for none. */
export async function resolveChallengerDir(opts: ChallengerSourceOptions = {}): Promise<string | undefined> {
  const env = opts.env ?? process.env;
  if (opts.challengerDir) return opts.challengerDir;
  const dir = env[ENV.CHALLENGER_MODEL_DIR];
  if (dir) return dir;
  const uri = env[ENV.CHALLENGER_MODEL_S3_URI];
  if (!uri) return undefined;
  return downloadModel(uri, { s3Url: env[ENV.S3_URL], region: env.AWS_REGION, credentials: credentialsOf(env), cacheDir: opts.cacheDir });
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const [, bucket, key] = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.*)$/.exec(uri) ?? [];
  if (bucket === undefined || key === undefined)
    throw new Error(`${ENV.MODEL_S3_URI} must look like s3://bucket/models/<name>/<version>/model.tar.gz or a prefix, got "${uri}"`);
  return { bucket, key };
}

export interface DownloadOptions {
  /** Endpoint override (s3rver locally); path-style addressing is used with it. */
  readonly s3Url?: string;
  readonly region?: string;
  readonly cacheDir?: string;
  /** @default - the SDK's default chain */
  readonly credentials?: S3ClientConfig['credentials'];
}

/** Keys given in the environment a caller passed (the local runner's for its S3 stand-in); else the default chain. */
export function credentialsOf(env: NodeJS.ProcessEnv): DownloadOptions['credentials'] {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

/**
 * Downloads `s3://bucket/…/model.tar.gz` (extracted) or every object under a prefix into the cache,
 * keyed by the URI, and returns the directory holding `model.json`. A finished download is reused.
 */
export async function downloadModel(uri: string, opts: DownloadOptions = {}): Promise<string> {
  const { bucket, key } = parseS3Uri(uri);
  const cacheDir = opts.cacheDir ?? path.join(os.tmpdir(), 'mlship-model-cache');
  const target = path.join(cacheDir, createHash('sha256').update(uri).digest('hex').slice(0, 16));
  if (existsSync(path.join(target, MANIFEST_FILE))) return target;

  const s3 = new S3Client({
    region: opts.region ?? 'us-east-1',
    ...(opts.s3Url ? { endpoint: opts.s3Url, forcePathStyle: true } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  await mkdir(cacheDir, { recursive: true });
  // Download into a scratch directory and rename: a crash mid-download never leaves a half model cached.
  const scratch = await mkdtemp(path.join(cacheDir, 'tmp-'));
  try {
    if (/\.(tar\.gz|tgz)$/.test(key)) await fetchPackage(s3, bucket, key, scratch);
    else await fetchPrefix(s3, bucket, key.endsWith('/') || key === '' ? key : `${key}/`, scratch);
    const root = await findManifestDir(scratch);
    await rm(target, { recursive: true, force: true });
    await rename(root, target);
    return target;
  } finally {
    await rm(scratch, { recursive: true, force: true });
    s3.destroy();
  }
}

async function fetchPackage(s3: S3Client, bucket: string, key: string, into: string): Promise<void> {
  const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if ((obj.ContentLength ?? 0) > MAX_MODEL_BYTES) throw new Error(`s3://${bucket}/${key} is larger than ${MAX_MODEL_BYTES} bytes`);
  // tar strips absolute paths and `..` entries, so a package cannot write outside `into`.
  await pipeline(obj.Body as Readable, tar.x({ cwd: into, strict: true }));
}

async function fetchPrefix(s3: S3Client, bucket: string, prefix: string, into: string): Promise<void> {
  let token: string | undefined;
  let total = 0;
  let count = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (!o.Key || o.Key.endsWith('/')) continue;
      const rel = o.Key.slice(prefix.length);
      if (rel.split('/').some((part) => part === '..' || part === '')) throw new Error(`Refusing S3 key ${o.Key}`);
      total += o.Size ?? 0;
      if (total > MAX_MODEL_BYTES) throw new Error(`s3://${bucket}/${prefix} holds more than ${MAX_MODEL_BYTES} bytes`);
      const file = path.join(into, rel);
      await mkdir(path.dirname(file), { recursive: true });
      const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      await pipeline(obj.Body as Readable, createWriteStream(file));
      count++;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (count === 0) throw new Error(`No objects under s3://${bucket}/${prefix}`);
}

/** The package's root, or its single top-level folder when it was packed with one. */
async function findManifestDir(dir: string): Promise<string> {
  if (existsSync(path.join(dir, MANIFEST_FILE))) return dir;
  const entries = await readdir(dir, { withFileTypes: true });
  const dirs = entries.filter((e) => e.isDirectory());
  const only = dirs.length === 1 ? dirs[0] : undefined;
  if (only && existsSync(path.join(dir, only.name, MANIFEST_FILE))) return path.join(dir, only.name);
  throw new Error(`The model package has no ${MANIFEST_FILE} at its root`);
}
