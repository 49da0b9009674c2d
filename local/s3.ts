/**
 * The embedded S3: s3rver on 127.0.0.1 with the data bucket, files in a folder. Clients use path-style
 * addressing and s3rver's fixed credentials (it checks SigV4 signatures like S3).
 */

import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ENV } from '../contract/env';
import { errorCode } from '../contract/errors';
import { PortInUseError } from './listen';
import { LOCAL_NAMES, S3RVER_CREDENTIALS } from './paths';

/** s3rver ships no types; this is the part of its API the runner uses. */
interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
  store: S3rverStore;
}

interface ListOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}
interface ListResult {
  objects: { key: string }[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
/** s3rver's filesystem store: the bucket controller lists through `listObjects`. */
interface S3rverStore {
  listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
  vhostBuckets: boolean;
}) => S3rverInstance;
const S3rver = require('s3rver') as S3rverClass;

export interface EmbeddedS3 {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startS3(opts: { dir: string; bucket: string; port?: number }): Promise<EmbeddedS3> {
  mkdirSync(opts.dir, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port ?? 0,
    directory: opts.dir,
    silent: true,
    configureBuckets: [{ name: opts.bucket }],
    // Path-style only, as the handlers' clients use it.
    vhostBuckets: false,
  });
  listWithDelimiterAsS3(server.store);
  let port: number;
  try {
    port = (await server.run()).port;
  } catch (e) {
    if (errorCode(e) === 'EADDRINUSE') throw new PortInUseError(opts.port ?? 0, 'embedded S3');
    throw e;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      server.httpServer?.closeAllConnections();
      await server.close();
    },
  };
}

/**
 * s3rver 3.7.1 skips folders nested more than one level below a delimiter listing: `aws s3 ls
 * s3://bucket/` showed no `models/` because every model object sits deeper. A listing with a delimiter
 * is therefore built here from the full listing under the prefix, grouped as S3 groups it: keys with the
 * delimiter after the prefix become one common prefix each, the rest are objects (up to maxKeys).
 */
export function listWithDelimiterAsS3(store: S3rverStore): void {
  const list = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const delimiter = options.delimiter ?? '';
    if (delimiter === '') return list(bucket, options);
    const prefix = options.prefix ?? '';
    const maxKeys = options.maxKeys ?? Infinity;
    const all = await list(bucket, { ...options, delimiter: '', maxKeys: Infinity });
    const commonPrefixes = new Set<string>();
    const objects: ListResult['objects'] = [];
    let isTruncated = false;
    for (const object of [...all.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
      const at = object.key.indexOf(delimiter, prefix.length);
      if (at !== -1) commonPrefixes.add(object.key.slice(0, at + delimiter.length));
      else if (objects.length < maxKeys) objects.push(object);
      else isTruncated = true;
    }
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
  };
}

/** The environment the model server's download reads: the model's S3 URI, the stand-in's address and its credentials. */
export function modelSourceEnv(modelS3Uri: string, s3Url: string): NodeJS.ProcessEnv {
  return {
    [ENV.MODEL_S3_URI]: modelS3Uri,
    [ENV.S3_URL]: s3Url,
    AWS_REGION: LOCAL_NAMES.region,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  };
}

export function s3Client(url: string): S3Client {
  return new S3Client({ endpoint: url, region: LOCAL_NAMES.region, forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });
}

/** Uploads a file as one object (model archives are small; a restart simply writes it again). */
export async function uploadFile(
  client: S3Client,
  bucket: string,
  key: string,
  file: string,
  contentType = 'application/gzip',
): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(file), ContentType: contentType }));
}
