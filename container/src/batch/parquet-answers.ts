/**
 * The Parquet output of the batch mode: `id` (text), then `label` (text, dictionary-encoded) and
 * `p_<label>` (double) for classifiers, or `value` (double); the columns of the CSV output, all required.
 *
 * hyparquet-writer's `ParquetWriter` takes a column as an array of JS values and turns each id into a
 * byte array of its own, then compares and measures every value again: most of the main thread's time on
 * a Parquet output. The schema here is fixed, so the column chunks are laid out directly: the workers send
 * the ids already as a PLAIN byte-array run (`encodeIds`), doubles are their own PLAIN bytes, labels are
 * indexes into a dictionary page of the manifest's labels. The page headers, the RLE/bit-packed indexes,
 * SNAPPY and the footer are hyparquet-writer's own functions. One row group per `OUTPUT_ROW_GROUP` rows
 * (about), each handed to `emit` when written; the footer last, by `finish`.
 */
/// <reference path="./hyparquet-pages.d.ts" />
import type { ColumnChunk, Encoding, ParquetType, RowGroup, SchemaElement } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { snappyCompress } from 'hyparquet-writer/src/snappy.js';
import type { ModelManifest } from '../../../contract/manifest';
import type { AnswerColumns, EncodedIds } from './types';

/** Rows per row group of a Parquet output: answers are gathered until there are this many. */
const OUTPUT_ROW_GROUP = 65_536;
/** Rows per data page (a page of doubles is then 512 KiB, about the 1 MiB page most writers aim at). */
const PAGE_ROWS = 65_536;
const MAGIC = 0x31524150; // "PAR1"
const utf8 = new TextEncoder();

/**
 * Ids as a PLAIN BYTE_ARRAY run (each a 4-byte little-endian length, then its UTF-8 bytes), with the least
 * and greatest in byte order (the order Parquet statistics of text use). Runs on the workers.
 */
