/**
 * Where a batch run reads and writes: a local path or `s3://bucket/key`. S3 input is the GetObject body
 * stream, S3 output a multipart upload fed by a stream, so neither side holds the whole file.
 * `MLSHIP_S3_URL` points both at a local S3 (path-style addressing).
 */

import { closeSync, openSync, readSync, writevSync } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { PassThrough, type Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ENV } from '../../../contract/env';

export type Location =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly key: string };

const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.*)$/;

export function parseLocation(uri: string): Location {
  if (!uri.startsWith('s3://')) return { kind: 'file', path: path.resolve(uri) };
  const [, bucket, key] = S3_URI.exec(uri) ?? [];
  if (bucket === undefined || key === undefined) throw new Error(`"${uri}" is not an S3 URI like s3://bucket/batch/input/data.csv`);
  return { kind: 's3', bucket, key };
}

export function describeLocation(l: Location): string {
  return l.kind === 'file' ? l.path : `s3://${l.bucket}/${l.key}`;
}

/** An output ending in `/` is a folder or prefix: the file is named after the input, like Batch Transform's `<name>.out`. */
export function resolveOutput(output: string, input: Location): Location {
  if (!output.endsWith('/')) return parseLocation(output);
  const name = `${path.posix.basename(input.kind === 'file' ? input.path : input.key)}.out`;
  return parseLocation(`${output}${name}`);
}

export function s3Client(env: NodeJS.ProcessEnv): S3Client {
  const endpoint = env[ENV.S3_URL];
  return new S3Client({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
}

export interface OpenedInput {
  /** The input's bytes, in order. A block is only valid until the next is asked for: copy what must be kept. */
  readonly blocks: AsyncIterator<Uint8Array>;
  /**
   * Reads the bytes at `position` straight into `into` and says how many (0 at the end): a file's way,
   * so a reader may place them where they are to stay. `blocks` and `readAt` each start at byte 0.
   */
  readonly readAt?: (into: Uint8Array, position: number) => Promise<number>;
  /** Size in bytes, for progress. */
  readonly bytes?: number;
  /** Stops reading and releases the file or the connection. */
  close(): Promise<void>;
}

/** Bytes a local file's `blocks` are read by, and answers its output stream holds before it asks writers to wait. */
const FILE_BLOCK_BYTES = 1 << 20;

export async function openInput(l: Location, s3: () => S3Client): Promise<OpenedInput> {
  if (l.kind === 'file') {
    const st = await stat(l.path).catch(() => {
      throw new Error(`The input ${l.path} does not exist.`);
    });
    const file = await open(l.path, 'r');
    // Synchronous: from the page cache a read is a copy, cheaper than the hand-off to libuv's threads and
    // back; the workers have several chunks in hand meanwhile.
    const readAt = async (into: Uint8Array, position: number) => readSync(file.fd, into, 0, into.length, position);
    return { blocks: blocksAt(readAt), readAt, bytes: st.size, close: () => file.close() };
  }
  const obj = await s3().send(new GetObjectCommand({ Bucket: l.bucket, Key: l.key }));
  if (!obj.Body) throw new Error(`s3://${l.bucket}/${l.key} has no body`);
  const body = obj.Body as Readable;
  return {
    blocks: body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>,
    bytes: obj.ContentLength,
    close: async () => void body.destroy(),
  };
}

/** A file's bytes from its start, each block in a buffer of its own. */
async function* blocksAt(readAt: (into: Uint8Array, position: number) => Promise<number>): AsyncGenerator<Uint8Array> {
  for (let position = 0; ; ) {
    const block = new Uint8Array(FILE_BLOCK_BYTES);
    const n = await readAt(block, position);
    if (n === 0) return;
    position += n;
    yield block.subarray(0, n);
  }
}

/**
 * A stream that writes a file synchronously, each write as it comes: from the page cache a write is a
 * copy, cheaper on the writing thread than the hand-off to libuv's threads and back.
 */
function fileWriter(fd: number): Writable {
  const writeAll = (chunks: Uint8Array[]) => {
    let left = chunks;
    while (left.length > 0) {
      let n = writevSync(fd, left);
      // A short write (rare for a file): skip what went out, and write the rest.
      let i = 0;
      while (i < left.length && n >= (left[i] as Uint8Array).byteLength) n -= (left[i++] as Uint8Array).byteLength;
      left = left.slice(i);
      if (n > 0) left[0] = (left[0] as Uint8Array).subarray(n);
    }
  };
  const attempt = (chunks: Uint8Array[], callback: (e?: Error | null) => void) => {
    try {
      writeAll(chunks);
      callback();
    } catch (e) {
      callback(e as Error);
    }
  };
  return new Writable({
    highWaterMark: FILE_BLOCK_BYTES,
    write: (chunk: Uint8Array, _encoding, callback) => attempt([chunk], callback),
    writev: (chunks, callback) =>
      attempt(
        chunks.map((c) => c.chunk as Uint8Array),
        callback,
      ),
    destroy: (e, callback) => {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      callback(e);
    },
  });
}

/** A stream to write to, and `done()` to await once it has been ended (the upload completes then). */
export interface OpenedOutput {
  readonly stream: Writable;
  /** Bytes given to `stream.write` have been written out by the time it returns: their buffer may be reused at once. */
  readonly writesAtOnce?: boolean;
  done(): Promise<void>;
  /** Abandons the output after a failure (aborts a multipart upload). */
  abort(): Promise<void>;
}

export async function openOutput(l: Location, s3: () => S3Client, contentType: string): Promise<OpenedOutput> {
  if (l.kind === 'file') {
    await mkdir(path.dirname(l.path), { recursive: true });
    const stream = fileWriter(openSync(l.path, 'w'));
    return { stream, writesAtOnce: true, done: () => finished(stream), abort: async () => void stream.destroy() };
  }
  // The stream's buffer and the upload's part queue bound the memory, whatever the output size.
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  const upload = new Upload({
    client: s3(),
    params: { Bucket: l.bucket, Key: l.key, Body: body, ContentType: contentType },
    queueSize: 2,
    partSize: 8 * 1024 * 1024,
    leavePartsOnError: false,
  });
  const uploaded = upload.done();
  uploaded.catch(() => undefined); // awaited in done(); a failure must not go unhandled before then
  return {
    stream: body,
    done: async () => {
      await uploaded;
    },
    abort: async () => {
      body.destroy();
      await upload.abort().catch(() => undefined);
    },
  };
}
