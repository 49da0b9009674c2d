/**
 * The JSON bodies `mlflow models serve` and TF-Serving's REST API take, read as the API's own
 * `{"instances": [...]}` and checked by the one validator (`validateInstances`), so every form meets the
 * same type checks and error codes:
 * - `instances`: rows (arrays in feature order) or objects keyed by feature name — today's body, as it is;
 * - `inputs`: the same rows, or columns (`{"feature": [values…]}`, TF-Serving's columnar form);
 * - `dataframe_split`: pandas' split orient, `{"columns": [...], "data": [[...]], "index"?: [...]}`;
 * - `dataframe_records`: pandas' records orient, `[{"feature": value, …}]`.
 * Columns are matched to the manifest's feature names in any order; an unknown or missing one is refused
 * naming it. An error's `field` names the place in the body as it was sent.
 */
import { ApiError, isApiError } from '../errors';
import { type Instance, type ModelManifest, validateInstances } from '../manifest';

/** The body keys that name a format; a body holds exactly one. */
export const SCORING_FORMATS = ['instances', 'inputs', 'dataframe_split', 'dataframe_records'] as const;
export type ScoringFormat = (typeof SCORING_FORMATS)[number];

const FORMAT_LIST = SCORING_FORMATS.map((f) => `"${f}"`).join(', ');

/**
 * The instances of a predict body in any of the scoring formats. `allowS3Keys` applies to the row forms
 * (`instances`, `inputs` as rows); a dataframe's cells are feature values only.
 */
export function scoringInstances(m: ModelManifest, body: unknown, opts: { allowS3Keys?: boolean } = {}): Instance[] {
  const format = formatOf(body);
  // Today's body (and anything naming no format) goes to the validator as sent: same answers, same errors.
  if (format === undefined || format === 'instances') return validateInstances(m, body, opts);
  const { rows, at, rowForm } = toRows(m, format, (body as Record<string, unknown>)[format]);
  try {
    return validateInstances(m, { instances: rows }, { allowS3Keys: rowForm && (opts.allowS3Keys ?? false) });
  } catch (e) {
    // The validator names `instances[i]…`; the caller sent `<at>[i]…`.
    if (isApiError(e) && e.field?.startsWith('instances')) throw new ApiError(e.code, e.message, at + e.field.slice('instances'.length));
    throw e;
  }
}

/** The one format key of `body`, or undefined when it names none (the validator then says what is missing). */
function formatOf(body: unknown): ScoringFormat | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const named = SCORING_FORMATS.filter((f) => f in body);
  if (named.length > 1)
    throw new ApiError('INVALID_BODY', `The body names ${named.map((f) => `"${f}"`).join(' and ')}; send exactly one of ${FORMAT_LIST}.`);
  const format = named[0];
  if (format === undefined || format === 'instances') return format;
  for (const key in body) {
    if (key === format) continue;
    const why = key === 'params' ? ' (this model takes no inference parameters)' : '';
    throw new ApiError('INVALID_BODY', `Unknown field "${key}"${why}: the body holds only "${format}".`, key);
  }
  return format;
}

interface Rows {
  readonly rows: unknown[];
  /** Where the rows are in the body, for error fields. */
  readonly at: string;
  /** Rows as the caller wrote them (arrays, named objects, images or S3 references), not built from columns. */
  readonly rowForm: boolean;
}

function toRows(m: ModelManifest, format: Exclude<ScoringFormat, 'instances'>, value: unknown): Rows {
  if (format === 'inputs') {
    if (Array.isArray(value)) return { rows: value, at: 'inputs', rowForm: true };
    if (isObject(value)) return { rows: fromColumns(m, value), at: 'inputs', rowForm: false };
    throw new ApiError('INVALID_BODY', '"inputs" must be an array of rows or an object of columns {"feature": [values…]}.', 'inputs');
  }
  if (m.input.kind !== 'tabular')
    throw new ApiError('INVALID_BODY', `"${format}" is for tabular models; send an image model "instances" or "inputs".`, format);
  if (format === 'dataframe_records') {
    if (!Array.isArray(value) || !value.every(isObject))
      throw new ApiError('INVALID_BODY', '"dataframe_records" must be an array of objects keyed by column name.', format);
    // A record's keys are columns; the validator would read this one as an S3 reference (a row form only).
    const s3 = value.findIndex((r) => 's3Key' in r);
    if (s3 >= 0)
      throw new ApiError('UNKNOWN_FEATURE', 'Unknown column "s3Key": S3 references go in "instances".', `${format}[${s3}].s3Key`);
    return { rows: value, at: format, rowForm: false };
  }
  return { rows: fromSplit(m, value), at: 'dataframe_split.data', rowForm: false };
}

