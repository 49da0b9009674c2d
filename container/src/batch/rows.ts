/**
 * Turns a chunk of dataset lines into model rows and rejects. The CSV path reads numbers straight from
 * the bytes (the common case: plain decimals); any line the fast path does not take is handed to the
 * contract's `csvRow`, which either accepts it or throws the error code and message the API would give.
 * So the batch mode accepts exactly what `POST /invocations` accepts, only faster.
 */

import { parseCsv } from '../../../contract/csv';
import { ApiError, type ErrorCode, errorMessage, isApiError } from '../../../contract/errors';
import { csvRow, type Instance, type ModelManifest, type Row, type TabularInput, validateInstances } from '../../../contract/manifest';
import { CsvRecords, countLines } from './lines';
import type { CsvLayout } from './types';

export interface Reject {
  readonly id: string | number;
  /** 1-based line of the file. */
  readonly line: number;
  readonly code: ErrorCode;
  readonly field?: string;
  readonly message: string;
}

export interface ParsedChunk {
  /** Ids of the accepted rows, in file order ('' where `idSpans` holds the id). */
  readonly ids: (string | number)[];
  /**
   * Plain ids (printable ASCII without quotes or backslashes, so written as they stand in CSV and JSON)
   * as byte ranges of `source`: `[start, end)` of row i at `2i`, start -1 where `ids` holds the id.
   */
  readonly idSpans?: Int32Array;
  readonly source?: Uint8Array;
  /** Accepted rows: tabular values packed row after row, or instances still to decode (images). */
  readonly packed: Float32Array;
  readonly instances?: Instance[];
  /** 1-based line of each accepted row, for rejects found after parsing (decoding, a model answering NaN). */
  readonly lines?: ArrayLike<number>;
  readonly rejects: Reject[];
  /** Data rows seen (accepted + rejected). */
  readonly rows: number;
}

const NL = 10;
const CR = 13;
const COMMA = 44;

/** Powers of ten a double holds exactly: one multiply or divide by them rounds correctly. */
export const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** Where the last `scanNumber` stopped: the comma after the cell, or the end of the line. */
let scanEnd = 0;

/**
 * Reads a plain decimal (`-12.5`, `3e-4`, `.5`) from the bytes at `p` up to the next comma or `e`, and
 * leaves `scanEnd` at that comma. Returns NaN when the cell needs the slow path. Only values with at
 * most 15 significant digits and a decimal exponent within ±22 are taken: for them `m * 10^k` (or
 * `m / 10^-k`) is one correctly rounded operation, so the result is bit-identical to `Number(text)`
 * (Clinger's fast path). Everything else, including every malformed cell, returns NaN.
 */
export function scanNumber(b: Uint8Array, p: number, e: number): number {
  // No bounds checks in the digit loops: the byte at `e` is a newline, a CR or past the end (undefined),
  // and none of those is a digit, a dot, an exponent mark or a comma. Hence the `as number` reads: an
  // undefined `c` compares false everywhere below, as a non-digit byte does.
  let i = p;
  let c = b[i] as number;
  const neg = c === 45;
  if (neg || c === 43) c = b[++i] as number;
  let m = 0;
  let digits = 0;
  let exp = 0;
  let any = false;
  while (c >= 48 && c <= 57) {
    any = true;
    if (m !== 0 || c !== 48) {
      m = m * 10 + (c - 48);
      digits++;
    }
    c = b[++i] as number;
  }
  if (c === 46) {
    c = b[++i] as number;
    while (c >= 48 && c <= 57) {
      any = true;
      if (m !== 0 || c !== 48) {
        m = m * 10 + (c - 48);
        digits++;
      }
      exp--;
      c = b[++i] as number;
    }
  }
  if (c === 101 || c === 69) {
    c = b[++i] as number;
    const eneg = c === 45;
    if (eneg || c === 43) c = b[++i] as number;
    let ev = 0;
    let edigits = 0;
    while (c >= 48 && c <= 57) {
      if (ev < 10_000) ev = ev * 10 + (c - 48);
      edigits++;
      c = b[++i] as number;
    }
    if (edigits === 0) any = false;
    exp += eneg ? -ev : ev;
  }
  if (i > e || (i < e && c !== COMMA)) {
    while (i < e && b[i] !== COMMA) i++;
    scanEnd = i;
    return NaN;
  }
  scanEnd = i;
  if (!any || digits > 15) return NaN;
  if (m === 0) return neg ? -0 : 0;
  let v: number;
  if (exp < 0) {
    if (exp < -22) return NaN;
    v = m / (POW10[-exp] as number); // -exp <= 22 < POW10.length
  } else {
    if (exp > 22) return NaN;
    v = m * (POW10[exp] as number); // exp <= 22 < POW10.length
  }
  return neg ? -v : v;
}

