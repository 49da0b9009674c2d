/**
 * Turns what a person hands `mlship invoke` into a `POST /predict` body: a JSON string or file, a CSV file
 * (one instance per row, an optional header skipped), or image files (PNG/JPEG, sent base64).
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseCsv } from '../contract/csv';
import { errorMessage } from '../contract/errors';
import { LIMITS } from '../contract/limits';

export interface PredictBody {
  instances: unknown[];
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export function predictBody(inputs: string[], readStdin: () => string = () => readFileSync(0, 'utf8')): PredictBody {
  const [input] = inputs;
  if (input === undefined) throw new Error('Give the input: a JSON string, a .json, .csv, .png or .jpg file, or - for JSON on stdin.');
  if (inputs.every((i) => IMAGE_EXTENSIONS.has(extname(i).toLowerCase()))) {
    return { instances: inputs.map((file) => ({ b64: readFileSync(file).toString('base64') })) };
  }
  if (inputs.length > 1) throw new Error('Several inputs are accepted for image files only.');
  const trimmed = input.trimStart();
  if (input === '-') return fromJson(readStdin(), 'stdin');
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return fromJson(input, 'the argument');
  const ext = extname(input).toLowerCase();
  if (ext === '.csv') return fromCsv(readFileSync(input, 'utf8'), input);
  if (ext === '.json') return fromJson(readFileSync(input, 'utf8'), input);
  throw new Error(`Cannot tell what ${input} is: use a JSON string, or a file ending in .json, .csv, .png, .jpg or .jpeg.`);
}

/** `{"instances": [...]}` as is, a bare array as the instances, a bare object as one instance. */
function fromJson(text: string, source: string): PredictBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not valid JSON: ${errorMessage(e)}`);
  }
  if (Array.isArray(value)) return { instances: value.length > 0 && value.every((v) => typeof v === 'number') ? [value] : value };
  if (typeof value === 'object' && value !== null && 'instances' in value) return value as PredictBody;
  if (typeof value === 'object' && value !== null) return { instances: [value] };
  throw new Error(`${source} must hold {"instances": [...]}, an array of instances, or one instance.`);
}

/**
 * One instance per CSV record (the rules of contract/csv.ts: RFC 4180 quoting, blank lines skipped).
 * A first record that is not all numbers is taken as a header and its names key the instances, so
 * columns may come in any order; the API checks names and values. An empty cell is sent as null.
 */
export function fromCsv(text: string, source: string): PredictBody {
  let records: string[][];
  try {
    records = parseCsv(text, LIMITS.maxInstancesPerRequest + 1).map((r) => r.cells);
  } catch (e) {
    throw new Error(`${source}: ${errorMessage(e)}`);
  }
  const [first] = records;
  if (first === undefined) throw new Error(`${source} has no rows.`);
  const isNumber = (c: string) => c !== '' && Number.isFinite(Number(c));
  // An empty cell is a missing value (null), which the API accepts for nullable features only.
  const header = first.every((c) => c === '' || isNumber(c)) ? undefined : first;
  const rows = (header ? records.slice(1) : records).map((cells, i) => {
    const values = cells.map((c) => (c === '' ? null : isNumber(c) ? Number(c) : c));
    if (!header) return values;
    if (values.length !== header.length)
      throw new Error(`${source} row ${i + 2} has ${values.length} values for ${header.length} columns.`);
    return Object.fromEntries(header.map((h, j) => [h, values[j]]));
  });
  if (rows.length === 0) throw new Error(`${source} has a header but no rows.`);
  return { instances: rows };
}
