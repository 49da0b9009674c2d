/**
 * Compaction of closed days: each table's partition of a model and a day before today (UTC) that holds
 * files as the stream or `mlship export` wrote them is rewritten as one object per version
 * (`compactedObjectKey`), one row per prediction id (feedback: the latest per id, as the log item keeps
 * it), sorted by id, with `compacted_at` set; then the files it merged are deleted. Queries read
 * compacted rows as they are and dedupe only rows with no `compacted_at`, against each other and
 * against the compacted ids (`contract/analytics-queries.ts`).
 *
 * Why that stays exactly-once:
 * - twice, or after a crash: a second run merges the same rows again into the same keys; a crash between
 *   the PUT and the deletes leaves raw files that the queries still dedupe against the compacted ones;
 * - a late or redelivered batch for a compacted day lands as a raw file beside the compacted object: the
 *   queries count its ids only when the compacted rows do not hold them (feedback: the later of the two),
 *   and the next run folds it in;
 * - a batch written while a run works on its day is not in the run's listing, so it is neither merged
 *   nor deleted. Runs must not overlap (two could each rewrite a day from a different listing and the
 *   older PUT could win): on AWS runs queue in one FIFO message group, locally one loop runs them.
 */
import { parquetReadObjects } from 'hyparquet';
import {
  ANALYTICS_TABLES,
  type AnalyticsTable,
  compactedObjectKey,
  type FeedbackRow,
  type PredictionRow,
  parseAnalyticsKey,
  partitionDate,
  tableColumns,
  tablePrefix,
} from '../../contract/analytics';
import type { ModelManifest } from '../../contract/manifest';
import { parquetDecompressors, toParquet } from './parquet';

/** What compaction needs of a bucket: the S3 adapter (`s3ObjectStore`) on AWS and locally, a folder in tests and the bench. */
export interface ObjectStore {
  /** Every key under `prefix`. */
  list(prefix: string): Promise<string[]>;
  get(key: string): Promise<Uint8Array>;
  put(key: string, body: Uint8Array): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
}

export interface CompactionOptions {
  /** Days before this one (UTC) are closed. @default - now */
  now?: Date;
  /** Stop starting new partitions after this time (epoch ms): a Lambda's deadline. @default - no limit */
  deadline?: number;
}

export interface PartitionCompaction {
  table: AnalyticsTable;
  dt: string;
  /** Raw objects merged (and deleted). */
  merged: number;
  /** Rows read (compacted and raw) and rows written. */
  rowsIn: number;
  rowsOut: number;
  bytesOut: number;
}

export interface CompactionResult {
  partitions: PartitionCompaction[];
  /** Closed partitions left with raw files for the next run (the deadline came first). */
  remaining: number;
}

type Row = Record<string, unknown>;

/** Closed days of one table and model that hold raw objects, each with all its objects. */
async function partitionsToCompact(store: ObjectStore, table: AnalyticsTable, model: string, today: string) {
  const byDay = new Map<string, { raw: string[]; compacted: string[] }>();
  for (const key of await store.list(`${tablePrefix(table)}model=${model}/`)) {
    const name = parseAnalyticsKey(key);
    if (name === undefined || name.table !== table || name.model !== model || name.dt >= today) continue;
    let day = byDay.get(name.dt);
    if (day === undefined) {
      day = { raw: [], compacted: [] };
      byDay.set(name.dt, day);
    }
    (name.compacted ? day.compacted : day.raw).push(key);
  }
  return [...byDay.entries()].filter(([, d]) => d.raw.length > 0).sort(([a], [b]) => (a < b ? -1 : 1));
}

/** The rows of objects as the writer's row shape: input features back into `features`, in the manifest's order. */
async function readRows(store: ObjectStore, keys: readonly string[], table: AnalyticsTable, manifest: ModelManifest): Promise<Row[]> {
  const compressors = await parquetDecompressors();
  const features = tableColumns(table, manifest).filter((c) => c.featureIndex !== undefined);
  const rows: Row[] = [];
  for (const key of keys) {
    const body = await store.get(key);
    const file = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
    for (const r of (await parquetReadObjects({ file, compressors })) as Row[]) {
      if (table === 'predictions') r.features = features.length > 0 ? features.map((c) => r[c.name] ?? null) : null;
      rows.push(r);
    }
  }
  return rows;
}

const timeOf = (v: unknown): number => (v instanceof Date ? v.getTime() : Number.NEGATIVE_INFINITY);

/**
 * One row per id: a prediction's columns are fixed by its id (any copy will do); feedback keeps the
 * latest `received_at`, the rule of the queries' `max_by(label, received_at)`.
 */
export function dedupe(table: AnalyticsTable, rows: readonly Row[]): Row[] {
  const byId = new Map<string, Row>();
  for (const r of rows) {
    const id = String(r.id);
    const seen = byId.get(id);
    if (seen === undefined || (table === 'feedback' && timeOf(r.received_at) > timeOf(seen.received_at))) byId.set(id, r);
  }
  return [...byId.values()].sort((a, b) => (String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0));
}

async function compactPartition(
  store: ObjectStore,
  table: AnalyticsTable,
  manifest: ModelManifest,
  dt: string,
  objects: { raw: string[]; compacted: string[] },
  now: Date,
): Promise<PartitionCompaction> {
  const rows = await readRows(store, [...objects.compacted, ...objects.raw], table, manifest);
  const byVersion = new Map<string, Row[]>();
  for (const r of dedupe(table, rows)) {
    r.compacted_at = now;
    const version = String(r.version);
    const group = byVersion.get(version);
    if (group) group.push(r);
    else byVersion.set(version, [r]);
  }
  let bytesOut = 0;
  let rowsOut = 0;
  for (const [version, group] of byVersion) {
    const body = await toParquet(table, group as unknown as (PredictionRow | FeedbackRow)[], manifest);
    await store.put(compactedObjectKey(table, manifest.name, dt, version), body);
    bytesOut += body.byteLength;
    rowsOut += group.length;
  }
  // Only after every version's object is in place: until then the raw files still count.
  await store.delete(objects.raw);
  return { table, dt, merged: objects.raw.length, rowsIn: rows.length, rowsOut, bytesOut };
}

/** Compacts every closed day of the model that holds raw objects, oldest first. */
export async function compactClosedDays(
  store: ObjectStore,
  manifest: ModelManifest,
  opts: CompactionOptions = {},
): Promise<CompactionResult> {
  const now = opts.now ?? new Date();
  const today = partitionDate(now);
  const result: CompactionResult = { partitions: [], remaining: 0 };
  for (const table of ANALYTICS_TABLES) {
    for (const [dt, objects] of await partitionsToCompact(store, table, manifest.name, today)) {
      if (opts.deadline !== undefined && Date.now() > opts.deadline) {
        result.remaining++;
        continue;
      }
      result.partitions.push(await compactPartition(store, table, manifest, dt, objects, now));
    }
  }
  return result;
}
