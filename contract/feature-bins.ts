/**
 * Binned feature counts of closed days: when the compactor closes a day (lambda/analytics/compact.ts) it
 * also writes, per model version and baseline feature, how many of the day's predictions fell in each
 * baseline bin, and how many had no value. The feature-drift query (contract/analytics-queries.ts) sums
 * these for the days they cover and bins rows only for the others (the open day, a day with a late batch
 * not yet folded in, a day compacted before the counts existed), so a long window reads thousands of
 * count rows instead of millions of predictions.
 *
 * Layout: `analytics/feature_bins/model=<name>/dt=<yyyy-mm-dd>/<fingerprint>.parquet`, one object per day
 * (all versions in one PUT, so a day is covered whole or not at all). The fingerprint names the bins the
 * counts were made with (`featureBinsFingerprint`): counts of another baseline are never summed with
 * this one's, the query reads only its own, and the compactor writes a day again when the baseline changes.
 */
import { type ColumnSpec, tableColumns } from './analytics';
import { type FeatureBaseline, isCategorical, type ModelBaseline } from './baseline';
import { PREFIX } from './bucket';
import { binIndex } from './drift';
import type { ModelManifest } from './manifest';

/** The table's name in the Glue catalog and the DuckDB view, and its folder under `analytics/`. */
export const FEATURE_BINS_TABLE = 'feature_bins';

/** Whole numbers are stored as DOUBLE (exact below 2^53): the store's column types stay the four it has. */
export const FEATURE_BINS_COLUMNS: readonly ColumnSpec[] = [
  { name: 'version', type: 'string', nullable: false, comment: 'model version that answered' },
  { name: 'feature', type: 'string', nullable: false, comment: 'baseline feature name' },
  { name: 'feature_index', type: 'double', nullable: false, comment: "the feature's position in the baseline, from 1" },
  { name: 'bin', type: 'double', nullable: true, comment: 'baseline bin, from 0; NULL for the predictions without a value' },
  { name: 'n', type: 'double', nullable: false, comment: 'predictions of the day and version in the bin' },
  { name: 'baseline', type: 'string', nullable: false, comment: 'fingerprint of the baseline bins the counts were made with' },
];

/** `analytics/feature_bins/` */
export const FEATURE_BINS_PREFIX = `${PREFIX.analytics}${FEATURE_BINS_TABLE}/`;

/** The object of one model's and day's counts made with the bins of `fingerprint`. */
export function featureBinsKey(model: string, dt: string, fingerprint: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(model)) throw new Error(`A model name must be letters, digits, ".", "_" or "-", got "${model}"`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(dt)) throw new Error(`A partition date is yyyy-mm-dd, got "${dt}"`);
  if (!/^[0-9a-f]{16}$/.test(fingerprint)) throw new Error(`A baseline fingerprint is 16 hex digits, got "${fingerprint}"`);
  return `${FEATURE_BINS_PREFIX}model=${model}/dt=${dt}/${fingerprint}.parquet`;
}

/** The day and fingerprint of a counts object's key, or undefined for another key. */
export function parseFeatureBinsKey(key: string): { model: string; dt: string; fingerprint: string } | undefined {
  const m = /^model=([A-Za-z0-9._-]+)\/dt=(\d{4}-\d{2}-\d{2})\/([0-9a-f]{16})\.parquet$/.exec(
    key.startsWith(FEATURE_BINS_PREFIX) ? key.slice(FEATURE_BINS_PREFIX.length) : '',
  );
  if (m === null) return undefined;
  const [, model, dt, fingerprint] = m as unknown as [string, string, string, string];
  return { model, dt, fingerprint };
}

/** How one baseline feature is binned: the query's CASE and the compactor's counter both follow this. */
export interface FeatureBinSpec {
  /** Position in the baseline, from 1 (the query's `feature_index`). */
  readonly featureIndex: number;
  readonly feature: FeatureBaseline;
  /** The analytics column holding the feature. */
  readonly column: ColumnSpec;
  /** A missing value lands in no bin (nullable features only; otherwise it falls through to the last bin). */
  readonly nullable: boolean;
}

/** The bin specs of a model's baseline features, in baseline order; throws when the baseline does not fit the model. */
export function featureBinSpecs(manifest: ModelManifest, baseline: ModelBaseline): FeatureBinSpec[] {
  const inputs = manifest.input.kind === 'tabular' ? manifest.input.features : [];
  const columns = tableColumns('predictions', manifest);
  const specs = baseline.features.map((feature, j) => {
    const at = inputs.findIndex((x) => x.name === feature.name);
    const column = columns.find((c) => c.featureIndex !== undefined && c.featureIndex === at);
    if (column?.featureIndex === undefined)
      throw new Error(`Baseline feature "${feature.name}" is not an input feature of model ${manifest.name}`);
    const kind = isCategorical(feature) ? 'categories' : 'decile bins';
    if ((kind === 'categories') !== (column.type === 'string'))
      throw new Error(
        `Feature "${feature.name}" has ${kind} in the baseline but a ${column.type} column; the baseline does not fit the manifest`,
      );
    return { featureIndex: j + 1, feature, column, nullable: inputs[at]?.nullable === true };
  });
  if (specs.length === 0) throw new Error(`The baseline of model ${manifest.name} describes no features`);
  return specs;
}

