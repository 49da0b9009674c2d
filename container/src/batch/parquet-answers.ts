/**
 * The Parquet output of the batch mode: `id` (text), then `label` (text, dictionary-encoded) and
 * `p_<label>` (double) for classifiers, or `value` (double); the columns of the CSV output, all required.
 *
 * hyparquet-writer's `ParquetWriter` takes a column as an array of JS values and turns each id into a
 * byte array of its own, then measures and compares every value again, all on the main thread. The
 * schema here is fixed, so each worker encodes its chunk's answers as finished data pages (`answerPages`:
 * ids as a PLAIN byte-array run, labels as RLE/bit-packed indexes into a dictionary of the manifest's
 * labels, both SNAPPY-compressed; doubles as their own PLAIN bytes, uncompressed), and the main thread only
 * lays the pages of a row group's chunks end to end, column by column, and writes the footer
 * (`ParquetAnswers`). Page headers, RLE, SNAPPY and the footer are hyparquet-writer's own functions.
 *
 * Why the doubles are not compressed: a model's float32 answers widened to doubles leave SNAPPY little
 * but their zero low bytes (about a quarter of the size saved) at about 0.2 µs a value, the largest part of
 * the output's work. (BYTE_STREAM_SPLIT would compress them well and fast, but some readers still in use
 * cannot read it.)
 */
/// <reference path="./hyparquet-pages.d.ts" />
import type { ColumnChunk, Encoding, ParquetType, RowGroup, SchemaElement } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { snappyCompress } from 'hyparquet-writer/src/snappy.js';
import type { ModelManifest } from '../../../contract/manifest';
import type { AnswerColumns, AnswerPages } from './types';

/** Rows per row group of a Parquet output: answers are gathered until there are this many. */
const OUTPUT_ROW_GROUP = 65_536;
/** Rows per data page (a page of doubles is then 512 KiB, about the 1 MiB page most writers aim at). */
const PAGE_ROWS = 65_536;
const MAGIC = 0x31524150; // "PAR1"
const utf8 = new TextEncoder();

/**
 * Ids as a PLAIN BYTE_ARRAY run (each a 4-byte little-endian length, then its UTF-8 bytes), with the least
 * and greatest in byte order (the order Parquet statistics of text use).
 */
function encodeIds(ids: readonly (string | number)[]): { bytes: Uint8Array; min?: string; max?: string } {
  let bytes = new Uint8Array(Math.max(64, ids.length * 16));
  let at = 0;
  let min = -1;
  let max = -1;
  for (const id of ids) {
    const text = typeof id === 'string' ? id : String(id);
    // A UTF-16 unit takes at most 3 bytes of UTF-8.
    if (at + 4 + text.length * 3 > bytes.length) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, at + 4 + text.length * 3));
      grown.set(bytes.subarray(0, at));
      bytes = grown;
    }
    // Most ids are ASCII: their UTF-16 units are their bytes.
    let written = 0;
    for (let i = 0, p = at + 4; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        written = utf8.encodeInto(text, bytes.subarray(at + 4)).written;
        break;
      }
      bytes[p++] = c;
      written++;
    }
    bytes[at] = written & 0xff;
    bytes[at + 1] = (written >>> 8) & 0xff;
    bytes[at + 2] = (written >>> 16) & 0xff;
    bytes[at + 3] = written >>> 24;
    if (min < 0 || compareEntries(bytes, at, min) < 0) min = at;
    if (max < 0 || compareEntries(bytes, at, max) > 0) max = at;
    at += 4 + written;
  }
  const decoder = new TextDecoder();
  const entry = (p: number) => decoder.decode(bytes.subarray(p + 4, p + 4 + lengthAt(bytes, p)));
  return { bytes: bytes.subarray(0, at), ...(min >= 0 ? { min: entry(min), max: entry(max) } : {}) };
}

function lengthAt(b: Uint8Array, p: number): number {
  return ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16) | ((b[p + 3] as number) << 24)) >>> 0;
}

