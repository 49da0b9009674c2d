/**
 * The analytics store: the prediction log as Parquet tables under `analytics/` in the data bucket,
 * read by Athena (through the Glue catalog) on AWS and by DuckDB locally. The Glue table columns, the
 * Parquet writer's schema and the local DuckDB views are all built from the definitions here.
 *
 * Layout: `analytics/<table>/model=<name>/dt=<yyyy-mm-dd>/<version>~<batch>.parquet`. `model` and `dt`
 * are Hive partitions that Athena projects (no crawler, no partition list to maintain); the version is
 * a column, one value per file, so a version filter still skips whole files by their statistics (see the
 * design notes of docs/analytics.md for why it is not a projected partition).
 */
import { PREFIX } from './bucket';
import type { ModelManifest } from './manifest';

/**
 * Answered predictions, feedback, and shadow predictions (a challenger run beside the champion,
 * docs/versions.md), which live apart as in the log, so no query of answered predictions counts them.
 */
export const ANALYTICS_TABLES = ['predictions', 'feedback', 'shadow_predictions'] as const;
export type AnalyticsTable = (typeof ANALYTICS_TABLES)[number];

/** The tables of answered predictions and their feedback: what the dashboard's long windows and training snapshots read. */
export const ANSWERED_TABLES = ['predictions', 'feedback'] as const satisfies readonly AnalyticsTable[];

/** Partition columns, in path order. Both are strings (Athena's `date` projection reads `dt` as yyyy-MM-dd). */
export const PARTITION_KEYS = ['model', 'dt'] as const;

/** Column types, named as the Glue catalog (Hive DDL) spells them. */
export type ColumnType = 'string' | 'double' | 'float' | 'timestamp';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  /** False when every row has a value. */
  readonly nullable: boolean;
  readonly comment: string;
  /** Input feature columns: the feature's position in the manifest (the row's `features[featureIndex]`). */
  readonly featureIndex?: number;
}

/** The model's answer, in answered and shadow prediction rows alike. */
const ANSWER_COLUMNS: readonly ColumnSpec[] = [
  { name: 'predicted_label', type: 'string', nullable: true, comment: 'classifiers: the predicted label' },
  { name: 'score', type: 'float', nullable: true, comment: 'classifiers: probability of the predicted label' },
  { name: 'predicted_value', type: 'double', nullable: true, comment: 'regression: the predicted value' },
];

/** The columns every prediction row has, whatever the model; a tabular model adds one column per feature. */
export const PREDICTION_COLUMNS: readonly ColumnSpec[] = [
  { name: 'id', type: 'string', nullable: false, comment: 'prediction id (the log key)' },
  { name: 'version', type: 'string', nullable: false, comment: 'model version that answered' },
  { name: 'ts', type: 'timestamp', nullable: false, comment: 'time of the prediction (UTC)' },
  ...ANSWER_COLUMNS,
  { name: 'latency_ms', type: 'double', nullable: false, comment: 'time to answer, milliseconds' },
  { name: 'api_key_id', type: 'string', nullable: true, comment: 'API key the caller used' },
  { name: 'input_key', type: 'string', nullable: true, comment: 'S3 key of the input when it was kept in the bucket' },
];

/**
 * The last column of every table: when compaction wrote the row (see `compactedObjectKey`), NULL in the
 * files the stream and `mlship export` write. Compacted rows hold each id once, so queries dedupe only
 * the rows where it is NULL.
 */
export const COMPACTED_COLUMN: ColumnSpec = {
  name: 'compacted_at',
  type: 'timestamp',
  nullable: true,
  comment: 'when compaction wrote the row (one row per id); NULL as the stream wrote it',
};

/**
 * One row per feedback received (a prediction corrected twice has two rows: queries keep the latest);
 * compaction keeps only the latest, as the log item does.
 */
