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
 *
 * With the model's baseline, closing a day also writes its binned feature counts (contract/feature-bins.ts),
 * after the compacted objects and before the merged files are deleted: while a day still holds files the
 * stream wrote, the feature-drift query bins its rows instead of reading its counts, so counts and rows
 * never disagree. A closed day compacted without counts (before they existed, or under another baseline)
 * gets them on a later run, oldest first, as the deadline allows; until then the query bins its rows.
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
import type { ModelBaseline } from '../../contract/baseline';
import {
  countFeatureBins,
  FEATURE_BINS_PREFIX,
  type FeatureBinSpec,
  featureBinSpecs,
  featureBinsFingerprint,
  featureBinsKey,
  parseFeatureBinsKey,
} from '../../contract/feature-bins';
import type { ModelManifest } from '../../contract/manifest';
import { featureBinsToParquet, parquetDecompressors, toParquet } from './parquet';

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
  /** The model's drift baseline: each closed day's binned feature counts are written with its bins. @default - no counts */
  baseline?: ModelBaseline;
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

/** Binned feature counts written for a closed day. */
export interface FeatureBinsWrite {
  dt: string;
  /** Predictions counted, and count rows written. */
  rowsIn: number;
  rowsOut: number;
  /** True when the day was compacted before and only its counts were missing. */
  backfill: boolean;
}

export interface CompactionResult {
  partitions: PartitionCompaction[];
  featureBins: FeatureBinsWrite[];
  /** Closed partitions left with raw files, or without counts, for the next run (the deadline came first). */
  remaining: number;
}

type Row = Record<string, unknown>;