/** The digits of `b[s, e)` (a dot among them skipped) as a double: exact for up to 15 digits, as `plainDecimal` sums them. */
function longMantissa(b: Uint8Array, s: number, e: number): number {
  let m = 0;
  for (let i = s; i < e; i++) {
    const c = b[i] as number; // i < e <= b.length
    if (c !== 46) m = m * 10 + (c - 48);
  }
  return m;
}

/** `POW10` as a typed array: one unchecked load of a double in the row loop. */
const DIVISORS = Float64Array.from(POW10);

/**
 * A cell of the form most files hold, `[-]digits[.digits]` with 1 to 15 digits in all, read at `p`: stores
 * its value (exactly `Number(text)`: the digits make an exact integer, divided once by an exact power of
 * ten) at `out[at]`, and returns where the cell ends (the byte after its digits). When it does not take
 * the cell (no digits, over 15, or a value that is not an integer when `int`) it stores nothing and returns
 * `~end`, a negative number. It returns the end, not the value, so the row loop keeps its
 * position in a register from cell to cell (a value handed back with the end in a variable outside costs
 * a store and a load per cell on the loop's critical path). Up to nine digits are summed as a small integer
 * (an integer multiply-add per digit, instead of a floating-point one whose latency chains through every
 * digit); longer cells are summed again as a double. Leading zeros count as digits, which only sends a few
 * more cells the long way. The one reader of such cells: `plainRow`, the cell-by-cell loop, `fastNumber`
 * and the JSON Lines reader all call it (`scanNumber` takes what it refuses).
 */
export function plainDecimal(b: Uint8Array, p: number, out: Float32Array | Float64Array, at: number, int: boolean): number {
  let i = p;
  let c = b[i] as number;
  const neg = c === 45;
  if (neg) c = b[++i] as number;
  const start = i;
  let m = 0;
  // Two digits a turn: each turn of these loops pays for more than its digits (the array checked again,
  // its length and data reloaded, an interrupt check), so half as many turns cost about a tenth of the row.
  // `c * 10 + d - 528` is `(c - 48) * 10 + (d - 48)`.
  while (c >= 48 && c <= 57) {
    const d = b[i + 1] as number;
    if (!(d >= 48 && d <= 57)) {
      m = (m * 10 + (c - 48)) | 0;
      c = d;
      i++;
      break;
    }
    m = (m * 100 + (c * 10 + d - 528)) | 0;
    i += 2;
    c = b[i] as number;
  }
  let fraction = 0;
  let dot = 0;
  if (c === 46) {
    dot = 1;
    const from = ++i;
    c = b[i] as number;
    while (c >= 48 && c <= 57) {
      const d = b[i + 1] as number;
      if (!(d >= 48 && d <= 57)) {
        m = (m * 10 + (c - 48)) | 0;
        c = d;
        i++;
        break;
      }
      m = (m * 100 + (c * 10 + d - 528)) | 0;
      i += 2;
      c = b[i] as number;
    }
    fraction = i - from;
  }
  const digits = i - start - dot;
  let mantissa = m;
  // One test for the common 1 to 9 digits; the division by 10^0 = 1 of a cell without a fraction is exact.
  if ((digits - 1) >>> 0 > 8) {
    if (digits === 0 || digits > 15) return ~i;
    mantissa = longMantissa(b, start, i);
  }
  const v = mantissa / (DIVISORS[fraction] as number); // fraction <= 15 < DIVISORS.length
  if (int && !Number.isInteger(v)) return ~i;
  out[at] = neg ? -v : v;
  return i;
}

