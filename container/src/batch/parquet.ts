/**
 * Parquet datasets for the batch mode. Input is read a row group at a time: the main thread reads the
 * footer, then for each row group only the byte range of the columns the model needs (a ranged GetObject
 * on S3), and a worker decodes it; so memory holds a few row groups, never the file. Output is written
 * a row group per batch of answers through hyparquet-writer, each flushed to the output stream at once.
 *
 * Rows are judged as JSON instances are: a row whose feature values are all plain numbers in range goes
 * straight into the packed rows; any other goes through the contract's `validateInstances` (as an object
 * of its feature values), so a reject says what the API would say of the same values. INT64 values are
 * read as numbers when they are safe integers.
 */
import { open } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Zstd } from '@hpcc-js/wasm-zstd';
import { type AsyncBuffer, type FileMetaData, parquetMetadata, parquetMetadataAsync, parquetRead } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { ApiError } from '../../../contract/errors';
import { FLOAT32_MAX, type Instance, type ModelManifest, validateInstances } from '../../../contract/manifest';
import type { Location } from './locations';
import type { ParsedChunk, Reject } from './rows';

/** What every worker needs to decode the row groups: the footer, parsed once per worker. */
export interface ParquetInit {
  /** The file's last bytes, holding the footer (metadata) and the closing magic. */
  readonly footer: Uint8Array;
  readonly fileBytes: number;
  /** Columns read: the model's features, then the id column when the file has one. */
  readonly columns: readonly string[];
  readonly idColumn?: string;
}

/** One row group's column bytes, as a worker gets them. */
export interface RowGroupBytes {
  readonly group: number;
  readonly rowStart: number;
  readonly rows: number;
  /** File offset of `bytes[0]`. */
  readonly byteStart: number;
  readonly bytes: Uint8Array;
}

/** A Parquet input opened for ranged reads. */
export interface ParquetSource {
  readonly init: ParquetInit;
  readonly metadata: FileMetaData;
  /** Row groups in file order, each with the byte range of the needed columns. */
  readonly groups: readonly { readonly rowStart: number; readonly rows: number; readonly byteStart: number; readonly byteEnd: number }[];
  read(start: number, end: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Reads the footer and checks the columns against the model; throws INVALID_HEADER naming missing features. */
export async function openParquet(l: Location, s3: () => S3Client, m: ModelManifest, idColumn: string): Promise<ParquetSource> {
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
    const groups = metadata.row_groups.map((g, i) => {
      let byteStart = Number.POSITIVE_INFINITY;
      let byteEnd = 0;
      for (const c of g.columns) {
        const md = c.meta_data;
        if (!md || !wanted.has(md.path_in_schema[0] ?? '')) continue;
        const start = Number(md.dictionary_page_offset ?? md.data_page_offset);
        byteStart = Math.min(byteStart, start);
        byteEnd = Math.max(byteEnd, start + Number(md.total_compressed_size));
      }
      if (byteEnd === 0) throw new Error(`Row group ${i} of the Parquet file holds none of the model's columns.`);
      return { rowStart: 0, rows: Number(g.num_rows), byteStart, byteEnd };
    });
    let at = 0;
    for (const g of groups) {
      g.rowStart = at;
      at += g.rows;
    }
    const footerLength = new DataView(toArrayBuffer(await read(byteLength - 8, byteLength - 4))).getUint32(0, true) + 8;
    const footer = await read(byteLength - footerLength, byteLength);
    return {
      init: { footer, fileBytes: byteLength, columns, ...(hasId ? { idColumn } : {}) },
      metadata,
      groups,
      read,
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

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? (b.buffer as ArrayBuffer) : (b.slice().buffer as ArrayBuffer);
}

let zstd: Promise<Zstd> | undefined;

/** hyparquet decodes SNAPPY and uncompressed pages itself; GZIP and ZSTD (pandas', polars' and Spark's choices) are added here. */
async function decompressors(metadata: FileMetaData): Promise<Record<string, (input: Uint8Array, outputLength: number) => Uint8Array>> {
  const codecs = new Set(metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)));
  if (codecs.has('ZSTD')) zstd ??= Zstd.load();
  const z = codecs.has('ZSTD') ? await zstd : undefined;
  return {
    GZIP: (input) => new Uint8Array(gunzipSync(input)),
    ...(z ? { ZSTD: (input: Uint8Array) => z.decompress(input) } : {}),
  };
}

/** A worker's decoder of row groups: the footer parsed once. */
export class RowGroupReader {
  private readonly metadata: FileMetaData;
  private compressors: Promise<Record<string, (input: Uint8Array, outputLength: number) => Uint8Array>> | undefined;

  constructor(private readonly init: ParquetInit) {
    this.metadata = parquetMetadata(toArrayBuffer(init.footer));
  }

