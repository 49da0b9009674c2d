/**
 * Cuts a large Parquet row group into slices of rows, so that a file of one big row group (pandas and
 * pyarrow write up to about a million rows a group) is decoded by every worker and never held decoded
 * whole. The page headers of each column chunk are read (thrift headers; the page bodies are skipped) to
 * learn the row each page starts at; a slice then takes, of every column, its dictionary page and the
 * data pages overlapping the slice's rows, and the worker keeps only the slice's rows of them.
 *
 * A page is decoded whole, so a page cut in two is decoded by both slices: cuts go where the most columns
 * start a page, and a group whose pages are too large to cut cheaply (DuckDB writes one page a column
 * chunk) stays whole, rather than be decoded once per slice.
 */
/// <reference path="./hyparquet-pages.d.ts" />
import type { DataReader } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import type { ColumnPages, RowGroupBytes } from './types';

/** How large row groups are cut. */
export interface Slicing {
  /** Rows a slice holds at most. */
  readonly rows: number;
  /** Decoding the cuts may add at most, as a share of the group's: past it the group gets fewer slices, or none. */
  readonly maxExtraDecoding: number;
}

/**
 * 30 features of 65,536 rows decode to 15 MiB of doubles. Cutting may cost half again the group's decoding:
 * a group left whole runs on one worker while the others wait, so even that much more work ends sooner cut
 * in two; past it (a page a column chunk, as DuckDB writes) each slice would decode nearly the whole group.
 */
export const SLICING: Slicing = { rows: 65_536, maxExtraDecoding: 0.5 };

/** A needed column chunk of a row group: its bytes' start in the file and length. */
export interface ChunkRange {
  readonly name: string;
  readonly start: number;
  readonly length: number;
}

/** A column chunk's pages: the dictionary page (bytes from the chunk's start) and each data page with its first row. */
export interface ChunkPages {
  readonly dictionary: number;
  readonly pages: readonly { readonly offset: number; readonly end: number; readonly firstRow: number; readonly rows: number }[];
}

/**
 * The units of work of one row group, whose needed columns are `chunks` and whose bytes (from file offset
 * `byteStart`) are `bytes`: the whole group when it is small, when `flat` is false (a nested column, whose
 * pages count values, not rows), or when a chunk's pages do not add up to its rows; else slices of about
 * `slicing.rows` rows.
 */
export function groupUnits(
  group: number,
  rowStart: number,
  rows: number,
  byteStart: number,
  bytes: Uint8Array,
  chunks: readonly ChunkRange[],
  flat: boolean,
  slicing: Slicing,
): RowGroupBytes[] {
  const whole = (): RowGroupBytes[] => {
    // A nested column's leaves are chunks of one name: it is given as the bytes from its first to its last.
    const spans = new Map<string, { start: number; end: number }>();
    for (const c of chunks) {
      const s = spans.get(c.name);
      spans.set(c.name, { start: Math.min(s?.start ?? c.start, c.start), end: Math.max(s?.end ?? 0, c.start + c.length) });
    }
    const columns = [...spans].map(([name, s]) => ({ name, offset: s.start - byteStart, length: s.end - s.start, skip: 0 }));
    return [{ group, rowStart, rows, bytes, columns }];
  };
  if (!flat || rows <= slicing.rows) return whole();
  const scanned: ChunkPages[] = [];
  for (const c of chunks) {
    const pages = scanPages(bytes.subarray(c.start - byteStart, c.start - byteStart + c.length), rows);
    if (!pages) return whole();
    scanned.push(pages);
  }
  const cuts = chooseCuts(scanned, rows, slicing);
  if (cuts.length === 0) return whole();
  const bounds = [0, ...cuts, rows];
  const units: RowGroupBytes[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const from = bounds[k] as number; // k + 1 < bounds.length
    const to = bounds[k + 1] as number;
    const parts: { at: number; dictionary: number; start: number; end: number }[] = [];
    const columns: ColumnPages[] = [];
    let size = 0;
    chunks.forEach((c, i) => {
      const { dictionary, pages } = scanned[i] as ChunkPages; // one a chunk
      const first = pages.findIndex((p) => p.firstRow + p.rows > from);
      let last = first;
      while (last + 1 < pages.length && (pages[last + 1] as { firstRow: number }).firstRow < to) last++;
      const p0 = pages[first] as ChunkPages['pages'][number]; // rows add up, so some page holds `from`
      const p1 = pages[last] as ChunkPages['pages'][number];
      const at = c.start - byteStart;
      const length = dictionary + p1.end - p0.offset;
      parts.push({ at, dictionary, start: at + p0.offset, end: at + p1.end });
      columns.push({ name: c.name, offset: size, length, skip: from - p0.firstRow });
      size += length;
    });
    const out = new Uint8Array(size);
    let o = 0;
    for (const p of parts) {
      out.set(bytes.subarray(p.at, p.at + p.dictionary), o);
      out.set(bytes.subarray(p.start, p.end), o + p.dictionary);
      o += p.dictionary + p.end - p.start;
    }
    units.push({ group, rowStart: rowStart + from, rows: to - from, bytes: out, columns });
  }
  return units;
}

