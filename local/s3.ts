/**
 * The embedded S3: s3rver on 127.0.0.1 with the data bucket, files in a folder. Clients use path-style
 * addressing and s3rver's fixed credentials (it checks SigV4 signatures like S3).
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { LOCAL_NAMES, S3RVER_CREDENTIALS } from './paths';
import { PortInUseError } from './listen';

/** s3rver ships no types; this is the part of its API the runner uses. */
interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
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
  let port: number;
  try {
    port = (await server.run()).port;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(opts.port ?? 0, 'embedded S3');
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

export function s3Client(url: string): S3Client {
  return new S3Client({ endpoint: url, region: LOCAL_NAMES.region, forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });
}

/** Uploads a file as one object (model archives are small; a restart simply writes it again). */
export async function uploadFile(client: S3Client, bucket: string, key: string, file: string, contentType = 'application/gzip'): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(file), ContentType: contentType }));
}