/** What `plainRow` does with each column: `ID`, `SKIP`, or the index of the feature it feeds. */
const ID = -1;
const SKIP = -2;

/**
 * Reads a whole row of the commonest shape in one pass over its bytes: no quotes, a plain non-empty id,
 * and `plainDecimal` numbers (read by the same function as in the cell-by-cell loop, so the values are the
 * same), the last cell ending the line (LF, CRLF or the end of the
 * bytes). Writes the values as packed row `row` and the id's byte range as its `idSpans` pair (start
 * -1 without an id column), and returns where the line ends (the LF, or `b.length`), or -1 when the row
 * is anything else: the caller then reads it cell by cell, from scratch, and rewrites both. Finding the
 * line's end as it goes spares a search for the newline per row.
 */
function plainRow(
  b: Uint8Array,
  s: number,
  kinds: Int32Array,
  isInt: Uint8Array,
  anyInt: boolean,
  packed: Float32Array,
  row: number,
  idSpans: Int32Array,
): number {
  const last = kinds.length - 1;
  const base = row * isInt.length;
  let i = s;
  let c = 0;
  idSpans[2 * row] = -1;
  // Reads past the end give undefined (`as number`), which matches no byte test below, like any byte
  // that ends a cell.
  for (let col = 0; ; col++) {
    const k = kinds[col] as number; // col <= last < kinds.length
    c = b[i] as number;
    if (k >= 0) {
      // `anyInt` first: with no int feature (the common case) no per-cell load of `isInt` (about 15 % of the row).
      i = plainDecimal(b, i, packed, base + k, anyInt && isInt[k] === 1);
      if (i < 0) return -1;
      c = b[i] as number;
    } else if (k === ID) {
      const start = i;
      while (c > 32 && c < 127 && c !== COMMA && c !== 34 && c !== 92) c = b[++i] as number;
      if (i === start) return -1;
      idSpans[2 * row] = start;
      idSpans[2 * row + 1] = i;
    } else {
      while (c !== COMMA && c !== NL && c !== CR && c !== 34 && i < b.length) c = b[++i] as number;
    }
    if (col < last) {
      if (c !== COMMA) return -1;
      i++;
      continue;
    }
    if (c === NL || i >= b.length) return i;
    if (c === CR && (i + 1 >= b.length || b[i + 1] === NL)) return Math.min(i + 1, b.length);
    return -1;
  }
}

/**
 * `plainRow` for the commonest layout, the id first and then every feature in order, none of them an int:
 * the same rows read the same way (the id's bytes, then `plainDecimal` cells), without looking up per
 * column what the column is, which costs about a tenth of the row.
 */
function orderedRow(b: Uint8Array, s: number, features: number, packed: Float32Array, row: number, idSpans: Int32Array): number {
  let i = s;
  let c = b[i] as number;
  while (c > 32 && c < 127 && c !== COMMA && c !== 34 && c !== 92) c = b[++i] as number;
  if (i === s || c !== COMMA) return -1;
  idSpans[2 * row] = s;
  idSpans[2 * row + 1] = i;
  const base = row * features;
  const last = features - 1;
  for (let k = 0; ; k++) {
    i = plainDecimal(b, i + 1, packed, base + k, false);
    if (i < 0) return -1;
    c = b[i] as number;
    if (k < last) {
      if (c !== COMMA) return -1;
      continue;
    }
    if (c === NL || i >= b.length) return i;
    if (c === CR && (i + 1 >= b.length || b[i + 1] === NL)) return Math.min(i + 1, b.length);
    return -1;
  }
}