/** Unsigned byte order of the two length-prefixed entries at `a` and `b`. */
function compareEntries(bytes: Uint8Array, a: number, b: number): number {
  const la = lengthAt(bytes, a);
  const lb = lengthAt(bytes, b);
  const n = Math.min(la, lb);
  for (let i = 4; i < n + 4; i++) {
    const d = (bytes[a + i] as number) - (bytes[b + i] as number);
    if (d !== 0) return d;
  }
  return la - lb;
}

/** Text compared as Parquet statistics compare it: by UTF-8 bytes. */
function compareText(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}

/** The output's columns: name, physical type, encoding. */
function outputColumns(labels: readonly string[]): { name: string; type: ParquetType; encoding: Encoding }[] {
  const text = (name: string, encoding: Encoding) => ({ name, type: 'BYTE_ARRAY' as const, encoding });
  const double = (name: string) => ({ name, type: 'DOUBLE' as const, encoding: 'PLAIN' as const });
  return labels.length > 0
    ? [text('id', 'PLAIN'), text('label', 'RLE_DICTIONARY'), ...labels.map((l) => double(`p_${l}`))]
    : [text('id', 'PLAIN'), double('value')];
}

/**
 * A chunk's answers as data pages, in the output's column order (see the file's comment): what a worker
 * sends for a Parquet output. `label` and `probabilities` (k a row) for classifiers, `values` for
 * regression models.
 */
export function answerPages(labels: readonly string[], a: AnswerColumns): AnswerPages {
  const rows = a.ids.length;
  const w = new ByteWriter();
  const facts: AnswerPages['columns'][number][] = [];
  const ids = encodeIds(a.ids);
  let idAt = 0; // pages are asked for in row order
  const idFacts = writePages(w, rows, 'PLAIN', true, (from, to) => {
    const start = idAt;
    for (let i = from; i < to; i++) idAt += 4 + lengthAt(ids.bytes, idAt);
    return ids.bytes.subarray(start, idAt);
  });
  facts.push({ ...idFacts, ...(ids.min !== undefined ? { min: ids.min, max: ids.max } : {}) });
  const k = labels.length;
  if (k > 0) {
    const label = (a.label ?? new Uint32Array(rows)).subarray(0, rows);
    const used = new Uint8Array(k);
    for (let i = 0; i < rows; i++) used[label[i] as number] = 1; // label[i] < k
    const present = labels.filter((_l, i) => used[i] === 1).sort(compareText);
    const width = Math.ceil(Math.log2(k));
    const labelFacts = writePages(w, rows, 'RLE_DICTIONARY', true, (from, to) => {
      const page = new ByteWriter();
      page.appendUint8(width);
      writeRleBitPackedHybrid(page, label.subarray(from, to), width);
      return page.getBytes();
    });
    facts.push({ ...labelFacts, ...(present.length > 0 ? { min: present[0], max: present[present.length - 1] } : {}) });
    for (let j = 0; j < k; j++) facts.push(doublePages(w, gather(a.probabilities, rows, k, j)));
  } else facts.push(doublePages(w, gather(a.values, rows, 1, 0)));
  return { rows, pages: w.getBytes(), columns: facts };
}

/** Column `at` of `rows` rows `width` wide, as its own array. */
function gather(values: Float64Array | undefined, rows: number, width: number, at: number): Float64Array {
  const src = values ?? new Float64Array(0);
  if (width === 1) return src.slice(0, rows);
  const col = new Float64Array(rows);
  for (let i = 0; i < rows; i++) col[i] = src[i * width + at] as number; // i * width + at < rows * width
  return col;
}

function doublePages(w: ByteWriter, values: Float64Array): AnswerPages['columns'][number] {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number; // i < values.length
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const bytes = littleEndian(values);
  const facts = writePages(w, values.length, 'PLAIN', false, (from, to) => bytes.subarray(from * 8, to * 8));
  return values.length > 0 ? { ...facts, min, max } : facts;
}

