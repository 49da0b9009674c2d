/**
 * CSV as the API, the model server, `mlship invoke` and the batch mode read it (RFC 4180):
 * - one record per line, cells separated by commas; lines end in LF or CRLF; blank lines and a leading
 *   byte order mark are skipped;
 * - a cell may be quoted with `"`; inside quotes, commas and line breaks are data and `""` is one `"`;
 *   spaces around a cell are dropped (they are never part of a number);
 * - the first record is a header when one of its cells is a feature name of the model: it must then
 *   name every feature once, in any order, and the columns of each row are matched by those names.
 *
 * The parser returns string cells and stops as soon as a request holds more records than allowed, so an
 * oversized body costs no more than the allowed rows. Turning cells into feature values is the shared
 * validation's job (`csvRow` in manifest.ts).
 */
import { ApiError } from './errors';
import { BYTE_ORDER_MARK } from './json';

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

export interface CsvRecord {
  readonly cells: string[];
  /** 0-based index of the line the record starts on (errors name `rows[line]`). */
  readonly line: number;
}

/**
 * Splits `text` into records of string cells, skipping blank lines and a leading byte order mark (so a
 * quoted first header cell stays quoted). Throws TOO_MANY_INSTANCES as soon as record `maxRecords + 1`
 * begins, INVALID_CSV as soon as one record runs past `maxRecordChars` characters (so one huge row costs
 * no more cells than a legitimate one), and INVALID_CSV for a quote left open or text after a closing quote.
 */
export function parseCsv(text: string, maxRecords: number, maxRecordChars = Number.POSITIVE_INFINITY): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === BYTE_ORDER_MARK ? 1 : 0;
  let line = 0;
  while (i < n) {
    const startLine = line;
    const start = i;
    const cells: string[] = [];
    let blank = true;
    for (;;) {
      if (i - start > maxRecordChars) throw rowTooLong(maxRecordChars, startLine);
      // One cell, from i up to the next comma or line end.
      let cell: string;
      let j = i;
      while (j < n && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
      if (j < n && text.charCodeAt(j) === QUOTE) {
        blank = false;
        let out = '';
        let k = j + 1;
        for (;;) {
          const q = text.indexOf('"', k);
          if (q === -1) throw new ApiError('INVALID_CSV', 'A quoted cell is never closed.', `rows[${startLine}]`);
          out += text.slice(k, q);
          for (let p = k; p < q; p++) if (text.charCodeAt(p) === LF) line++;
          if (text.charCodeAt(q + 1) === QUOTE) {
            out += '"';
            k = q + 2;
          } else {
            k = q + 1;
            break;
          }
        }
        while (k < n && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 9)) k++;
        const c = text.charCodeAt(k);
        if (k < n && c !== COMMA && c !== LF && c !== CR) {
          throw new ApiError(
            'INVALID_CSV',
            'Text follows a closing quote: quote the whole cell and write a quote inside it as "".',
            `rows[${startLine}][${cells.length}]`,
          );
        }
        cell = out;
        i = k;
      } else {
        let k = j;
        while (k < n) {
          const c = text.charCodeAt(k);
          if (c === COMMA || c === LF || c === CR) break;
          k++;
        }
        cell = text.slice(j, k).trim();
        if (cell !== '') blank = false;
        i = k;
      }
      cells.push(cell);
      if (i < n && text.charCodeAt(i) === COMMA) {
        blank = false;
        i++;
        continue;
      }
      // End of the record: CRLF, LF, a lone CR, or the end of the text.
      if (i - start > maxRecordChars) throw rowTooLong(maxRecordChars, startLine);
      if (i < n && text.charCodeAt(i) === CR) i++;
      if (i < n && text.charCodeAt(i) === LF) i++;
      line++;
      break;
    }
    if (blank) continue;
    if (records.length >= maxRecords) throw new ApiError('TOO_MANY_INSTANCES', `More than ${maxRecords} rows in one request.`, 'rows');
    records.push({ cells, line: startLine });
  }
  return records;
}

function rowTooLong(maxRecordChars: number, line: number): ApiError {
  return new ApiError('INVALID_CSV', `A row is longer than ${maxRecordChars} characters.`, `rows[${line}]`);
}

/** Where each feature sits in a row: `columnOf[f]` is the column holding feature f. */
export interface CsvColumns {
  readonly columnOf: number[];
  readonly columns: number;
}

/**
 * Reads a header record if the first record is one (one of its cells names a feature): checks it names
 * every feature once and nothing else (`extra` lists other columns it may hold, e.g. an id), and
 * returns the column of each feature. Returns undefined for a headerless body (features in manifest order).
 */
export function csvHeader(
  first: readonly string[],
  featureNames: readonly string[],
  extra: readonly string[] = [],
): CsvColumns | undefined {
  const index = new Map(featureNames.map((name, f) => [name, f]));
  if (!first.some((c) => index.has(c))) return undefined;
  const columnOf = new Array<number>(featureNames.length).fill(-1);
  first.forEach((name, col) => {
    const f = index.get(name);
    if (f === undefined) {
      if (extra.includes(name)) return;
      throw new ApiError(
        'INVALID_HEADER',
        `The CSV header names "${name.slice(0, 60)}", which is not a feature of this model.`,
        `header[${col}]`,
      );
    }
    if (columnOf[f] !== -1) throw new ApiError('INVALID_HEADER', `The CSV header names "${name}" twice.`, `header[${col}]`);
    columnOf[f] = col;
  });
  const missing = featureNames.filter((_, f) => columnOf[f] === -1);
  if (missing.length > 0) {
    throw new ApiError(
      'INVALID_HEADER',
      `The CSV header lacks ${missing.length} of the model's features (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}).`,
      'header',
    );
  }
  return { columnOf, columns: first.length };
}

/** The cells of one record in feature order (the header's order when there is one). */
export function cellsInFeatureOrder(cells: readonly string[], columns: CsvColumns | undefined, field: string): readonly string[] {
  if (columns === undefined) return cells;
  if (cells.length !== columns.columns) {
    throw new ApiError('WRONG_FEATURE_COUNT', `Expected ${columns.columns} values (the header's columns), got ${cells.length}.`, field);
  }
  // Every col < columns.columns = cells.length (csvHeader's columns, checked above).
  return columns.columnOf.map((col) => cells[col] as string);
}