/**
 * Where to cut a group of `rows` rows into slices of at most about `slicing.rows` rows; none when every way
 * would decode more than `slicing.maxExtraDecoding` again. Each cut is taken near its even share, at the row
 * where cutting costs least: the rows of every page it falls inside (none where a column's page starts).
 * Fewer slices are tried when the cuts cost too much.
 */
export function chooseCuts(columns: readonly ChunkPages[], rows: number, slicing: Slicing): number[] {
  const budget = slicing.maxExtraDecoding * rows * columns.length;
  const starts = [...new Set(columns.flatMap((c) => c.pages.map((p) => p.firstRow)))].sort((a, b) => a - b);
  for (let n = Math.ceil(rows / slicing.rows); n >= 2; n = Math.ceil(n / 2)) {
    const cuts: number[] = [];
    let extra = 0;
    const reach = Math.floor(rows / (2 * n));
    for (let k = 1; k < n && extra <= budget; k++) {
      const target = Math.round((k * rows) / n);
      let best = target;
      let bestCost = cutCost(columns, target);
      for (const at of starts) {
        if (at <= (cuts.at(-1) ?? 0) || at <= target - reach) continue;
        if (at >= target + reach || at >= rows) break;
        const cost = cutCost(columns, at);
        if (cost < bestCost || (cost === bestCost && Math.abs(at - target) < Math.abs(best - target))) {
          best = at;
          bestCost = cost;
        }
      }
      cuts.push(best);
      extra += bestCost;
    }
    if (extra <= budget) return cuts;
  }
  return [];
}

/** Rows decoded twice if the group is cut before row `at`: each column's page that holds rows on both sides. */
function cutCost(columns: readonly ChunkPages[], at: number): number {
  let cost = 0;
  for (const { pages } of columns) {
    // The last page starting at or before `at` (binary search: pages are in row order).
    let lo = 0;
    let hi = pages.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((pages[mid] as { firstRow: number }).firstRow <= at) lo = mid;
      else hi = mid - 1;
    }
    const p = pages[lo];
    if (p && p.firstRow < at && at < p.firstRow + p.rows) cost += p.rows;
  }
  return cost;
}

/**
 * The pages of a flat column chunk of `rows` rows; undefined when they are not a dictionary page and then
 * data pages whose rows add up to `rows` (a header it cannot read, an unknown page kind).
 */
function scanPages(chunk: Uint8Array, rows: number): ChunkPages | undefined {
  const reader: DataReader = { view: new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength), offset: 0 };
  let dictionary = 0;
  const pages: { offset: number; end: number; firstRow: number; rows: number }[] = [];
  let row = 0;
  try {
    while (row < rows && reader.offset < chunk.length) {
      const offset = reader.offset;
      const header = parquetHeader(reader);
      reader.offset += header.compressed_page_size;
      if (reader.offset > chunk.length) return undefined;
      if (header.type === 'DICTIONARY_PAGE') {
        if (pages.length > 0 || offset !== 0) return undefined;
        dictionary = reader.offset;
        continue;
      }
      if (header.type === 'INDEX_PAGE') continue;
      // A flat column's page of version 1 holds a value (or null) a row; version 2 says its rows.
      const n =
        header.type === 'DATA_PAGE_V2'
          ? header.data_page_header_v2?.num_rows
          : header.type === 'DATA_PAGE'
            ? header.data_page_header?.num_values
            : undefined;
      if (n === undefined || n < 0) return undefined;
      if (n === 0) continue;
      pages.push({ offset, end: reader.offset, firstRow: row, rows: n });
      row += n;
    }
  } catch {
    return undefined;
  }
  return row === rows ? { dictionary, pages } : undefined;
}
