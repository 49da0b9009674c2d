/** Key prefixes of the data bucket. Each IAM grant names one of these, never the whole bucket. */
export const PREFIX = {
  datasets: 'datasets/',
  models: 'models/',
  batchInput: 'batch/input/',
  batchOutput: 'batch/output/',
  predictions: 'predictions/',
  /** The Parquet analytics store (`contract/analytics.ts`): the prediction log as tables for Athena and DuckDB. */
  analytics: 'analytics/',
  /** Dead-lettered log records the replay could not write, kept for a person (never cycled, never dropped). */
  parkedLogRecords: 'parked/log-records/',
} as const;

/**
 * Where every version of one model lives: `models/<name>/`. The trailing slash keeps a grant on
 * `models/<name>/*` off other models whose names start the same (`models/<name>-v2/…`).
 */
export function modelPrefix(name: string): string {
  // A slash or an IAM wildcard in the name would widen every grant built on this prefix.
  if (!/^[^/*?]+$/.test(name)) throw new Error(`A model name is one key segment without "/", "*" or "?", got "${name}".`);
  return `${PREFIX.models}${name}/`;
}

/**
 * Where a model version's package lives: `models/<name>/<version>/model.tar.gz`, or, with the archive's
 * content digest, `models/<name>/<version>/<digest>/model.tar.gz`. Deployments use the digest form: a model
 * retrained without a version bump gets a new key, so the package a running endpoint or task was started
 * with is never overwritten under it (and a rollback still finds its own).
 */
export function modelPackageKey(name: string, version: string, digest?: string): string {
  if (digest !== undefined && !/^[0-9a-f]{8,64}$/.test(digest))
    throw new Error(`A package digest is 8 to 64 lowercase hex digits, got "${digest}".`);
  return `${modelPrefix(name)}${version}/${digest === undefined ? '' : `${digest}/`}model.tar.gz`;
}

/** Hex digits of the archive's sha256 kept in a deployed package key. */
export const PACKAGE_DIGEST_LENGTH = 16;

/**
 * Where a large prediction input is kept: `predictions/<model>/<yyyy-mm-dd>/<predictionId>.<ext>` —
 * `json` for numbers, `png`/`jpg` for an encoded image stored as its own bytes.
 */
export function predictionInputKey(
  model: string,
  isoTimestamp: string,
  predictionId: string,
  ext: 'json' | 'png' | 'jpg' = 'json',
): string {
  return `${PREFIX.predictions}${model}/${isoTimestamp.slice(0, 10)}/${predictionId}.${ext}`;
}

/**
 * The S3 user metadata (`x-amz-meta-…`) naming the API key id a stored prediction input belongs to: an
 * `s3Key` under `predictions/` is read back only for that key (or an operator's).
 */
export const INPUT_OWNER_METADATA = 'api-key-id';

/** Where replay parks a log record it cannot write: `parked/log-records/<yyyy-mm-dd>/<predictionId>.json`. */
export function parkedRecordKey(isoTimestamp: string, predictionId: string): string {
  return `${PREFIX.parkedLogRecords}${isoTimestamp.slice(0, 10)}/${predictionId}.json`;
}