/**
 * Writes `rows` rows of a column as data pages v2 of at most `PAGE_ROWS` rows, each page's values from
 * `page(from, to)`, SNAPPY-compressed when `snappy`. Answers the bytes written, their uncompressed size
 * and the pages.
 */
function writePages(
  w: ByteWriter,
  rows: number,
  encoding: Encoding,
  snappy: boolean,
  page: (from: number, to: number) => Uint8Array,
): { bytes: number; uncompressed: number; pages: number } {
  const start = w.offset;
  let uncompressed = 0;
  let pages = 0;
  for (let from = 0; from < rows; from += PAGE_ROWS) {
    const n = Math.min(PAGE_ROWS, rows - from);
    const data = page(from, from + n);
    const compressed = snappy ? snappyCompress(data) : data;
    const headerStart = w.offset;
    writePageHeader(w, {
      type: 'DATA_PAGE_V2',
      uncompressed_page_size: data.length,
      compressed_page_size: compressed.length,
      data_page_header_v2: {
        num_values: n,
        num_nulls: 0,
        num_rows: n,
        encoding,
        definition_levels_byte_length: 0,
        repetition_levels_byte_length: 0,
        is_compressed: snappy,
      },
    });
    uncompressed += w.offset - headerStart + data.length;
    w.appendBytes(compressed);
    pages++;
  }
  return { bytes: w.offset - start, uncompressed, pages };
}

/** Writes answers as Parquet: the workers' pages laid out a row group at a time (see the file's comment). */
export class ParquetAnswers {
  private readonly out = new ByteWriter();
  private readonly columns: { name: string; type: ParquetType; encoding: Encoding }[];
  private readonly schema: SchemaElement[];
  /** The label column's dictionary page, SNAPPY-compressed, and its uncompressed size (header included). */
  private readonly dictionary?: { page: Uint8Array; uncompressed: number };
  private readonly rowGroups: RowGroup[] = [];
  private rows = 0;
  private pending: AnswerPages[] = [];
  private pendingRows = 0;