/**
 * Reads rows with `plainRow` from `s` on for as long as they are plain, as rows `row`, `row + 1`, … of the
 * chunk, and returns the index of the next row; `stop[0]` is then where the first other row, or the end,
 * starts. A row without an id column gets its number (`firstId` on) in `ids`; the others keep the '' the
 * array was filled with, their ids being byte ranges in `idSpans`. A loop of its own, apart from the
 * cell-by-cell one: in the same loop as that one it ran about a tenth slower. It writes `ids` in place
 * (no push per row), so the array keeps one shape and the optimized loop is not thrown away.
 */
function plainRun(
  b: Uint8Array,
  s: number,
  kinds: Int32Array,
  isInt: Uint8Array,
  anyInt: boolean,
  ordered: boolean,
  packed: Float32Array,
  idSpans: Int32Array,
  ids: (string | number)[],
  row: number,
  firstId: number,
  stop: Int32Array,
): number {
  let r = row;
  let at = s;
  while (at < b.length) {
    const end = ordered ? orderedRow(b, at, isInt.length, packed, r, idSpans) : plainRow(b, at, kinds, isInt, anyInt, packed, r, idSpans);
    if (end < 0) break;
    if (idSpans[2 * r] === -1) ids[r] = firstId + (r - row);
    r++;
    at = end + 1;
  }
  stop[0] = at;
  return r;
}

/** Where `plainRun` stopped. */
const RUN_STOP = new Int32Array(1);

const ONE = new Float64Array(1);

/** What the row loop reads from a whole cell `[s, e)` (`plainDecimal`, else `scanNumber`), for tests and one-off use. */
export function fastNumber(b: Uint8Array, s: number, e: number): number {
  if (plainDecimal(b, s, ONE, 0, false) === e) return ONE[0] as number;
  const v = scanNumber(b, s, e);
  return scanEnd === e ? v : NaN;
}

/** Reads the CSV header and says where the id and each feature are; throws INVALID_HEADER naming what is wrong. */
export function csvLayout(m: ModelManifest, headerLine: string, idColumn: string): CsvLayout {
  if (m.input.kind !== 'tabular') {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'CSV datasets are for tabular models; send images as JSON Lines.');
  }
  const names = csvCells(headerLine.replace(/\r$/, ''));
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new ApiError('INVALID_HEADER', `The CSV header names "${n}" twice.`, n);
    seen.add(n);
  }
  const features = m.input.features;
  const missing = features.filter((f) => !seen.has(f.name)).map((f) => f.name);
  if (missing.length > 0) {
    throw new ApiError(
      'INVALID_HEADER',
      `The CSV header lacks ${missing.length} of the model's features (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}). ` +
        `The first line must name the columns: "${idColumn}" (optional) and ${features
          .map((f) => f.name)
          .slice(0, 3)
          .join(', ')}, …`,
      missing[0],
    );
  }
  const index = new Map(features.map((f, i) => [f.name, i]));
  return { columns: names.length, idIndex: names.indexOf(idColumn), featureOf: names.map((n) => index.get(n) ?? -1) };
}

/**
 * Parses CSV lines, with every id as a value (see `scanCsvChunk`). Rows without an id column are numbered
 * by line (the header is line 1, so the first data row is row 1).
 */
export function parseCsvChunk(input: TabularInput, layout: CsvLayout, b: Uint8Array, firstLine: number): ParsedChunk {
  const parsed = scanCsvChunk(input, layout, b, firstLine);
  return { ...parsed, ids: idsOf(parsed) };
}

/** Every id of a chunk as a value (plain ids read from their bytes). */
export function idsOf(parsed: ParsedChunk): (string | number)[] {
  const { idSpans, source } = parsed;
  if (!idSpans || !source) return parsed.ids;
  const buf = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  return parsed.ids.map((id, i) => {
    const s = idSpans[2 * i] as number; // i < ids.length, spans hold two per id
    return s < 0 ? id : buf.toString('latin1', s, idSpans[2 * i + 1]);
  });
}

