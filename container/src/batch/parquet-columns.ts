/**
 * Numeric feature columns of a Parquet row group decoded into typed arrays, one slot a row. Page headers,
 * decompression and the value encodings (PLAIN, dictionary, BYTE_STREAM_SPLIT, DELTA_BINARY_PACKED) are
 * hyparquet's own functions; what is written here is the walk over a column chunk's pages and the
 * placing of each page's values at their rows by its definition levels. hyparquet's `parquetRead`
 * assembles every nullable column into an array of boxed numbers and nulls, most of a row group's
 * decoding time; here no value becomes an object.
 *
 * Only flat columns of plain numbers are taken: a top-level FLOAT, DOUBLE, INT32 or INT64, required or
 * optional, with no logical type but a signed integer one (no decimals, dates, times or unsigned
 * integers, which hyparquet converts). Anything else in a chunk (an encoding or a page kind not listed
 * here, fewer rows than wanted) answers `undefined`, and the caller reads that column the general way.
 */
/// <reference path="./hyparquet-pages.d.ts" />
import type {
  ColumnMetaData,
  CompressionCodec,
  Compressors,
  DataReader,
  Encoding,
  PageHeader,
  ParquetType,
  SchemaElement,
} from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';
import { deltaBinaryUnpack } from 'hyparquet/src/delta.js';
import { byteStreamSplit, readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import { readPlain } from 'hyparquet/src/plain.js';

/** Values as their physical type gives them: FLOAT, DOUBLE and INT32 as doubles (exactly), INT64 as bigints. */
export type NumericValues = Float64Array | BigInt64Array;

/** A column decoded here: one value a row, and which rows are null. */
export interface NumericColumn {
  /** The value of each row; a null row holds 0. */
  readonly values: NumericValues;
  /** 1 at each null row; absent when no row is null. */
  readonly nulls?: Uint8Array;
}

export function isNumericColumn(c: unknown): c is NumericColumn {
  return typeof c === 'object' && c !== null && 'values' in c && (c.values instanceof Float64Array || c.values instanceof BigInt64Array);
}

/** The value of row `r` as hyparquet's `parquetRead` gives it: a number, a bigint (INT64) or null. */
export function numericValue(c: NumericColumn, r: number): number | bigint | null {
  return c.nulls?.[r] === 1 ? null : (c.values[r] as number | bigint);
}

const SIGNED_INTS = new Set(['INT_8', 'INT_16', 'INT_32', 'INT_64']);

/** Whether a top-level schema element (no children) holds plain numbers this module decodes. */
export function decodesAsNumbers(e: SchemaElement): boolean {
  if (e.type !== 'FLOAT' && e.type !== 'DOUBLE' && e.type !== 'INT32' && e.type !== 'INT64') return false;
  if (e.repetition_type === 'REPEATED' || (e.num_children ?? 0) > 0) return false;
  if (e.converted_type !== undefined && !SIGNED_INTS.has(e.converted_type)) return false;
  return e.logical_type === undefined || (e.logical_type.type === 'INTEGER' && e.logical_type.isSigned);
}

/**
 * Decodes `rows` rows of a column chunk, or of part of one: `bytes` holds, at `offset` and for `length`
 * bytes, its dictionary page if any, then data pages whose first `skip` rows come before the wanted ones.
 * `element` is its schema element, for which `decodesAsNumbers` holds.
 */
export function readNumericColumn(
  bytes: Uint8Array,
  offset: number,
  length: number,
  meta: ColumnMetaData,
  element: SchemaElement,
  rows: number,
  compressors: Compressors,
  skip = 0,
): NumericColumn | undefined {
  if (offset < 0 || offset + length > bytes.length) return undefined;
  const reader: DataReader = { view: new DataView(bytes.buffer, bytes.byteOffset + offset, length), offset: 0 };
  const type = meta.type;
  const optional = element.repetition_type !== 'REQUIRED';
  let out: NumericValues | undefined;
  let nulls: Uint8Array | undefined;
  let dictionary: NumericValues | undefined;
  const end = skip + rows;
  /** Rows of the pages read so far, counted from the first one's first row. */
  let row = 0;
  while (row < end) {
    if (reader.offset >= length) return undefined;
    const header = parquetHeader(reader);
    const body = new Uint8Array(reader.view.buffer, reader.view.byteOffset + reader.offset, header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    if (reader.offset > length) return undefined;
    if (header.type === 'INDEX_PAGE') continue;
    if (header.type === 'DICTIONARY_PAGE') {
      const page = decompressPage(body, header.uncompressed_page_size, meta.codec, compressors);
      const count = header.dictionary_page_header?.num_values ?? 0;
      dictionary = physical(readPlain(pageReader(page), type, count, undefined), type);
      if (!dictionary || dictionary.length !== count) return undefined;
      continue;
    }
    const data = dataPage(header, body, optional, meta.codec, compressors);
    if (!data) return undefined;
    const { n, levels } = data;
    if (row + n <= skip) {
      row += n;
      continue;
    }
    const present = presentValues(n, levels);
    const decoded = decodeValues(data.page, data.encoding, type, dictionary, present);
    if (!decoded) return undefined;
    // One page holding all the rows wanted, no null, no dictionary (the common case): its values as they are.
    if (row <= skip && row + n >= end && present === n && !decoded.indexes) {
      const values = decoded.values;
      return { values: row === skip && n === rows ? values : values.subarray(skip - row, end - row) };
    }
    out ??= type === 'INT64' ? new BigInt64Array(rows) : new Float64Array(rows);
    if (present < n) nulls ??= new Uint8Array(rows);
    place(decoded.indexes, decoded.values, out, row - skip, n, rows, present < n ? levels : undefined, nulls);
    row += n;
  }
  return nulls ? { values: out ?? new Float64Array(0), nulls } : { values: out ?? new Float64Array(0) };
}

/** A data page's value bytes (decompressed), its row count and its definition levels (absent when it has no null). */
export function dataPage(
  header: PageHeader,
  body: Uint8Array,
  optional: boolean,
  codec: CompressionCodec,
  compressors: Compressors,
): { page: DataReader; n: number; encoding: Encoding; levels?: Uint8Array } | undefined {
  if (header.type === 'DATA_PAGE' && header.data_page_header) {
    const h = header.data_page_header;
    const page = pageReader(decompressPage(body, header.uncompressed_page_size, codec, compressors));
    if (!optional) return { page, n: h.num_values, encoding: h.encoding };
    if (h.definition_level_encoding !== 'RLE') return undefined;
    const levels = new Uint8Array(h.num_values);
    readRleBitPackedHybrid(page, 1, levels);
    return { page, n: h.num_values, encoding: h.encoding, levels };
  }
  if (header.type !== 'DATA_PAGE_V2' || !header.data_page_header_v2) return undefined;
  const h = header.data_page_header_v2;
  const levelBytes = h.definition_levels_byte_length;
  if (h.repetition_levels_byte_length !== 0 || (!optional && (levelBytes > 0 || h.num_nulls !== 0))) return undefined;
  const values = body.subarray(levelBytes);
  const page = pageReader(
    h.is_compressed === false ? values : decompressPage(values, header.uncompressed_page_size - levelBytes, codec, compressors),
  );
  // Version 2 headers count the nulls: a page without any needs no levels.
  if (h.num_nulls === 0) return { page, n: h.num_values, encoding: h.encoding };
  const levels = new Uint8Array(h.num_values);
  readRleBitPackedHybrid(pageReader(body), 1, levels, levelBytes);
  return { page, n: h.num_values, encoding: h.encoding, levels };
}

/** The values a data page of `n` rows holds: one a row, or with definition levels one a non-null row. */
export function presentValues(n: number, levels: Uint8Array | undefined): number {
  if (!levels) return n;
  let present = 0;
  for (let i = 0; i < n; i++) present += levels[i] as number; // i < n = levels.length
  return present;
}

/**
 * A dictionary-encoded data page's `present` indexes (a bit width, then RLE/bit-packed runs); undefined
 * when one points past a dictionary of `size` entries.
 */
export function dictionaryIndexes(page: DataReader, present: number, size: number): Int32Array | undefined {
  const width = page.view.getUint8(page.offset++);
  const indexes = new Int32Array(present);
  if (width > 0) readRleBitPackedHybrid(page, width, indexes, page.view.byteLength - page.offset);
  for (let i = 0; i < present; i++) if ((indexes[i] as number) >= size) return undefined; // i < present = indexes.length
  return indexes;
}

export function pageReader(page: Uint8Array): DataReader {
  return { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 };
}

/** Decoded values as this module holds them (`undefined` for an array of another kind). */
function physical(values: unknown, type: string): NumericValues | undefined {
  if (Array.isArray(values) && values.length === 0) return type === 'INT64' ? new BigInt64Array(0) : new Float64Array(0);
  if (type === 'INT64') return values instanceof BigInt64Array ? values : undefined;
  if (values instanceof Float64Array) return values;
  return values instanceof Float32Array || values instanceof Int32Array ? Float64Array.from(values) : undefined;
}

/**
 * A data page's `present` values, or with a dictionary their indexes into it; undefined for an encoding
 * not read here, or an index beyond the dictionary.
 */
function decodeValues(
  page: DataReader,
  encoding: Encoding,
  type: ParquetType,
  dictionary: NumericValues | undefined,
  present: number,
): { values: NumericValues; indexes?: Int32Array } | undefined {
  if (encoding === 'PLAIN_DICTIONARY' || encoding === 'RLE_DICTIONARY') {
    if (!dictionary) return undefined;
    const indexes = dictionaryIndexes(page, present, dictionary.length);
    return indexes ? { values: dictionary, indexes } : undefined;
  }
  let values: NumericValues | undefined;
  if (encoding === 'PLAIN') values = physical(readPlain(page, type, present, undefined), type);
  else if (encoding === 'BYTE_STREAM_SPLIT') values = physical(byteStreamSplit(page, present, type, undefined), type);
  else if (encoding === 'DELTA_BINARY_PACKED' && (type === 'INT32' || type === 'INT64')) {
    const ints = type === 'INT32' ? new Int32Array(present) : new BigInt64Array(present);
    deltaBinaryUnpack(page, present, ints);
    values = physical(ints, type);
  }
  return values && values.length === present ? { values } : undefined;
}

/**
 * Writes a page's `n` values (through `indexes` when dictionary-encoded) at rows `at`…`at + n - 1` of
 * `out`, those that fall in its `rows` rows (`at` is below 0 when the page starts before them); with
 * `levels`, only at the rows whose level is 1, marking the others in `nulls`.
 */
function place(
  indexes: Int32Array | undefined,
  values: NumericValues,
  out: NumericValues,
  at: number,
  n: number,
  rows: number,
  levels: Uint8Array | undefined,
  nulls: Uint8Array | undefined,
): void {
  const from = Math.max(0, -at);
  const to = Math.min(n, rows - at);
  if (!indexes && !levels) {
    (out as Float64Array).set((values as Float64Array).subarray(from, to), at + from); // the same kind: both BigInt64Array or both Float64Array
    return;
  }
  let k = 0;
  for (let i = 0; i < to; i++) {
    if (levels && levels[i] === 0) {
      if (i >= from) (nulls as Uint8Array)[at + i] = 1; // given with levels
      continue;
    }
    if (i >= from) out[at + i] = values[indexes ? (indexes[k] as number) : k] as number; // k < present; an index < values.length
    k++;
  }
}