/** Closed days of one table and model, each with all its objects, oldest first. */
async function closedDays(store: ObjectStore, table: AnalyticsTable, model: string, today: string) {
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
  return [...byDay.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

/** The counts objects of a model's days: day → keys (one per fingerprint the day was counted with). */
async function featureBinsObjects(store: ObjectStore, model: string): Promise<Map<string, string[]>> {
  const byDay = new Map<string, string[]>();
  for (const key of await store.list(`${FEATURE_BINS_PREFIX}model=${model}/`)) {
    const name = parseFeatureBinsKey(key);
    if (name === undefined || name.model !== model) continue;
    byDay.set(name.dt, [...(byDay.get(name.dt) ?? []), key]);
  }
  return byDay;
}

interface FeatureBinsPlan {
  specs: FeatureBinSpec[];
  fingerprint: string;
  /** Day → its counts objects, as listed at the start of the run. */
  objects: Map<string, string[]>;
}

/**
 * Writes a day's counts (one object for every version) and then deletes its counts of other bins. The
 * caller deletes the day's merged files only after this: a day with such files is binned from its rows.
 */
async function writeFeatureBins(
  store: ObjectStore,
  model: string,
  dt: string,
  rows: readonly Row[],
  plan: FeatureBinsPlan,
  backfill: boolean,
): Promise<FeatureBinsWrite> {
  const counts = countFeatureBins(plan.specs, rows);
  const key = featureBinsKey(model, dt, plan.fingerprint);
  await store.put(key, await featureBinsToParquet(counts));
  const stale = (plan.objects.get(dt) ?? []).filter((k) => k !== key);
  if (stale.length > 0) await store.delete(stale);
  return { dt, rowsIn: rows.length, rowsOut: counts.length, backfill };
}

/**
 * The rows of objects as the writer's row shape: input features back into `features`, in the manifest's
 * order. With `columns`, only those columns are read (and no `features`).
 */
async function readRows(
  store: ObjectStore,
  keys: readonly string[],
  table: AnalyticsTable,
  manifest: ModelManifest,
  columns?: string[],
): Promise<Row[]> {
  const compressors = await parquetDecompressors();
  const features = tableColumns(table, manifest).filter((c) => c.featureIndex !== undefined);
  const rows: Row[] = [];
  for (const key of keys) {
    const body = await store.get(key);
    const file = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
    for (const r of (await parquetReadObjects({ file, compressors, columns })) as Row[]) {
      if (table === 'predictions' && columns === undefined)
        r.features = features.length > 0 ? features.map((c) => r[c.name] ?? null) : null;
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
  bins: FeatureBinsPlan | undefined,
): Promise<{ partition: PartitionCompaction; featureBins?: FeatureBinsWrite }> {
  const rows = await readRows(store, [...objects.compacted, ...objects.raw], table, manifest);
  const once = dedupe(table, rows);
  const byVersion = new Map<string, Row[]>();
  for (const r of once) {
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
  const featureBins =
    table === 'predictions' && bins !== undefined ? await writeFeatureBins(store, manifest.name, dt, once, bins, false) : undefined;
  // Only after every version's object (and the day's counts) is in place: until then the raw files still count.
  await store.delete(objects.raw);
  return { partition: { table, dt, merged: objects.raw.length, rowsIn: rows.length, rowsOut, bytesOut }, featureBins };
}

/** Compacts every closed day of the model that holds raw objects, oldest first. */
export async function compactClosedDays(
  store: ObjectStore,
  manifest: ModelManifest,
  opts: CompactionOptions = {},
): Promise<CompactionResult> {
  const now = opts.now ?? new Date();
  const today = partitionDate(now);
  const result: CompactionResult = { partitions: [], featureBins: [], remaining: 0 };
  const late = () => opts.deadline !== undefined && Date.now() > opts.deadline;
  const bins = await featureBinsPlan(store, manifest, opts.baseline);
  for (const table of ANALYTICS_TABLES) {
    const days = await closedDays(store, table, manifest.name, today);
    for (const [dt, objects] of days.filter(([, d]) => d.raw.length > 0)) {
      if (late()) {
        result.remaining++;
        continue;
      }
      const done = await compactPartition(store, table, manifest, dt, objects, now, bins);
      result.partitions.push(done.partition);
      if (done.featureBins !== undefined) result.featureBins.push(done.featureBins);
    }
    if (table === 'predictions' && bins !== undefined) await countCompactedDays(store, manifest, days, bins, late, result);
  }
  return result;
}

/**
 * Writes the counts of the closed days that were compacted without counts of these bins and hold no raw
 * files (a day with raw files gets them when it is compacted), oldest first: only their feature columns are read.
 */
async function countCompactedDays(
  store: ObjectStore,
  manifest: ModelManifest,
  days: [string, { raw: string[]; compacted: string[] }][],
  bins: FeatureBinsPlan,
  late: () => boolean,
  result: CompactionResult,
): Promise<void> {
  const columns = ['version', ...bins.specs.map((s) => s.column.name)];
  for (const [dt, objects] of days) {
    const counted = (bins.objects.get(dt) ?? []).includes(featureBinsKey(manifest.name, dt, bins.fingerprint));
    if (objects.raw.length > 0 || objects.compacted.length === 0 || counted) continue;
    if (late()) {
      result.remaining++;
      continue;
    }
    const rows = await readRows(store, objects.compacted, 'predictions', manifest, columns);
    result.featureBins.push(await writeFeatureBins(store, manifest.name, dt, rows, bins, true));
  }
}

/**
 * Only the counts of closed days compacted without them (no compaction): what the next compaction run
 * would add to a store compacted before the counts existed. The benchmark fills its store's counts so.
 */
export async function countCompactedClosedDays(
  store: ObjectStore,
  manifest: ModelManifest,
  opts: CompactionOptions & { baseline: ModelBaseline },
): Promise<CompactionResult> {
  const result: CompactionResult = { partitions: [], featureBins: [], remaining: 0 };
  const bins = await featureBinsPlan(store, manifest, opts.baseline);
  if (bins === undefined) return result;
  const days = await closedDays(store, 'predictions', manifest.name, partitionDate(opts.now ?? new Date()));
  await countCompactedDays(store, manifest, days, bins, () => opts.deadline !== undefined && Date.now() > opts.deadline, result);
  return result;
}

/** What writing counts needs: the baseline's bins and the counts already written; undefined without a baseline or tabular inputs. */
async function featureBinsPlan(
  store: ObjectStore,
  manifest: ModelManifest,
  baseline: ModelBaseline | undefined,
): Promise<FeatureBinsPlan | undefined> {
  if (baseline === undefined || manifest.input.kind !== 'tabular') return undefined;
  const specs = featureBinSpecs(manifest, baseline);
  return { specs, fingerprint: featureBinsFingerprint(specs), objects: await featureBinsObjects(store, manifest.name) };
}
