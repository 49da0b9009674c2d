/** Key prefixes of the data bucket. Each IAM grant names one of these, never the whole bucket. */
export const PREFIX = {
  /** Each model's training data: `datasets/<model>/…` (CSV, header = feature names + `label` or `target`). */
  datasets: 'datasets/',
  /** Content-addressed training snapshots (`training/snapshots/<model>/<sha256>/`), written once per content. */
  trainingSnapshots: 'training/snapshots/',
  /** What a training run writes while it runs (`training/runs/<model>/<run>/`): the job's output and the evaluation. */
  trainingRuns: 'training/runs/',
  /** What a SageMaker training job writes (`training/output/<model>/<job>/output/model.tar.gz`): its role writes here only. */
  trainingOutput: 'training/output/',
  /** One object per model while a training run holds it (`training/locks/<model>`). */
  trainingLocks: 'training/locks/',
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

/** One key segment: no slash or IAM wildcard, which would widen the grants built on the key. */
function segment(what: string, value: string): string {
  if (!/^[^/*?]+$/.test(value)) throw new Error(`A ${what} is one key segment without "/", "*" or "?", got "${value}".`);
  return value;
}

/** Where a model's training data lives: `datasets/<model>/`. */
export function datasetPrefix(model: string): string {
  return `${PREFIX.datasets}${segment('model name', model)}/`;
}

/** The training dataset `npm start` and a user put in the bucket: `datasets/<model>/dataset.csv`. */
export const DATASET_FILE = 'dataset.csv';

/** A training snapshot, written once and named by the sha256 of its content: `training/snapshots/<model>/<sha256>/`. */
export function trainingSnapshotPrefix(model: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`A snapshot hash is 64 lowercase hex digits, got "${sha256}".`);
  return `${PREFIX.trainingSnapshots}${segment('model name', model)}/${sha256}/`;
}

/** The files of a snapshot: the training channel and the held-out (validation) channel, as SageMaker channels. */
export const SNAPSHOT_FILES = { train: 'train/train.csv', validation: 'validation/validation.csv', manifest: 'snapshot.json' } as const;

/** What one training run writes while it runs: `training/runs/<model>/<run>/`. */
export function trainingRunPrefix(model: string, run: string): string {
  return `${PREFIX.trainingRuns}${segment('model name', model)}/${segment('run id', run)}/`;
}

/** A run's record under its prefix: the evaluation and the verdict, written whatever the verdict. */
export const DECISION_FILE = 'decision.json';

/** Where a model's training jobs write: `training/output/<model>/`. */
export function trainingOutputPrefix(model: string): string {
  return `${PREFIX.trainingOutput}${segment('model name', model)}/`;
}

/** The object that holds a model's training lock: `training/locks/<model>`. */
export function trainingLockKey(model: string): string {
  return `${PREFIX.trainingLocks}${segment('model name', model)}`;
}

/**
 * A registered version: `models/<name>/<version>/`, beside the packed model (`modelPackageKey(name, version)`).
 * `evaluation.json` is written last, so a version is registered exactly when it exists.
 */
export function registryPrefix(name: string, version: string): string {
  return `${modelPrefix(name)}${segment('model version', version)}/`;
}

/** The files of a registered version besides `model.tar.gz`; `evaluation` is the registration itself. */
export const REGISTRY_FILES = {
  manifest: 'model.json',
  baseline: 'baseline.json',
  parity: 'parity.json',
  evaluation: 'evaluation.json',
} as const;