export const FEEDBACK_COLUMNS: readonly ColumnSpec[] = [
  { name: 'id', type: 'string', nullable: false, comment: 'prediction id' },
  { name: 'version', type: 'string', nullable: false, comment: 'model version of the prediction' },
  { name: 'label', type: 'string', nullable: false, comment: 'ground truth (regression values as decimal text)' },
  { name: 'received_at', type: 'timestamp', nullable: false, comment: 'when the feedback was recorded (UTC)' },
  COMPACTED_COLUMN,
];

/**
 * One row per shadow prediction, made or failed, under the partition of the model it shadows (`model`
 * is the model's name, not the log's `<model>#shadow`). No input columns: the input stays with the
 * answered prediction, which `shadow_of` names, and whose feedback grades the shadow too.
 */
export const SHADOW_COLUMNS: readonly ColumnSpec[] = [
  { name: 'id', type: 'string', nullable: false, comment: 'shadow prediction id (the log key)' },
  { name: 'shadow_of', type: 'string', nullable: false, comment: 'id of the answered prediction of the same instance' },
  { name: 'version', type: 'string', nullable: false, comment: 'model version that ran in the shadow' },
  { name: 'ts', type: 'timestamp', nullable: false, comment: 'time of the shadow prediction (UTC)' },
  ...ANSWER_COLUMNS,
  { name: 'latency_ms', type: 'double', nullable: false, comment: 'time to the shadow answer from the start of the request, milliseconds' },
  {
    name: 'shadow_error',
    type: 'string',
    nullable: true,
    comment: 'error code when the shadow run failed or ran out of time (no prediction then)',
  },
  COMPACTED_COLUMN,
];

/**
 * The column of a tabular input feature: `f_` and the feature name in lower case, other characters as
 * `_` (Glue column names are lower case; the prefix keeps them apart from the fixed columns). Features
 * whose names fold to the same column (`Age` and `age`, `a-b` and `a_b`) each get their position
 * appended (`f_age_0`, `f_age_1`), so any manifest has a table.
 */
function featureColumnNames(features: readonly { name: string }[]): string[] {
  const base = features.map((f) => `f_${f.name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`);
  const count = new Map<string, number>();
  for (const b of base) count.set(b, (count.get(b) ?? 0) + 1);
  const names = base.map((b, i) => ((count.get(b) ?? 0) > 1 ? `${b}_${i}` : b));
  const taken = new Map<string, string>();
  names.forEach((n, i) => {
    const other = taken.get(n);
    const feature = features[i]?.name ?? n;
    // Only a feature literally named like another's suffixed column (`age` twice and `age_1`) lands here.
    if (other !== undefined) throw new Error(`Features "${other}" and "${feature}" would share the analytics column ${n}; rename one.`);
    taken.set(n, feature);
  });
  return names;
}

/**
 * A table's columns for a model. Tabular inputs get one column per feature, typed by the feature
 * (see featureColumnType): columnar values compress, encode and scan far better than a list column, and the drift
 * query reads each as a plain column. Image inputs keep no pixel columns (an image is thousands of
 * values; its S3 key is kept when the API stored it).
 */
export function tableColumns(table: AnalyticsTable, manifest: ModelManifest): ColumnSpec[] {
  if (table === 'feedback') return [...FEEDBACK_COLUMNS];
  if (table === 'shadow_predictions') return [...SHADOW_COLUMNS];
  const columns = [...PREDICTION_COLUMNS, COMPACTED_COLUMN];
  if (manifest.input.kind === 'tabular') {
    const names = featureColumnNames(manifest.input.features);
    manifest.input.features.forEach((f, featureIndex) => {
      columns.push({
        name: names[featureIndex] as string, // one name per feature
        type: featureColumnType(f.type),
        nullable: true,
        comment: `input feature ${f.name}`.slice(0, 255),
        featureIndex,
      });
    });
  }
  return columns;
}

/**
 * The column type of a feature: float32 features as FLOAT (what the model read), int and double as
 * DOUBLE (exact for every accepted int), string and bool as STRING (bools as "true"/"false", the
 * baseline's own category names).
 */
