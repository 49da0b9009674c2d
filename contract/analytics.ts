/**
 * The analytics store: the prediction log as two Parquet tables under `analytics/` in the data bucket,
 * read by Athena (through the Glue catalog) on AWS and by DuckDB locally. The Glue table columns, the
 * Parquet writer's schema and the local DuckDB views are all built from the definitions here.
 *
 * Layout: `analytics/<table>/model=<name>/dt=<yyyy-mm-dd>/<version>~<batch>.parquet`. `model` and `dt`
 * are Hive partitions that Athena projects (no crawler, no partition list to maintain); the version is
 * a column, one value per file, so a version filter still skips whole files by their statistics (see the
 * README's design notes for why it is not a projected partition).
 */
import { PREFIX } from './bucket';

export const ANALYTICS_TABLES = ['predictions', 'feedback'] as const;
export type AnalyticsTable = (typeof ANALYTICS_TABLES)[number];

/** Partition columns, in path order. Both are strings (Athena's `date` projection reads `dt` as yyyy-MM-dd). */
export const PARTITION_KEYS = ['model', 'dt'] as const;

/** Column types, named as the Glue catalog (Hive DDL) spells them. */
export type ColumnType = 'string' | 'double' | 'float' | 'timestamp' | 'array<float>';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  /** False when every row has a value. */
  readonly nullable: boolean;
  readonly comment: string;
}

/** One row per logged prediction. */
export const PREDICTION_COLUMNS: readonly ColumnSpec[] = [
  { name: 'id', type: 'string', nullable: false, comment: 'prediction id (the log key)' },
  { name: 'version', type: 'string', nullable: false, comment: 'model version that answered' },
  { name: 'ts', type: 'timestamp', nullable: false, comment: 'time of the prediction (UTC)' },
  { name: 'predicted_label', type: 'string', nullable: true, comment: 'classifiers: the predicted label' },
  { name: 'score', type: 'float', nullable: true, comment: 'classifiers: probability of the predicted label' },
  { name: 'predicted_value', type: 'double', nullable: true, comment: 'regression: the predicted value' },
  { name: 'latency_ms', type: 'double', nullable: false, comment: 'time to answer, milliseconds' },
  { name: 'api_key_id', type: 'string', nullable: true, comment: 'API key the caller used' },
  { name: 'request_id', type: 'string', nullable: false, comment: 'API request that carried the instance' },
  { name: 'features', type: 'array<float>', nullable: true, comment: "model input values in the manifest's order, when logged inline" },
  { name: 'input_key', type: 'string', nullable: true, comment: 'S3 key of the input when it was kept in the bucket' },
];

/** One row per feedback received (a prediction corrected twice has two rows: queries keep the latest). */
export const FEEDBACK_COLUMNS: readonly ColumnSpec[] = [
  { name: 'id', type: 'string', nullable: false, comment: 'prediction id' },
  { name: 'version', type: 'string', nullable: false, comment: 'model version of the prediction' },
  { name: 'label', type: 'string', nullable: false, comment: 'ground truth (regression values as decimal text)' },
  { name: 'received_at', type: 'timestamp', nullable: false, comment: 'when the feedback was recorded (UTC)' },
];

export const TABLE_COLUMNS: Record<AnalyticsTable, readonly ColumnSpec[]> = { predictions: PREDICTION_COLUMNS, feedback: FEEDBACK_COLUMNS };

export interface PredictionRow {
  id: string;
  model: string;
  version: string;
  ts: Date;
  predicted_label: string | null;
  score: number | null;
  predicted_value: number | null;
  latency_ms: number;
  api_key_id: string | null;
  request_id: string;
  features: number[] | null;
  input_key: string | null;
}

export interface FeedbackRow {
  id: string;
  model: string;
  version: string;
  /** The prediction's time: feedback is partitioned with its prediction, so a day's join reads one folder of each table. */
  ts: Date;
  label: string;
  received_at: Date;
}

/** `analytics/<table>/` */
export function tablePrefix(table: AnalyticsTable): string {
  return `${PREFIX.analytics}${table}/`;
}

/** The partition date of a time: its UTC day. */
export function partitionDate(ts: Date): string {
  return ts.toISOString().slice(0, 10);
}

const SAFE_SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * The object key of one batch of one table's rows in one partition. Deterministic: the same batch
 * (the same stream records) always lands under the same key, so a redelivered batch overwrites itself.
 */
export function analyticsObjectKey(table: AnalyticsTable, model: string, dt: string, version: string, batchId: string): string {
  for (const [what, v] of [['model', model], ['version', version], ['batch id', batchId]] as const) {
    // Model names and versions are already restricted to these characters by the manifest schema.
    if (!SAFE_SEGMENT.test(v)) throw new Error(`An analytics ${what} must be letters, digits, ".", "_" or "-", got "${v}"`);
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(dt)) throw new Error(`A partition date is yyyy-mm-dd, got "${dt}"`);
  return `${tablePrefix(table)}model=${model}/dt=${dt}/${version}~${batchId}.parquet`;
}

/** Name of the Glue database of a stack prefix (Glue names: lower case, digits and underscores). */
export function glueDatabaseName(stackPrefix: string): string {
  return `${stackPrefix.toLowerCase().replace(/[^a-z0-9]/g, '_')}_analytics`;
}