export function encodeIds(ids: readonly (string | number)[]): EncodedIds {
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
  return { bytes: bytes.slice(0, at), count: ids.length, ...(min >= 0 ? { min: entry(min), max: entry(max) } : {}) };
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

interface Page {
  /** Uncompressed values of the page. */
  readonly data: Uint8Array;
  readonly rows: number;
  readonly encoding: Encoding;
}

/** Writes answers as Parquet (see the file's comment). */
export class ParquetAnswers {
  private readonly out = new ByteWriter();
  private readonly labels: readonly string[];
  private readonly schema: SchemaElement[];
  /** The dictionary page's values: the labels, PLAIN-encoded. */
  private readonly labelDictionary: Uint8Array;
  private readonly rowGroups: RowGroup[] = [];
  private rows = 0;
  private pending: AnswerColumns[] = [];
  private pendingRows = 0;

  constructor(
    m: ModelManifest,
    private readonly emit: (bytes: Uint8Array) => Promise<void>,
  ) {
    this.labels = m.output.kind === 'classification' ? m.output.labels : [];
    const text = (name: string): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' });
    // Never null: a row answered NaN or Infinity is rejected, not written.
    const double = (name: string): SchemaElement => ({ name, type: 'DOUBLE', repetition_type: 'REQUIRED' });
    const columns =
      m.output.kind === 'classification'
        ? [text('id'), text('label'), ...this.labels.map((l) => double(`p_${l}`))]
        : [text('id'), double('value')];
    this.schema = [{ name: 'root', num_children: columns.length }, ...columns];
    this.labelDictionary = encodeIds(this.labels).bytes;
    this.out.appendUint32(MAGIC);
  }

  async add(a: AnswerColumns): Promise<void> {
    this.pending.push(a);
    this.pendingRows += a.ids.count;
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

  /** Writes the pending answers as one row group. */
  private async flush(): Promise<void> {
    const n = this.pendingRows;
    if (n === 0) return;
    const parts = this.pending;
    this.pending = [];
    this.pendingRows = 0;
    const start = this.out.offset;
    const columns: ColumnChunk[] = [this.idColumn(parts, n)];
    const k = this.labels.length;
    if (k > 0) {
      const label = new Uint32Array(n);
      let r = 0;
      for (const p of parts) {
        label.set((p.label ?? new Uint32Array(p.ids.count)).subarray(0, p.ids.count), r);
        r += p.ids.count;
      }
      columns.push(this.labelColumn(label));
      for (let j = 0; j < k; j++)
        columns.push(
          this.doubleColumn(
            `p_${this.labels[j]}`,
            gather(parts, n, k, j, (p) => p.probabilities),
          ),
        );
    } else
      columns.push(
        this.doubleColumn(
          'value',
          gather(parts, n, 1, 0, (p) => p.values),
        ),
      );
    let uncompressed = 0n;
    for (const c of columns) uncompressed += c.meta_data?.total_uncompressed_size ?? 0n;
    this.rowGroups.push({
      columns,
      num_rows: BigInt(n),
      total_byte_size: uncompressed,
      total_compressed_size: BigInt(this.out.offset - start),
    });
    this.rows += n;
    await this.drain();
  }

  private idColumn(parts: readonly AnswerColumns[], n: number): ColumnChunk {
    const all = parts.length === 1 ? (parts[0] as AnswerColumns).ids.bytes : concat(parts.map((p) => p.ids.bytes));
    const pages: Page[] = [];
    for (let row = 0, at = 0; row < n; ) {
      const rows = Math.min(PAGE_ROWS, n - row);
      let end = at;
      for (let i = 0; i < rows; i++) end += 4 + lengthAt(all, end);
      pages.push({ data: all.subarray(at, end), rows, encoding: 'PLAIN' });
      row += rows;
      at = end;
    }
    let min: string | undefined;
    let max: string | undefined;
    for (const { ids } of parts) {
      if (ids.min !== undefined && (min === undefined || compareText(ids.min, min) < 0)) min = ids.min;
      if (ids.max !== undefined && (max === undefined || compareText(ids.max, max) > 0)) max = ids.max;
    }
    return this.column('id', 'BYTE_ARRAY', n, pages, undefined, { min_value: min, max_value: max, null_count: 0n });
  }

  private labelColumn(label: Uint32Array): ColumnChunk {
    const k = this.labels.length;
    const used = new Uint8Array(k);
    for (let i = 0; i < label.length; i++) used[label[i] as number] = 1; // label[i] < k
    const present = this.labels.filter((_l, i) => used[i] === 1).sort(compareText);
    const width = Math.ceil(Math.log2(k));
    const pages: Page[] = [];
    for (let row = 0; row < label.length; row += PAGE_ROWS) {
      const w = new ByteWriter();
      w.appendUint8(width);
      writeRleBitPackedHybrid(w, label.subarray(row, row + PAGE_ROWS), width);
      pages.push({ data: w.getBytes(), rows: Math.min(PAGE_ROWS, label.length - row), encoding: 'RLE_DICTIONARY' });
    }
    const stats = { min_value: present[0], max_value: present[present.length - 1], null_count: 0n };
    return this.column('label', 'BYTE_ARRAY', label.length, pages, { data: this.labelDictionary, count: k }, stats);
  }

  private doubleColumn(name: string, values: Float64Array): ColumnChunk {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number; // i < values.length
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const pages: Page[] = [];
    const bytes = littleEndian(values);
    for (let row = 0; row < values.length; row += PAGE_ROWS) {
      pages.push({
        data: bytes.subarray(row * 8, (row + PAGE_ROWS) * 8),
        rows: Math.min(PAGE_ROWS, values.length - row),
        encoding: 'PLAIN',
      });
    }
    // As the format asks: a zero minimum is -0, a zero maximum +0.
    const stats = values.length
      ? { min_value: min === 0 ? -0 : min, max_value: max === 0 ? 0 : max, null_count: 0n, nan_count: 0n }
      : undefined;
    return this.column(name, 'DOUBLE', values.length, pages, undefined, stats);
  }

  /** Writes a column chunk (its dictionary page first, if any) and answers its metadata. */
  private column(
    name: string,
    type: ParquetType,
    rows: number,
    pages: readonly Page[],
    dictionary: { data: Uint8Array; count: number } | undefined,
    statistics: Record<string, unknown> | undefined,
  ): ColumnChunk {
    const w = this.out;
    const start = w.offset;
    let uncompressed = 0;
    let dictionaryOffset: bigint | undefined;
    if (dictionary) {
      dictionaryOffset = BigInt(w.offset);
      const compressed = snappyCompress(dictionary.data);
      const headerStart = w.offset;
      writePageHeader(w, {
        type: 'DICTIONARY_PAGE',
        uncompressed_page_size: dictionary.data.length,
        compressed_page_size: compressed.length,
        dictionary_page_header: { num_values: dictionary.count, encoding: 'PLAIN' },
      });
      uncompressed += w.offset - headerStart + dictionary.data.length;
      w.appendBytes(compressed);
    }
    const dataOffset = BigInt(w.offset);
    for (const page of pages) {
      const compressed = snappyCompress(page.data);
      const headerStart = w.offset;
      writePageHeader(w, {
        type: 'DATA_PAGE_V2',
        uncompressed_page_size: page.data.length,
        compressed_page_size: compressed.length,
        data_page_header_v2: {
          num_values: page.rows,
          num_nulls: 0,
          num_rows: page.rows,
          encoding: page.encoding,
          definition_levels_byte_length: 0,
          repetition_levels_byte_length: 0,
          is_compressed: true,
        },
      });
      uncompressed += w.offset - headerStart + page.data.length;
      w.appendBytes(compressed);
    }
    const encoding = pages[0]?.encoding ?? 'PLAIN';
    return {
      file_offset: BigInt(start),
      meta_data: {
        type,
        encodings: dictionary ? ['PLAIN', encoding] : [encoding],
        path_in_schema: [name],
        codec: 'SNAPPY',
        num_values: BigInt(rows),
        total_uncompressed_size: BigInt(uncompressed),
        total_compressed_size: BigInt(w.offset - start),
        data_page_offset: dataOffset,
        ...(dictionaryOffset !== undefined ? { dictionary_page_offset: dictionaryOffset } : {}),
        ...(statistics ? { statistics: statistics as NonNullable<ColumnChunk['meta_data']>['statistics'] } : {}),
        encoding_stats: [
          ...(dictionary ? [{ page_type: 'DICTIONARY_PAGE' as const, encoding: 'PLAIN' as const, count: 1 }] : []),
          { page_type: 'DATA_PAGE_V2', encoding, count: pages.length },
        ],
      },
    };
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

/** Column `at` of the `width`-wide rows of every part, as one array of `n` doubles. */
function gather(
  parts: readonly AnswerColumns[],
  n: number,
  width: number,
  at: number,
  of: (p: AnswerColumns) => Float64Array | undefined,
): Float64Array {
  const col = new Float64Array(n);
  let r = 0;
  for (const p of parts) {
    const src = of(p) ?? new Float64Array(0);
    const rows = p.ids.count;
    if (width === 1) col.set(src.subarray(0, rows), r);
    else for (let i = 0; i < rows; i++) col[r + i] = src[i * width + at] as number; // i * width + at < rows * width
    r += rows;
  }
  return col;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The PLAIN bytes of doubles: little-endian, which a typed array's own bytes are on the platforms Node runs on. */
function littleEndian(values: Float64Array): Uint8Array {
  if (new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i] as number, true);
  return out;
}