/**
 * Parses CSV lines, leaving plain ids as byte ranges (`idSpans`) so the answers copy them without a
 * string per row. `lines`, when the caller knows it (the chunker counts them), spares a counting pass.
 * Each row is first offered to `plainRow`; `plainRows: false` reads every row cell by cell instead (the
 * tests hold the two against each other). `spare`, the packed values of an earlier chunk no longer read,
 * is filled again when it has the size this chunk needs (a run's chunks mostly have the same rows).
 */
export function scanCsvChunk(
  input: TabularInput,
  layout: CsvLayout,
  b: Uint8Array,
  firstLine: number,
  lines?: number,
  plainRows = true,
  spare?: Float32Array,
): ParsedChunk {
  if (!input.features.every((x) => x.type === 'float' || x.type === 'int')) return parseTypedCsvChunk(input, layout, b, firstLine);
  const f = input.features.length;
  const featureOf = layout.featureOf;
  const columns = layout.columns;
  const idIndex = layout.idIndex;
  const headerLines = layout.headerLines ?? 1;
  const isInt = Uint8Array.from(input.features, (x) => (x.type === 'int' ? 1 : 0));
  const anyInt = isInt.includes(1);
  const nullable = Uint8Array.from(input.features, (x) => (x.nullable === true ? 1 : 0));
  const rejects: Reject[] = [];
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  // At most one row per newline: size the packed rows and the ids once, trim at the end.
  let capacity = lines ?? 1;
  if (lines === undefined) for (let i = buf.indexOf(NL); i !== -1; i = buf.indexOf(NL, i + 1)) capacity++;
  const ids = new Array<string | number>(capacity).fill('');
  const packed = spare?.length === capacity * f ? spare : new Float32Array(capacity * f);
  const idSpans = new Int32Array(capacity * 2);
  const acceptedLines = new Int32Array(capacity);
  let accepted = 0;
  let rows = 0;
  let line = firstLine;
  let s = 0;
  const records = new CsvRecords(buf);
  const kinds = Int32Array.from(featureOf, (fi, col) => (fi >= 0 ? fi : col === idIndex ? ID : SKIP));
  // The id first, then every feature in order, none an int: `orderedRow`'s layout.
  const ordered = !anyInt && f > 0 && columns === f + 1 && idIndex === 0 && featureOf.every((fi, col) => fi === col - 1);
  while (s < b.length) {
    if (plainRows) {
      const next = plainRun(b, s, kinds, isInt, anyInt, ordered, packed, idSpans, ids, accepted, line - headerLines, RUN_STOP);
      const taken = next - accepted;
      // A plain row is one line: the run's rows are on consecutive lines.
      for (let k = 0; k < taken; k++) acceptedLines[accepted + k] = line + k;
      s = RUN_STOP[0] as number;
      accepted += taken;
      rows += taken;
      line += taken;
      if (s >= b.length) break;
    }
    let nl = buf.indexOf(NL, s);
    if (nl === -1) nl = b.length;
    // A quoted cell may hold line breaks: the record then spans more than one line.
    const end = records.end(s, nl);
    const span = end === nl ? 1 : 1 + countLines(buf, s, end);
    nl = end;
    let e = nl;
    if (e > s && b[e - 1] === CR) e--;
    if (!isBlank(b, s, e)) {
      rows++;
      const base = accepted * f;
      let col = 0;
      let ok = true;
      let id: string | number = line - headerLines;
      let idStart = -1;
      let idEnd = -1;
      let p = s;
      for (;;) {
        const fi = col < columns ? (featureOf[col] as number) : -1; // col < columns = featureOf.length
        if (fi >= 0) {
          const end = plainDecimal(b, p, packed, base + fi, isInt[fi] === 1);
          if (end >= 0 && (end === e || b[end] === COMMA)) p = end;
          else {
            const v = scanNumber(b, p, e);
            if (Number.isNaN(v)) {
              // An empty cell (nothing up to the comma) of a nullable feature is a missing value; any other
              // cell that is not a plain decimal (`NaN`, spaces, quotes) takes the slow path.
              if (nullable[fi] === 1 && scanEnd === p) packed[base + fi] = Number.NaN;
              else ok = false;
            } else if (isInt[fi] === 1 && !Number.isInteger(v)) ok = false;
            else packed[base + fi] = v;
            p = scanEnd;
          }
        } else {
          const cellStart = p;
          let plain = true;
          for (let c = b[p] as number; p < e && c !== COMMA; c = b[++p] as number)
            if (c <= 32 || c >= 127 || c === 34 || c === 92) plain = false;
          if (col === idIndex) {
            if (plain && p > cellStart) {
              idStart = cellStart;
              idEnd = p;
              id = '';
            } else id = unquote(buf.toString('latin1', cellStart, p), b, cellStart, p, buf);
          }
        }
        col++;
        if (p >= e) break;
        p++;
      }
      if (col !== layout.columns || (layout.idIndex >= 0 && id === '' && idStart < 0)) ok = false;
      if (!ok) {
        const fixed = slowCsvRow(input, layout, buf.toString('utf8', s, e), line);
        if ('reject' in fixed) rejects.push(fixed.reject);
        else {
          packed.set(fixed.values as Float32Array, base);
          idSpans[2 * accepted] = -1;
          ids[accepted] = fixed.id;
          acceptedLines[accepted] = line;
          accepted++;
        }
      } else {
        idSpans[2 * accepted] = idStart;
        idSpans[2 * accepted + 1] = idEnd;
        ids[accepted] = id;
        acceptedLines[accepted] = line;
        accepted++;
      }
    }
    s = nl + 1;
    line += span;
  }
  ids.length = accepted;
  return {
    ids,
    idSpans,
    source: b,
    packed: packed.subarray(0, accepted * f),
    lines: acceptedLines.subarray(0, accepted),
    rejects,
    rows,
  };
}

