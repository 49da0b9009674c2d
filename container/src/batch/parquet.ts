/**
 * Parquet datasets for the batch mode, the main thread's side. Input is read a row group at a time: the
 * footer first, then for each row group only the byte range of the columns the model needs (a ranged
 * GetObject on S3). A large group is cut into slices of rows (`parquet-slices.ts`), so one big group
 * keeps every worker busy; workers decode a group or a slice (`parquet-read.ts`). Memory holds a row
 * group's compressed bytes and a few slices decoded, never the file. (The Parquet output: `parquet-answers.ts`.)
 */
import { open } from 'node:fs/promises';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync, parquetSchema } from 'hyparquet';
import { ApiError } from '../../../contract/errors';
import type { ModelManifest } from '../../../contract/manifest';
import type { Location } from './locations';
import { columnChunkStart, toArrayBuffer } from './parquet-read';
import { type ChunkRange, groupUnits, SLICING, type Slicing } from './parquet-slices';
import type { ParquetInit, RowGroupBytes } from './types';

/** A Parquet input opened for ranged reads. */
export interface ParquetSource {
  readonly init: ParquetInit;
  readonly metadata: FileMetaData;
  /** Row groups in file order, each with the byte range of the needed columns. */
  readonly groups: readonly { readonly rowStart: number; readonly rows: number; readonly byteStart: number; readonly byteEnd: number }[];
  read(start: number, end: number): Promise<Uint8Array>;
  /** The units of work in file order: row groups, large ones cut into slices; `timed` wraps every read. */
  units(timed?: <T>(p: Promise<T>) => Promise<T>): AsyncGenerator<RowGroupBytes>;
  /** Bytes `units` has read so far. */
  bytesRead(): number;
  close(): Promise<void>;
}

/**
 * Reads the footer and checks the columns against the model; throws INVALID_HEADER naming missing features.
 * Row groups of more than `slicing.rows` rows are cut into slices where their pages allow (`parquet-slices.ts`).
 */
export async function openParquet(
  l: Location,
  s3: () => S3Client,
  m: ModelManifest,
  idColumn: string,
  slicing: Slicing = SLICING,
): Promise<ParquetSource> {
  if (m.input.kind !== 'tabular') {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Parquet datasets are for tabular models; send images as JSON Lines.');
  }
  const { byteLength, read, close } = await rangeReader(l, s3);
  try {
    const file: AsyncBuffer = { byteLength, slice: async (s, e) => toArrayBuffer(await read(s, e ?? byteLength)) };
    const metadata = await parquetMetadataAsync(file);
    const names = new Set(metadata.schema.slice(1).map((e) => e.name));
    const features = m.input.features.map((f) => f.name);
    const missing = features.filter((n) => !names.has(n));
    if (missing.length > 0) {
      throw new ApiError(
        'INVALID_HEADER',
        `The Parquet file lacks ${missing.length} of the model's features (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}). ` +
          `Its columns must be named as the features: ${features.slice(0, 3).join(', ')}, …`,
        missing[0],
      );
    }
    const hasId = names.has(idColumn);
    const columns = hasId ? [...features, idColumn] : features;
    const wanted = new Set(columns);
    // Slices need each column's pages to count rows: top-level columns without children or repetition.
    const top = parquetSchema(metadata).children;
    let flat = columns.every((n) => {
      const found = top.filter((c) => c.element.name === n);
      return found.length === 1 && found[0]?.children.length === 0 && found[0].element.repetition_type !== 'REPEATED';
    });
    const groups = metadata.row_groups.map((g, i) => {
      let byteStart = Number.POSITIVE_INFINITY;
      let byteEnd = 0;
      const chunks: ChunkRange[] = [];
      for (const c of g.columns) {
        const md = c.meta_data;
        const name = md?.path_in_schema[0] ?? '';
        if (!md || !wanted.has(name)) continue;
        const start = columnChunkStart(md);
        byteStart = Math.min(byteStart, start);
        byteEnd = Math.max(byteEnd, start + Number(md.total_compressed_size));
        chunks.push({ name, start, length: Number(md.total_compressed_size) });
      }
      if (byteEnd === 0) throw new Error(`Row group ${i} of the Parquet file holds none of the model's columns.`);
      if (chunks.length !== columns.length) flat = false;
      return { rowStart: 0, rows: Number(g.num_rows), byteStart, byteEnd, chunks };
    });
    let at = 0;
    for (const g of groups) {
      g.rowStart = at;
      at += g.rows;
    }
    let bytesRead = 0;
    const footerLength = new DataView(toArrayBuffer(await read(byteLength - 8, byteLength - 4))).getUint32(0, true) + 8;
    const footer = await read(byteLength - footerLength, byteLength);
    return {
      init: { footer, fileBytes: byteLength, columns, ...(hasId ? { idColumn } : {}) },
      metadata,
      groups,
      read,
      async *units(timed = (p) => p) {
        for (const [i, g] of groups.entries()) {
          const bytes = await timed(read(g.byteStart, g.byteEnd));
          bytesRead += bytes.byteLength;
          yield* groupUnits(i, g.rowStart, g.rows, g.byteStart, bytes, g.chunks, flat, slicing);
        }
      },
      bytesRead: () => bytesRead,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

async function rangeReader(
  l: Location,
  s3: () => S3Client,
): Promise<{ byteLength: number; read: (s: number, e: number) => Promise<Uint8Array>; close: () => Promise<void> }> {
  if (l.kind === 'file') {
    const fh = await open(l.path, 'r').catch(() => {
      throw new Error(`The input ${l.path} does not exist.`);
    });
    const { size } = await fh.stat();
    let closed: Promise<void> | undefined;
    return {
      byteLength: size,
      read: async (s, e) => {
        const out = new Uint8Array(e - s);
        let got = 0;
        while (got < out.length) {
          const { bytesRead } = await fh.read(out, got, out.length - got, s + got);
          if (bytesRead === 0) throw new Error(`${l.path} ended at byte ${s + got} while reading to ${e}.`);
          got += bytesRead;
        }
        return out;
      },
      close: () => {
        closed ??= fh.close();
        return closed;
      },
    };
  }
  const head = await s3().send(new HeadObjectCommand({ Bucket: l.bucket, Key: l.key }));
  const size = head.ContentLength;
  if (size === undefined) throw new Error(`s3://${l.bucket}/${l.key} has no length`);
  return {
    byteLength: size,
    read: async (s, e) => {
      const obj = await s3().send(new GetObjectCommand({ Bucket: l.bucket, Key: l.key, Range: `bytes=${s}-${e - 1}` }));
      if (!obj.Body) throw new Error(`s3://${l.bucket}/${l.key} has no body`);
      return obj.Body.transformToByteArray();
    },
    close: async () => undefined,
  };
}