  constructor(
    m: ModelManifest,
    private readonly emit: (bytes: Uint8Array) => Promise<void>,
  ) {
    const labels = m.output.kind === 'classification' ? m.output.labels : [];
    this.columns = outputColumns(labels);
    // Never null: a row answered NaN or Infinity is rejected, not written.
    this.schema = [
      { name: 'root', num_children: this.columns.length },
      ...this.columns.map(
        ({ name, type }): SchemaElement =>
          type === 'DOUBLE'
            ? { name, type, repetition_type: 'REQUIRED' }
            : { name, type, converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      ),
    ];
    if (labels.length > 0) {
      const values = encodeIds(labels).bytes;
      const compressed = snappyCompress(values);
      const w = new ByteWriter();
      writePageHeader(w, {
        type: 'DICTIONARY_PAGE',
        uncompressed_page_size: values.length,
        compressed_page_size: compressed.length,
        dictionary_page_header: { num_values: labels.length, encoding: 'PLAIN' },
      });
      const headerBytes = w.offset;
      w.appendBytes(compressed);
      this.dictionary = { page: w.getBytes(), uncompressed: headerBytes + values.length };
    }
    this.out.appendUint32(MAGIC);
  }

  async add(a: AnswerPages): Promise<void> {
    this.pending.push(a);
    this.pendingRows += a.rows;
    if (this.pendingRows >= OUTPUT_ROW_GROUP) await this.flush();
  }

  async finish(): Promise<void> {
    await this.flush();
    writeMetadata(this.out, {
      version: 2,
      created_by: 'mlship batch',
      schema: this.schema,
      num_rows: BigInt(this.rows),
      row_groups: this.rowGroups,
      metadata_length: 0,
    });
    this.out.appendUint32(MAGIC);
    await this.drain();
  }

  /** Writes the pending chunks' pages as one row group, column by column. */
  private async flush(): Promise<void> {
    const n = this.pendingRows;
    if (n === 0) return;
    const parts = this.pending;
    this.pending = [];
    this.pendingRows = 0;
    const w = this.out;
    const groupStart = w.offset;
    const at = parts.map(() => 0); // where each part's next column starts in its pages
    const chunks: ColumnChunk[] = this.columns.map(({ name, type, encoding }, c) => {
      const start = w.offset;
      let uncompressed = 0;
      let dictionaryOffset: bigint | undefined;
      if (encoding === 'RLE_DICTIONARY' && this.dictionary) {
        dictionaryOffset = BigInt(w.offset);
        w.appendBytes(this.dictionary.page);
        uncompressed += this.dictionary.uncompressed;
      }
      const dataOffset = BigInt(w.offset);
      let pages = 0;
      let min: string | number | undefined;
      let max: string | number | undefined;
      const less =
        type === 'DOUBLE'
          ? (x: string | number, y: string | number) => x < y
          : (x: string | number, y: string | number) => compareText(String(x), String(y)) < 0;
      parts.forEach((p, i) => {
        const f = p.columns[c];
        if (!f) throw new Error(`A chunk's answers lack column ${name}.`);
        const from = at[i] as number; // i < parts.length = at.length
        w.appendBytes(p.pages.subarray(from, from + f.bytes));
        at[i] = from + f.bytes;
        uncompressed += f.uncompressed;
        pages += f.pages;
        if (f.min !== undefined && (min === undefined || less(f.min, min))) min = f.min;
        if (f.max !== undefined && (max === undefined || less(max, f.max))) max = f.max;
      });
      // As the format asks of doubles: a zero minimum is -0, a zero maximum +0.
      if (type === 'DOUBLE' && min === 0) min = -0;
      if (type === 'DOUBLE' && max === 0) max = 0;
      return {
        file_offset: BigInt(start),
        meta_data: {
          type,
          encodings: dictionaryOffset !== undefined ? ['PLAIN', encoding] : [encoding],
          path_in_schema: [name],
          codec: type === 'DOUBLE' ? 'UNCOMPRESSED' : 'SNAPPY',
          num_values: BigInt(n),
          total_uncompressed_size: BigInt(uncompressed),
          total_compressed_size: BigInt(w.offset - start),
          data_page_offset: dataOffset,
          ...(dictionaryOffset !== undefined ? { dictionary_page_offset: dictionaryOffset } : {}),
          statistics: {
            ...(min !== undefined ? { min_value: min, max_value: max } : {}),
            null_count: 0n,
            ...(type === 'DOUBLE' ? { nan_count: 0n } : {}),
          } as NonNullable<ColumnChunk['meta_data']>['statistics'],
          encoding_stats: [
            ...(dictionaryOffset !== undefined ? [{ page_type: 'DICTIONARY_PAGE' as const, encoding: 'PLAIN' as const, count: 1 }] : []),
            { page_type: 'DATA_PAGE_V2', encoding, count: pages },
          ],
        },
      };
    });
    let uncompressed = 0n;
    for (const c of chunks) uncompressed += c.meta_data?.total_uncompressed_size ?? 0n;
    this.rowGroups.push({
      columns: chunks,
      num_rows: BigInt(n),
      total_byte_size: uncompressed,
      total_compressed_size: BigInt(w.offset - groupStart),
    });
    this.rows += n;
    await this.drain();
  }

  /** Hands what is written so far to `emit` and starts the buffer again (file offsets go on). */
  private async drain(): Promise<void> {
    const w = this.out;
    if (w.index === 0) return;
    const bytes = new Uint8Array(w.buffer.slice(0, w.index));
    w.index = 0;
    await this.emit(bytes);
  }
}

/** The PLAIN bytes of doubles: little-endian, which a typed array's own bytes are on the platforms Node runs on. */
function littleEndian(values: Float64Array): Uint8Array {
  if (new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i] as number, true);
  return out;
}