/** CSV lines of a model with categorical, bool or double features: each line through the contract's `csvRow`. */
function parseTypedCsvChunk(input: TabularInput, layout: CsvLayout, b: Uint8Array, firstLine: number): ParsedChunk {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const ids: (string | number)[] = [];
  const instances: Instance[] = [];
  const lines: number[] = [];
  const rejects: Reject[] = [];
  const records = new CsvRecords(buf);
  let rows = 0;
  let line = firstLine;
  for (let s = 0; s <= buf.length; ) {
    const first = buf.indexOf(NL, s);
    const nl = records.end(s, first === -1 ? buf.length : first);
    const raw = buf.toString('utf8', s, nl);
    const at = line;
    line += 1 + countLines(buf, s, nl);
    s = nl + 1;
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l.trim() === '') continue;
    rows++;
    const fixed = slowCsvRow(input, layout, l, at);
    if ('reject' in fixed) rejects.push(fixed.reject);
    else {
      ids.push(fixed.id);
      instances.push({ values: fixed.values });
      lines.push(at);
    }
  }
  return { ids, packed: new Float32Array(0), instances, lines, rejects, rows };
}

function isBlank(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i] !== 32 && b[i] !== 9) return false;
  return true;
}

/** An id cell as text: read as latin1 (fast) and re-read as UTF-8 only when it holds non-ASCII bytes. */
function unquote(latin1: string, b: Uint8Array, s: number, e: number, buf: Buffer): string {
  for (let i = s; i < e; i++) if ((b[i] as number) > 127) return trimQuotes(buf.toString('utf8', s, e)); // i < e <= b.length
  return trimQuotes(latin1);
}

function trimQuotes(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"') : t;
}

