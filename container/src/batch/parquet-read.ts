/**
 * The worker's side of a Parquet input: decodes the column bytes of one row group or slice of one (read
 * by the main thread, see `parquet.ts`) and turns its rows into model rows and rejects.
 *
 * Rows are judged as JSON instances are: a row whose feature values are all plain numbers in range goes
 * straight into the packed rows; any other goes through the contract's `validateInstances` (as an object
 * of its feature values), so a reject says what the API would say of the same values. INT64 values are
 * read as numbers when they are safe integers.
 */
import { gunzipSync } from 'node:zlib';
import { Zstd } from '@hpcc-js/wasm-zstd';
import {
  type AsyncBuffer,
  type ColumnChunk,
  type ColumnMetaData,
  type FileMetaData,
  parquetMetadata,
  parquetRead,
  parquetSchema,
  type SchemaElement,
} from 'hyparquet';
import { ApiError } from '../../../contract/errors';
import { FLOAT32_ROUNDS_FINITE_BELOW, type Instance, type ModelManifest, validateInstances } from '../../../contract/manifest';
import { decodesAsNumbers, isNumericColumn, type NumericColumn, numericValue, readNumericColumn } from './parquet-columns';
import { decodesAsText, readTextColumn } from './parquet-text';
import type { ParsedChunk, Reject } from './rows';
import type { ColumnPages, ParquetInit, RowGroupBytes } from './types';

/**
 * Where a column chunk's bytes start: its dictionary page, else its first data page. Some writers put 0
 * for "no dictionary page" (as hyparquet reads it, 0 is absent), and some leave the offset out while
 * `data_page_offset` points at the dictionary page itself: either way the chunk starts at the smaller.
 */
export function columnChunkStart(m: Pick<ColumnMetaData, 'dictionary_page_offset' | 'data_page_offset'>): number {
  const data = Number(m.data_page_offset);
  const dictionary = Number(m.dictionary_page_offset ?? 0);
  return dictionary > 0 && dictionary < data ? dictionary : data;
}