function featureColumnType(type: 'float' | 'int' | 'double' | 'string' | 'bool'): ColumnType {
  if (type === 'float') return 'float';
  return type === 'int' || type === 'double' ? 'double' : 'string';
}

/** A feature value as its analytics column holds it. */
export type FeatureCell = number | string | null;

/** What answered and shadow prediction rows say alike: who answered, when, what and how fast. */
export interface AnswerCells {
  version: string;
  ts: Date;
  predicted_label: string | null;
  score: number | null;
  predicted_value: number | null;
  latency_ms: number;
}

export interface PredictionRow extends AnswerCells {
  id: string;
  model: string;
  api_key_id: string | null;
  /** Input values in the manifest's order (tabular, logged inline); written as one column per feature. */
  features: FeatureCell[] | null;
  input_key: string | null;
  /** Set by compaction only. @default - NULL */
  compacted_at?: Date | null;
}

export interface FeedbackRow {
  id: string;
  model: string;
  version: string;
  /** The prediction's time: feedback is partitioned with its prediction, so a day's join reads one folder of each table. */
  ts: Date;
  label: string;
  received_at: Date;
  /** Set by compaction only. @default - NULL */
  compacted_at?: Date | null;
}

export interface ShadowRow extends AnswerCells {
  id: string;
  /** The model it shadows (the partition), not the log's `<model>#shadow`. */
  model: string;
  shadow_of: string;
  shadow_error: string | null;
  /** Set by compaction only. @default - NULL */
  compacted_at?: Date | null;
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
  for (const [what, v] of [
    ['model', model],
    ['version', version],
    ['batch id', batchId],
  ] as const) {
    // Model names and versions are already restricted to these characters by the manifest schema.
    if (!SAFE_SEGMENT.test(v)) throw new Error(`An analytics ${what} must be letters, digits, ".", "_" or "-", got "${v}"`);
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(dt)) throw new Error(`A partition date is yyyy-mm-dd, got "${dt}"`);
  return `${tablePrefix(table)}model=${model}/dt=${dt}/${version}~${batchId}.parquet`;
}

/** The batch id of a partition's compacted object (stream batch ids are hex digests, so never this). */
export const COMPACTED_BATCH = 'compacted';

/**
 * The key of the compacted object of one table, model, day and version: fixed, so a second compaction
 * of the day replaces it (one PUT, which readers see whole or not at all) instead of adding a copy.
 */
export function compactedObjectKey(table: AnalyticsTable, model: string, dt: string, version: string): string {
  return analyticsObjectKey(table, model, dt, version, COMPACTED_BATCH);
}

export interface AnalyticsObjectName {
  table: AnalyticsTable;
  model: string;
  dt: string;
  version: string;
  batch: string;
  compacted: boolean;
}

/** The parts of an analytics object key, or undefined for a key that is not one (`analyticsObjectKey`'s inverse). */
export function parseAnalyticsKey(key: string): AnalyticsObjectName | undefined {
  const m = /^([^/]+)\/model=([A-Za-z0-9._-]+)\/dt=(\d{4}-\d{2}-\d{2})\/([A-Za-z0-9._-]+)~([A-Za-z0-9._-]+)\.parquet$/.exec(
    key.startsWith(PREFIX.analytics) ? key.slice(PREFIX.analytics.length) : '',
  );
  const table = ANALYTICS_TABLES.find((t) => t === m?.[1]);
  if (m === null || table === undefined) return undefined;
  const [, , model, dt, version, batch] = m as unknown as [string, string, string, string, string, string];
  return { table, model, dt, version, batch, compacted: batch === COMPACTED_BATCH };
}

/** Name of the Athena workgroup of a stack prefix (the query function runs the long summary windows in it). */
export function athenaWorkgroupName(stackPrefix: string): string {
  return `${stackPrefix}-analytics`;
}

/** Name of the Glue database of a stack prefix (Glue names: lower case, digits and underscores). */
export function glueDatabaseName(stackPrefix: string): string {
  return `${stackPrefix.toLowerCase().replace(/[^a-z0-9]/g, '_')}_analytics`;
}