  private decompressors(): Promise<Record<string, (input: Uint8Array, outputLength: number) => Uint8Array>> {
    this.compressors ??= decompressors(this.metadata);
    return this.compressors;
  }

  /** The needed columns of one row group, one array per column (index = row within the group). */
  async columns(g: RowGroupBytes): Promise<Map<string, ArrayLike<unknown>>> {
    const file: AsyncBuffer = {
      byteLength: this.init.fileBytes,
      slice: (s, e) => {
        const from = s - g.byteStart;
        const to = (e ?? this.init.fileBytes) - g.byteStart;
        if (from < 0 || to > g.bytes.length) throw new Error(`Row group ${g.group}: bytes ${s}-${e} lie outside what was read.`);
        return g.bytes.buffer.slice(g.bytes.byteOffset + from, g.bytes.byteOffset + to) as ArrayBuffer;
      },
    };
    const pieces = new Map<string, { rowStart: number; data: ArrayLike<unknown> }[]>();
    await parquetRead({
      file,
      metadata: this.metadata,
      columns: [...this.init.columns],
      rowStart: g.rowStart,
      rowEnd: g.rowStart + g.rows,
      compressors: await this.decompressors(),
      onChunk: (c) => {
        const list = pieces.get(c.columnName) ?? [];
        list.push({ rowStart: c.rowStart, data: c.columnData as ArrayLike<unknown> });
        pieces.set(c.columnName, list);
      },
    });
    const out = new Map<string, ArrayLike<unknown>>();
    for (const name of this.init.columns) {
      const list = pieces.get(name) ?? [];
      const only = list.length === 1 ? list[0] : undefined;
      if (only && only.rowStart === g.rowStart && only.data.length === g.rows) {
        out.set(name, only.data);
        continue;
      }
      const whole = new Array<unknown>(g.rows).fill(null);
      for (const p of list) for (let i = 0; i < p.data.length; i++) whole[p.rowStart - g.rowStart + i] = p.data[i];
      out.set(name, whole);
    }
    return out;
  }
}

/** Read once: an imported binding can be a getter per access. */
const MAX = FLOAT32_MAX;

/** A Parquet value as the contract sees a JSON value: safe INT64 integers as numbers, dates as ISO text. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint')
    return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  return v;
}

/**
 * Turns the columns of `rows` rows into model rows and rejects. `firstRow` is the 1-based number of the
 * first row in the file: rows without an id column are numbered by it, and rejects name it as `line`.
 */
export function parseParquetRows(
  m: ModelManifest,
  init: ParquetInit,
  columns: Map<string, ArrayLike<unknown>>,
  rows: number,
  firstRow: number,
  packs: boolean,
): ParsedChunk {
  if (m.input.kind !== 'tabular') throw new Error('Parquet datasets are for tabular models.');
  const features = m.input.features;
  const f = features.length;
  const data = features.map((x) => columns.get(x.name) ?? []);
  const idData = init.idColumn ? columns.get(init.idColumn) : undefined;
  const ints = features.map((x) => x.type === 'int');
  const ids: (string | number)[] = [];
  const rejects: Reject[] = [];
  const instances: Instance[] = [];
  const lines: number[] = [];
  // The fast way, a column at a time: every value a number float32 holds (a safe integer for int
  // features) goes straight into its row; a row with any other value is marked for the contract.
  const packed = new Float32Array(packs ? rows * f : 0);
  const slow = new Uint8Array(rows);
  if (packs) {
    for (let j = 0; j < f; j++) {
      const col = data[j] as ArrayLike<unknown>; // j < f = data.length
      const int = ints[j] === true;
      for (let r = 0; r < rows; r++) {
        const v = col[r];
        if (typeof v !== 'number' || !(Math.abs(v) <= MAX) || (int && !Number.isSafeInteger(v))) slow[r] = 1;
        else packed[r * f + j] = v;
      }
    }
  } else slow.fill(1);
  let accepted = 0;
  for (let r = 0; r < rows; r++) {
    const line = firstRow + r;
    let id: string | number = line;
    if (idData) {
      const given = plain(idData[r]);
      if ((typeof given !== 'string' || given === '') && typeof given !== 'number') {
        rejects.push({
          id: line,
          line,
          code: 'INVALID_ID',
          field: init.idColumn,
          message: `"${init.idColumn}" must be a non-empty string or a number.`,
        });
        continue;
      }
      id = given;
    }
    if (slow[r] === 0) {
      if (accepted !== r) packed.copyWithin(accepted * f, r * f, (r + 1) * f);
      ids.push(id);
      accepted++;
      continue;
    }
    const values: Record<string, unknown> = {};
    for (let j = 0; j < f; j++) values[(features[j] as { name: string }).name] = plain((data[j] as ArrayLike<unknown>)[r]); // j < f
    try {
      const [inst] = validateInstances(m, { instances: [values] }, { maxInstances: 1 });
      if (inst === undefined) throw new Error('validateInstances answered no instance');
      if (packs) {
        const row = 'values' in inst ? inst.values : inst;
        if (!(row instanceof Float32Array)) throw new Error('A float32 model was validated into a row of another type.');
        packed.set(row, accepted * f);
      } else {
        instances.push(inst);
        lines.push(line);
      }
      ids.push(id);
      accepted++;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const field = e.field?.replace(/^instances\[0\]\.?/, '') || undefined;
      rejects.push({ id, line, code: e.code, ...(field ? { field } : {}), message: e.message });
    }
  }
  return packs
    ? { ids, packed: packed.subarray(0, accepted * f), rejects, rows }
    : { ids, packed: new Float32Array(0), instances, lines, rejects, rows };
}

/** Answers of one chunk as columns, for a Parquet output. */
export interface AnswerColumns {
  readonly ids: string[];
  /** Classifiers: label index and probabilities (k per row, the manifest's label order). */
  readonly label?: Uint32Array;
  readonly probabilities?: Float64Array;
  /** Regression. */
  readonly values?: Float64Array;
}

/** Rows per row group of a Parquet output: answers are gathered until there are this many. */
const OUTPUT_ROW_GROUP = 65_536;

/**
 * Writes answers as Parquet: `id` (text), then `label` and `p_<label>` (double) for classifiers, or
 * `value` (double), the columns of the CSV output. Each row group is handed to `emit` when written; the
 * footer last, by `finish`.
 */
export class ParquetAnswers {
  private readonly writer: ParquetWriter;
  private readonly bytes = new ByteWriter();
  private readonly labels: readonly string[];
  private pending: AnswerColumns[] = [];
  private pendingRows = 0;