/** A view's bytes as an ArrayBuffer of their own (the view's buffer itself when it spans all of it). */
export function toArrayBuffer(b: Uint8Array): ArrayBuffer {
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

/** A column of a row group as the worker holds it: decoded here into typed arrays, or by hyparquet (index = row). */
export type GroupColumn = NumericColumn | ArrayLike<unknown>;

/** A worker's decoder of row groups: the footer parsed once. */
export class RowGroupReader {
  private readonly metadata: FileMetaData;
  /** The schema element of each column read that `readNumericColumn` decodes. */
  private readonly numeric = new Map<string, SchemaElement>();
  /** The schema element of each column read that `readTextColumn` decodes (the id column, as a rule). */
  private readonly text = new Map<string, SchemaElement>();
  private compressors: Promise<Record<string, (input: Uint8Array, outputLength: number) => Uint8Array>> | undefined;

  constructor(init: ParquetInit) {
    this.metadata = parquetMetadata(toArrayBuffer(init.footer));
    const top = parquetSchema(this.metadata).children;
    for (const name of init.columns) {
      const found = top.filter((c) => c.element.name === name);
      const e = found.length === 1 ? found[0]?.element : undefined;
      if (e && found[0]?.children.length === 0 && decodesAsNumbers(e)) this.numeric.set(name, e);
      else if (e && found[0]?.children.length === 0 && decodesAsText(e)) this.text.set(name, e);
    }
  }

  private decompressors(): Promise<Record<string, (input: Uint8Array, outputLength: number) => Uint8Array>> {
    this.compressors ??= decompressors(this.metadata);
    return this.compressors;
  }

  /**
   * The needed columns of one unit (a row group or a slice of one): plain numeric columns decoded into
   * typed arrays (`parquet-columns.ts`), any other through hyparquet's `parquetRead`. `general` reads
   * every column the second way (the equivalence tests set the two against each other).
   */
  async columns(g: RowGroupBytes, general = false): Promise<Map<string, GroupColumn>> {
    const out = new Map<string, GroupColumn>();
    const compressors = await this.decompressors();
    const chunks = this.metadata.row_groups[g.group]?.columns ?? [];
    for (const pages of g.columns) {
      const found = chunks.filter((c) => c.meta_data?.path_in_schema[0] === pages.name);
      const chunk = found.length === 1 ? found[0] : undefined;
      const meta = chunk?.meta_data?.path_in_schema.length === 1 ? chunk.meta_data : undefined;
      const element = general ? undefined : this.numeric.get(pages.name);
      const text = general ? undefined : this.text.get(pages.name);
      const column = !meta
        ? undefined
        : element
          ? readNumericColumn(g.bytes, pages.offset, pages.length, meta, element, g.rows, compressors, pages.skip)
          : text
            ? readTextColumn(g.bytes, pages.offset, pages.length, meta, text, g.rows, compressors, pages.skip)
            : undefined;
      out.set(pages.name, column ?? (await this.generalColumn(g, pages, compressors)));
    }
    return out;
  }

  /**
   * One column of a unit through hyparquet's `parquetRead`. Its pages are given to it as a file of one
   * row group holding just them (the group's metadata with this column's offsets and sizes in `g.bytes`),
   * and it reads the rows from `skip` on.
   */
  private async generalColumn(
    g: RowGroupBytes,
    pages: ColumnPages,
    compressors: Record<string, (input: Uint8Array, outputLength: number) => Uint8Array>,
  ): Promise<ArrayLike<unknown>> {
    const group = this.metadata.row_groups[g.group];
    const chunks = group?.columns.filter((c) => c.meta_data?.path_in_schema[0] === pages.name) ?? [];
    if (!group || chunks.length === 0) throw new Error(`Row group ${g.group} holds no column ${pages.name}.`);
    // A nested column (several chunks, one a leaf) comes whole (`parquet-slices.ts` only cuts flat ones), its chunks side by side.
    const metas = chunks.map((c) => c.meta_data as ColumnMetaData); // chunks of a column have metadata
    const first = Math.min(...metas.map(columnChunkStart));
    const alone = chunks.map((c, i): ColumnChunk => {
      const m = metas[i] as ColumnMetaData;
      const { offset_index_offset, offset_index_length, column_index_offset, column_index_length, ...rest } = c;
      const size = chunks.length === 1 ? BigInt(pages.length) : m.total_compressed_size;
      return {
        ...rest,
        meta_data: {
          ...m,
          dictionary_page_offset: undefined,
          data_page_offset: BigInt(columnChunkStart(m) - first),
          total_compressed_size: size,
        },
      };
    });
    const covered = pages.skip + g.rows;
    const metadata: FileMetaData = {
      ...this.metadata,
      num_rows: BigInt(covered),
      row_groups: [{ ...group, num_rows: BigInt(covered), columns: alone }],
    };
    const bytes = g.bytes;
    const base = pages.offset;
    const file: AsyncBuffer = {
      byteLength: pages.length,
      slice: (s, e) => {
        const to = e ?? pages.length;
        if (s < 0 || to > pages.length)
          throw new Error(`Row group ${g.group}: bytes ${s}-${e} of ${pages.name} lie outside what was read.`);
        return bytes.buffer.slice(bytes.byteOffset + base + s, bytes.byteOffset + base + to) as ArrayBuffer;
      },
    };
    const pieces: { rowStart: number; data: ArrayLike<unknown> }[] = [];
    await parquetRead({
      file,
      metadata,
      columns: [pages.name],
      rowStart: pages.skip,
      rowEnd: covered,
      compressors,
      onChunk: (c) => pieces.push({ rowStart: c.rowStart, data: c.columnData as ArrayLike<unknown> }),
    });
    const only = pieces.length === 1 ? pieces[0] : undefined;
    if (only && only.rowStart === pages.skip && only.data.length === g.rows) return only.data;
    const whole = new Array<unknown>(g.rows).fill(null);
    for (const p of pieces) {
      const from = Math.max(0, pages.skip - p.rowStart);
      const to = Math.min(p.data.length, covered - p.rowStart);
      for (let i = from; i < to; i++) whole[p.rowStart - pages.skip + i] = p.data[i];
    }
    return whole;
  }
}

/** Rows packed at a time (2,048 rows of 30 features: 240 KiB). */
const PACK_BLOCK = 2048;

/** Read once: an imported binding can be a getter per access. */
const BOUND = FLOAT32_ROUNDS_FINITE_BELOW;

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
  columns: Map<string, GroupColumn>,
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
  // A block of rows at a time, every column into it: the block's packed rows stay in cache.
  for (let from = 0; packs && from < rows; from += PACK_BLOCK) {
    const to = Math.min(rows, from + PACK_BLOCK);
    for (let j = 0; j < f; j++) {
      const col = data[j] as GroupColumn; // j < f = data.length
      const int = ints[j] === true;
      if (!isNumericColumn(col)) packValues(col, int, j, f, from, to, packed, slow);
      else if (col.values instanceof Float64Array) {
        if (int) packValues(col.values, true, j, f, from, to, packed, slow);
        else packDoubles(col.values, j, f, from, to, packed, slow);
      } else packBigInts(col.values, j, f, from, to, packed, slow);
      if (isNumericColumn(col) && col.nulls) {
        const nulls = col.nulls;
        for (let r = from; r < to; r++) if (nulls[r] === 1) slow[r] = 1;
      }
    }
  }
  if (!packs) slow.fill(1);
  let accepted = 0;
  for (let r = 0; r < rows; r++) {
    const line = firstRow + r;
    let id: string | number = line;
    if (idData) {
      const given = plain(valueAt(idData, r));
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
      lines.push(line);
      accepted++;
      continue;
    }
    const values: Record<string, unknown> = {};
    for (let j = 0; j < f; j++) values[(features[j] as { name: string }).name] = plain(valueAt(data[j] as GroupColumn, r)); // j < f
    try {
      const [inst] = validateInstances(m, { instances: [values] }, { maxInstances: 1 });
      if (inst === undefined) throw new Error('validateInstances answered no instance');
      if (packs) {
        const row = 'values' in inst ? inst.values : inst;
        if (!(row instanceof Float32Array)) throw new Error('A float32 model was validated into a row of another type.');
        packed.set(row, accepted * f);
      } else instances.push(inst);
      ids.push(id);
      lines.push(line);
      accepted++;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const field = e.field?.replace(/^instances\[0\]\.?/, '') || undefined;
      rejects.push({ id, line, code: e.code, ...(field ? { field } : {}), message: e.message });
    }
  }
  return packs
    ? { ids, packed: packed.subarray(0, accepted * f), lines, rejects, rows }
    : { ids, packed: new Float32Array(0), instances, lines, rejects, rows };
}

