/**
 * Text columns of a Parquet row group (the id column) decoded into strings, one a row, `null` for a null.
 * hyparquet's `parquetRead` turns each value into a byte array and then decodes it with a TextDecoder,
 * which on a DuckDB file of the bench's rows cost as much as decoding all thirty feature columns; here each value is cut
 * from the page's bytes once. Page headers, decompression and definition levels are hyparquet's own
 * functions, as in `parquet-columns.ts`.
 *
 * Only flat BYTE_ARRAY columns annotated as text (UTF8, STRING) with PLAIN or dictionary pages are taken;
 * anything else answers `undefined`, and the caller reads that column the general way.
 */
/// <reference path="./hyparquet-pages.d.ts" />
import type { ColumnMetaData, Compressors, DataReader, SchemaElement } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';
import { dataPage, dictionaryIndexes, pageReader, presentValues } from './parquet-columns';

/** Whether a top-level schema element (no children) holds text this module decodes. */
export function decodesAsText(e: SchemaElement): boolean {
  if (e.type !== 'BYTE_ARRAY' || e.repetition_type === 'REPEATED' || (e.num_children ?? 0) > 0) return false;
  return e.converted_type === 'UTF8' || e.logical_type?.type === 'STRING';
}

/**
 * Decodes `rows` rows of a text column chunk, or of part of one: `bytes` holds, at `offset` and for
 * `length` bytes, its dictionary page if any, then data pages whose first `skip` rows come before the
 * wanted ones (as `readNumericColumn` takes them).
 */
export function readTextColumn(
  bytes: Uint8Array,
  offset: number,
  length: number,
  meta: ColumnMetaData,
  element: SchemaElement,
  rows: number,
  compressors: Compressors,
  skip = 0,
): (string | null)[] | undefined {
  if (offset < 0 || offset + length > bytes.length) return undefined;
  const reader: DataReader = { view: new DataView(bytes.buffer, bytes.byteOffset + offset, length), offset: 0 };
  const optional = element.repetition_type !== 'REQUIRED';
  const out = new Array<string | null>(rows).fill(null);
  let dictionary: string[] | undefined;
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
      dictionary = plainStrings(pageReader(page), header.dictionary_page_header?.num_values ?? 0);
      if (!dictionary) return undefined;
      continue;
    }
    const data = dataPage(header, body, optional, meta.codec, compressors);
    if (!data) return undefined;
    const { n, levels, page } = data;
    if (row + n <= skip) {
      row += n;
      continue;
    }
    const present = presentValues(n, levels);
    let values: string[] | undefined;
    let indexes: Int32Array | undefined;
    if (data.encoding === 'PLAIN') values = plainStrings(page, present);
    else if ((data.encoding === 'PLAIN_DICTIONARY' || data.encoding === 'RLE_DICTIONARY') && dictionary) {
      indexes = dictionaryIndexes(page, present, dictionary.length);
      if (!indexes) return undefined;
      values = dictionary;
    }
    if (!values) return undefined;
    // The page's values at their rows: those that fall in the wanted ones, nulls left null.
    const at = row - skip;
    const from = Math.max(0, -at);
    const to = Math.min(n, rows - at);
    let k = 0;
    for (let i = 0; i < to; i++) {
      if (levels && levels[i] === 0) continue;
      if (i >= from) out[at + i] = values[indexes ? (indexes[k] as number) : k] as string; // k < present; an index < values.length
      k++;
    }
    row += n;
  }
  return out;
}

/** `count` PLAIN byte arrays (a 4-byte length, then the bytes) as UTF-8 strings; undefined past the page's end. */
function plainStrings(page: DataReader, count: number): string[] | undefined {
  const { view } = page;
  const buf = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  const out = new Array<string>(count);
  let p = page.offset;
  for (let i = 0; i < count; i++) {
    if (p + 4 > buf.length) return undefined;
    const len = view.getUint32(p, true);
    p += 4;
    if (p + len > buf.length) return undefined;
    out[i] = buf.toString('utf8', p, p + len);
    p += len;
  }
  page.offset = p;
  return out;
}