  constructor(
    m: ModelManifest,
    private readonly emit: (bytes: Uint8Array) => Promise<void>,
  ) {
    this.labels = m.output.kind === 'classification' ? m.output.labels : [];
    const text = (name: string) => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' });
    // Never null: a row answered NaN or Infinity is rejected, not written.
    const double = (name: string) => ({ name, type: 'DOUBLE', repetition_type: 'REQUIRED' });
    const columns =
      m.output.kind === 'classification'
        ? [text('id'), text('label'), ...this.labels.map((l) => double(`p_${l}`))]
        : [text('id'), double('value')];
    this.writer = new ParquetWriter({
      writer: this.bytes,
      schema: [{ name: 'root', num_children: columns.length }, ...columns],
      codec: 'SNAPPY',
      createdBy: 'mlship batch',
    } as unknown as ConstructorParameters<typeof ParquetWriter>[0]);
  }

  async add(a: AnswerColumns): Promise<void> {
    this.pending.push(a);
    this.pendingRows += a.ids.length;
    if (this.pendingRows >= OUTPUT_ROW_GROUP) await this.flush();
  }

  async finish(): Promise<void> {
    await this.flush();
    this.writer.finish();
    await this.drain();
  }

  private async flush(): Promise<void> {
    if (this.pendingRows === 0) return;
    const parts = this.pending;
    const n = this.pendingRows;
    this.pending = [];
    this.pendingRows = 0;
    const ids = parts.flatMap((p) => p.ids);
    const k = this.labels.length;
    // Ids are mostly distinct: plain encoding spares the writer a dictionary it would throw away.
    const columnData: { name: string; data: unknown[] | Float64Array; encoding?: string }[] = [
      { name: 'id', data: ids, encoding: 'PLAIN' },
    ];
    const doubles = (name: string, width: number, at: number, of: (p: AnswerColumns) => Float64Array | undefined) => {
      const col = new Float64Array(n);
      let r = 0;
      for (const p of parts) {
        const src = of(p) ?? new Float64Array(0);
        for (let i = 0; i < p.ids.length; i++) col[r++] = src[i * width + at] as number; // i * width + at < rows * width
      }
      columnData.push({ name, data: col, encoding: 'PLAIN' });
    };
    if (k > 0) {
      columnData.push({ name: 'label', data: parts.flatMap((p) => Array.from(p.label ?? [], (i) => this.labels[i] as string)) });
      for (let j = 0; j < k; j++) doubles(`p_${this.labels[j]}`, k, j, (p) => p.probabilities);
    } else doubles('value', 1, 0, (p) => p.values);
    this.writer.write({ columnData, rowGroupSize: n } as unknown as Parameters<ParquetWriter['write']>[0]);
    await this.drain();
  }

  /** Hands what the writer has written so far to `emit` and starts its buffer again (file offsets go on). */
  private async drain(): Promise<void> {
    const w = this.bytes;
    if (w.index === 0) return;
    const out = new Uint8Array(w.buffer.slice(0, w.index));
    w.index = 0;
    await this.emit(out);
  }
}