/**
 * The rows whose inputs are inline (the query's filter): a feature that is never missing is set, or
 * else any feature is.
 */
export function inlineFeatureColumns(specs: readonly FeatureBinSpec[]): { all: boolean; columns: string[] } {
  const present = specs.find((s) => !s.nullable);
  return present !== undefined ? { all: true, columns: [present.column.name] } : { all: false, columns: specs.map((s) => s.column.name) };
}

/**
 * 16 hex digits naming everything the counts depend on: each feature's column, type, nullability, edges
 * and categories, in order. FNV-1a (64 bits): a name, not a secret, and the same in every runtime.
 */
export function featureBinsFingerprint(specs: readonly FeatureBinSpec[]): string {
  const text = JSON.stringify(
    specs.map((s) => [
      s.featureIndex,
      s.feature.name,
      s.column.name,
      s.column.type,
      s.nullable,
      isCategorical(s.feature) ? s.feature.categories : s.feature.edges,
    ]),
  );
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) h = BigInt.asUintN(64, (h ^ BigInt(byte)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

/**
 * The bin of a value as the query's CASE puts it, or null for a missing value of a nullable feature
 * (no bin). Numbers: the first bin whose upper edge is >= the value, edges compared in the column's type
 * (float32 for FLOAT columns); NaN and a missing value of a feature never missing fall through to the
 * last bin, as `NULL <= edge` and `NaN <= edge` do in SQL. Categories: the category's bin, anything else
 * (a missing value too) the last.
 */
export function binOfValue(spec: FeatureBinSpec, value: unknown, edges: readonly number[]): number | null {
  const f = spec.feature;
  if (isCategorical(f)) {
    const i = typeof value === 'string' ? f.categories.indexOf(value) : -1;
    return i === -1 ? f.categories.length : i;
  }
  if (value === null || value === undefined) return spec.nullable ? null : edges.length;
  const v = Number(value);
  return Number.isNaN(v) ? edges.length : binIndex(edges, v);
}

/** A numeric feature's edges as its column compares them (float32 for FLOAT columns), or [] for categories. */
export function columnEdges(spec: FeatureBinSpec): number[] {
  if (isCategorical(spec.feature)) return [];
  return spec.column.type === 'float' ? spec.feature.edges.map(Math.fround) : [...spec.feature.edges];
}

export interface FeatureBinCount {
  version: string;
  feature: string;
  feature_index: number;
  bin: number | null;
  n: number;
  baseline: string;
}

/**
 * Counts rows (objects holding `version` and the feature columns) into the table's rows: per version,
 * feature and bin, only the rows whose inputs are inline, only the bins some row fell in. A version
 * without inline rows gets one row of n = 0 (no bin), so a day's counts are never empty.
 */
export function countFeatureBins(specs: readonly FeatureBinSpec[], rows: Iterable<Record<string, unknown>>): FeatureBinCount[] {
  const fingerprint = featureBinsFingerprint(specs);
  const edges = specs.map(columnEdges);
  const inline = inlineFeatureColumns(specs);
  // Per version: per feature, counts of bins 0..k-1 and, at index k, of missing values.
  const byVersion = new Map<string, number[][]>();
  const versions = new Set<string>();
  for (const row of rows) {
    const version = String(row.version);
    versions.add(version);
    const set = (c: string) => row[c] !== null && row[c] !== undefined;
    if (!(inline.all ? set(inline.columns[0] as string) : inline.columns.some(set))) continue;
    let counts = byVersion.get(version);
    if (counts === undefined) {
      counts = specs.map((s) => new Array<number>(s.feature.proportions.length + 1).fill(0));
      byVersion.set(version, counts);
    }
    specs.forEach((s, j) => {
      const c = counts[j] as number[]; // one array per spec
      const bin = binOfValue(s, row[s.column.name], edges[j] as number[]);
      (c[bin ?? c.length - 1] as number)++;
    });
  }
  const out: FeatureBinCount[] = [];
  for (const version of [...versions].sort()) {
    const counts = byVersion.get(version);
    const [first] = specs;
    if (counts === undefined) {
      if (first !== undefined)
        out.push({ version, feature: first.feature.name, feature_index: first.featureIndex, bin: null, n: 0, baseline: fingerprint });
      continue;
    }
    specs.forEach((s, j) => {
      const c = counts[j] as number[];
      c.forEach((n, i) => {
        if (n > 0)
          out.push({
            version,
            feature: s.feature.name,
            feature_index: s.featureIndex,
            bin: i === c.length - 1 ? null : i,
            n,
            baseline: fingerprint,
          });
      });
    });
  }
  return out;
}