/** `dataframe_split`: each row of `data` as an object keyed by `columns`, once the columns are the features. */
function fromSplit(m: ModelManifest, split: unknown): Record<string, unknown>[] {
  const at = 'dataframe_split';
  if (!isObject(split)) throw new ApiError('INVALID_BODY', '"dataframe_split" must be {"columns": [...], "data": [[...]]}.', at);
  for (const key in split) {
    if (key !== 'columns' && key !== 'data' && key !== 'index')
      throw new ApiError('INVALID_BODY', `Unknown field "${key}": a split frame holds "columns", "data" and "index".`, `${at}.${key}`);
  }
  const { columns, data, index } = split;
  if (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string'))
    throw new ApiError('INVALID_BODY', '"columns" must be an array of column names.', `${at}.columns`);
  checkColumns(m, columns, (i) => `${at}.columns[${i}]`, `${at}.columns`);
  if (!Array.isArray(data)) throw new ApiError('INVALID_BODY', '"data" must be an array of rows.', `${at}.data`);
  if (index !== undefined && (!Array.isArray(index) || index.length !== data.length))
    throw new ApiError('INVALID_BODY', '"index" must be an array with one entry per row of "data".', `${at}.index`);
  return data.map((row, i) => {
    if (!Array.isArray(row) || row.length !== columns.length) {
      const got = Array.isArray(row) ? `${row.length} values` : 'no array';
      throw new ApiError('WRONG_FEATURE_COUNT', `Expected ${columns.length} values (one per column), got ${got}.`, `${at}.data[${i}]`);
    }
    return Object.fromEntries(columns.map((c, j) => [c, row[j]]));
  });
}

/** TF-Serving's columnar `inputs`: one array per feature, all of one length, turned into rows. */
function fromColumns(m: ModelManifest, columns: Record<string, unknown>): Record<string, unknown>[] {
  if (m.input.kind !== 'tabular')
    throw new ApiError('INVALID_BODY', 'Columnar "inputs" are for tabular models; send an image model rows.', 'inputs');
  const names = Object.keys(columns);
  checkColumns(m, names, (_i, c) => `inputs.${c}`, 'inputs');
  let n: number | undefined;
  for (const name of names) {
    const values = columns[name];
    if (!Array.isArray(values))
      throw new ApiError('INVALID_BODY', `Column "${name}" must be an array of values, one per instance.`, `inputs.${name}`);
    if (n !== undefined && values.length !== n)
      throw new ApiError(
        'INVALID_BODY',
        `Column "${name}" has ${values.length} values; the columns before it have ${n}.`,
        `inputs.${name}`,
      );
    n = values.length;
  }
  return Array.from({ length: n ?? 0 }, (_v, i) => Object.fromEntries(names.map((c) => [c, (columns[c] as unknown[])[i]])));
}

/** Each column a feature of the model, once, and every feature there: else UNKNOWN_FEATURE / MISSING_FEATURE naming it. */
function checkColumns(
  m: ModelManifest,
  columns: readonly string[],
  columnField: (i: number, column: string) => string,
  field: string,
): void {
  const features = m.input.kind === 'tabular' ? m.input.features.map((f) => f.name) : [];
  const known = new Set(features);
  const seen = new Set<string>();
  for (const [i, c] of columns.entries()) {
    if (!known.has(c))
      throw new ApiError('UNKNOWN_FEATURE', `Unknown column "${c}": the model's features are ${features.join(', ')}.`, columnField(i, c));
    if (seen.has(c)) throw new ApiError('INVALID_BODY', `Column "${c}" is named twice.`, columnField(i, c));
    seen.add(c);
  }
  const missing = features.find((f) => !seen.has(f));
  if (missing !== undefined) throw new ApiError('MISSING_FEATURE', `Missing column "${missing}".`, `${field}.${missing}`);
}

/** A JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