/** The contract's verdict on a line the fast path did not take: its values, or the reason it is refused. */
function slowCsvRow(
  input: TabularInput,
  layout: CsvLayout,
  text: string,
  line: number,
): { id: string | number; values: Row } | { reject: Reject } {
  let cells: string[];
  try {
    cells = csvCells(text);
  } catch (e) {
    return { reject: rejectOf(e, line - (layout.headerLines ?? 1), line, () => undefined) };
  }
  const id = (layout.idIndex >= 0 ? cells[layout.idIndex] : undefined) ?? line - (layout.headerLines ?? 1);
  if (cells.length !== layout.columns) {
    return {
      reject: {
        id,
        line,
        code: 'WRONG_FEATURE_COUNT',
        message: `Expected ${layout.columns} values (the header's columns), got ${cells.length}.`,
      },
    };
  }
  if (id === '') return { reject: { id, line, code: 'INVALID_ID', message: 'The id column is empty.' } };
  const ordered = new Array<string>(input.features.length);
  for (const [col, cell] of cells.entries()) {
    const fi = layout.featureOf[col];
    if (fi !== undefined && fi >= 0) ordered[fi] = cell;
  }
  try {
    return { id, values: csvRow(input.features, ordered, 'row') };
  } catch (e) {
    return { reject: rejectOf(e, id, line, (field) => featureName(input, field)) };
  }
}

/** One line's cells by the contract's CSV rules (RFC 4180 quoting), for the lines the fast path leaves. */
function csvCells(line: string): string[] {
  return parseCsv(line, 1)[0]?.cells ?? [''];
}

/** `row[3]` → the fourth feature's name. */
function featureName(input: TabularInput, field: string | undefined): string | undefined {
  const m = field === undefined ? null : /\[(\d+)\]$/.exec(field);
  return m ? input.features[Number(m[1])]?.name : field;
}

function rejectOf(e: unknown, id: string | number, line: number, fieldOf: (f: string | undefined) => string | undefined): Reject {
  if (!isApiError(e)) throw e;
  const field = fieldOf(e.field);
  return { id, line, code: e.code, ...(field ? { field } : {}), message: e.message };
}

/**
 * Parses JSON Lines: each line is an object of feature values (plus the id key), an array of feature
 * values, or an image instance as the API takes it; the contract's `validateInstances` judges each one.
 */
export function parseJsonChunk(m: ModelManifest, idColumn: string, text: string, firstLine: number): ParsedChunk {
  const ids: (string | number)[] = [];
  const rejects: Reject[] = [];
  const instances: Instance[] = [];
  const lines: number[] = [];
  let rows = 0;
  let line = firstLine;
  let s = 0;
  while (s < text.length) {
    let nl = text.indexOf('\n', s);
    if (nl === -1) nl = text.length;
    const raw = text.slice(s, nl).trim();
    s = nl + 1;
    const at = line++;
    if (raw === '') continue;
    rows++;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      rejects.push({ id: at, line: at, code: 'INVALID_JSON', message: `Not JSON: ${errorMessage(e)}` });
      continue;
    }
    let id: string | number = at;
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && idColumn in value) {
      const { [idColumn]: given, ...rest } = value as Record<string, unknown>;
      if ((typeof given !== 'string' || given === '') && typeof given !== 'number') {
        rejects.push({
          id: at,
          line: at,
          code: 'INVALID_ID',
          field: idColumn,
          message: `"${idColumn}" must be a non-empty string or a number.`,
        });
        continue;
      }
      id = given;
      value = rest;
    }
    try {
      instances.push(...validateInstances(m, { instances: [value] }, { maxInstances: 1 }));
      ids.push(id);
      lines.push(at);
    } catch (e) {
      rejects.push(rejectOf(e, id, at, (f) => f?.replace(/^instances\[0\]\.?/, '') || undefined));
    }
  }
  return { ids, packed: new Float32Array(0), instances, lines, rejects, rows };
}