/** Row `r` of a column as hyparquet's `parquetRead` gives it. */
function valueAt(c: GroupColumn, r: number): unknown {
  return isNumericColumn(c) ? numericValue(c, r) : c[r];
}

/*
 * The packing loops, one a kind of column so each stays monomorphic: a value goes into `packed` at row
 * `r`, feature `j`, when the API would take it as it is (a number float32 holds; a safe integer for an
 * int feature); any other marks its row for the contract's validation.
 */

function packValues(
  col: ArrayLike<unknown>,
  int: boolean,
  j: number,
  f: number,
  from: number,
  to: number,
  packed: Float32Array,
  slow: Uint8Array,
): void {
  for (let r = from; r < to; r++) {
    const v = col[r];
    if (typeof v !== 'number' || !(Math.abs(v) < BOUND) || (int && !Number.isSafeInteger(v))) slow[r] = 1;
    else packed[r * f + j] = v;
  }
}

function packDoubles(col: Float64Array, j: number, f: number, from: number, to: number, packed: Float32Array, slow: Uint8Array): void {
  for (let r = from; r < to; r++) {
    const v = col[r] as number; // r < to <= col.length
    if (!(Math.abs(v) < BOUND)) slow[r] = 1;
    else packed[r * f + j] = v;
  }
}

/** INT64 values: those that are safe integers are the numbers `plain` makes of them; any other goes to the contract. */
function packBigInts(col: BigInt64Array, j: number, f: number, from: number, to: number, packed: Float32Array, slow: Uint8Array): void {
  const most = BigInt(Number.MAX_SAFE_INTEGER);
  for (let r = from; r < to; r++) {
    const b = col[r] as bigint; // r < to <= col.length
    const v = b >= -most && b <= most ? Number(b) : Number.NaN;
    if (!(Math.abs(v) < BOUND)) slow[r] = 1;
    else packed[r * f + j] = v;
  }
}
