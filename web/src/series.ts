/**
 * What the dashboard draws, computed from the API's answers: pure functions over logged predictions,
 * so they are tested without a browser.
 */

import type { ModelBaseline } from '../../contract/baseline';
import { type BinnedDistribution, featurePsi, referenceOf } from '../../contract/drift';
import { nearestRank as percentile } from '../../contract/metrics/percentile';
import { predictionHistogram, residuals, type ValuePair } from '../../contract/metrics/regression';
import { feedbackValue, type PredictionRecord, type VersionSummary } from '../../contract/prediction-log';

export interface TimeBuckets {
  /** Bucket start times, epoch seconds (uPlot's x axis). */
  t: number[];
  count: number[];
  p50: (number | null)[];
  p99: (number | null)[];
  /** Cumulative accuracy of fed-back predictions up to each bucket; null before the first feedback. */
  accuracy: (number | null)[];
  /** Regression: mean absolute error and mean error (predicted − actual) of the bucket's fed-back predictions; null without any. */
  mae: (number | null)[];
  meanError: (number | null)[];
}

/** Nearest-rank percentile of sorted values; null when there are none (the monitor's one definition). */
export { percentile };

/** A bucket width that gives at most ~60 points over the span (10 s, 1 min, 5 min, 15 min, 1 h, 6 h, 1 d). */
export function bucketSeconds(spanSeconds: number): number {
  for (const s of [10, 60, 300, 900, 3600, 21600]) if (spanSeconds / s <= 60) return s;
  return 86400;
}

/** Volume, latency percentiles and running accuracy per time bucket, oldest first, empty buckets kept. */
export function timeBuckets(items: readonly PredictionRecord[]): TimeBuckets {
  const out: TimeBuckets = { t: [], count: [], p50: [], p99: [], accuracy: [], mae: [], meanError: [] };
  if (items.length === 0) return out;
  const times = items.map((r) => Date.parse(r.createdAt) / 1000);
  const min = Math.min(...times);
  const max = Math.max(...times);
  const width = bucketSeconds(max - min);
  // With everything in one bucket, start a bucket earlier (it truly held none) so a time axis has a span.
  const first = Math.floor(min / width) * width - (max - min < width ? width : 0);
  const n = Math.floor((max - first) / width) + 1;
  const latencies: number[][] = Array.from({ length: n }, () => []);
  const hits = new Array<number>(n).fill(0);
  const fed = new Array<number>(n).fill(0);
  const errors: number[][] = Array.from({ length: n }, () => []);
  // Every bucket index b lies in 0..n-1 (first <= times[i] <= max), the length of the arrays.
  items.forEach((r, i) => {
    const b = Math.floor(((times[i] as number) - first) / width);
    (latencies[b] as number[]).push(r.latencyMs);
    if (r.feedback !== undefined && r.label !== undefined) {
      (fed[b] as number)++;
      if (String(r.feedback.label) === r.label) (hits[b] as number)++;
    }
    const actual = r.feedback === undefined ? undefined : feedbackValue(r.feedback);
    if (actual !== undefined && typeof r.predictedValue === 'number') (errors[b] as number[]).push(r.predictedValue - actual);
  });
  let hitSum = 0;
  let fedSum = 0;
  for (let b = 0; b < n; b++) {
    // b < n, the length of the three arrays
    const sorted = (latencies[b] as number[]).sort((x, y) => x - y);
    hitSum += hits[b] as number;
    fedSum += fed[b] as number;
    out.t.push(first + b * width);
    out.count.push(sorted.length);
    out.p50.push(percentile(sorted, 50));
    out.p99.push(percentile(sorted, 99));
    out.accuracy.push(fedSum === 0 ? null : hitSum / fedSum);
    const e = errors[b] as number[];
    out.mae.push(e.length === 0 ? null : e.reduce((acc, x) => acc + Math.abs(x), 0) / e.length);
    out.meanError.push(e.length === 0 ? null : e.reduce((acc, x) => acc + x, 0) / e.length);
  }
  return out;
}

/**
 * Residual (predicted − actual) against predicted value of the fed-back regression predictions, sorted
 * by predicted value (uPlot wants its x values in order).
 */
export function residualSeries(items: readonly PredictionRecord[]): { predicted: number[]; residual: number[] } {
  const pairs: ValuePair[] = [];
  for (const r of items) {
    const actual = r.feedback === undefined ? undefined : feedbackValue(r.feedback);
    if (actual !== undefined && typeof r.predictedValue === 'number') pairs.push({ predicted: r.predictedValue, actual });
  }
  const points = residuals(pairs).sort((a, b) => a.predicted - b.predicted);
  return { predicted: points.map((p) => p.predicted), residual: points.map((p) => p.residual) };
}

/** The loaded predicted values over the training baseline's predicted-value bins; undefined when the baseline has none. */
export function predictedValueHistogram(items: readonly PredictionRecord[], baseline: ModelBaseline | undefined) {
  if (baseline?.prediction === undefined) return undefined;
  const values = items.flatMap((r) => (typeof r.predictedValue === 'number' ? [r.predictedValue] : []));
  const h = predictionHistogram(baseline.prediction, values);
  const num = (v: number) => Number(v.toPrecision(3));
  return {
    ...h,
    labels: h.bins.map((b) =>
      b.lower === null ? `≤ ${num(b.upper as number)}` : b.upper === null ? `> ${num(b.lower)}` : `${num(b.lower)}–${num(b.upper)}`,
    ),
  };
}

/** A logged feature value: a number, a categorical string or a bool; null is a nullable feature's missing value. */
type Value = number | string | boolean | null;
const isValue = (v: unknown): v is Value => v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';

/** The model inputs of a logged prediction, missing values as null, when the log holds them inline. */
export function inlineValues(r: PredictionRecord, featureNames: readonly string[] | undefined): Value[] | undefined {
  const input: unknown = r.inputValues;
  if (Array.isArray(input)) {
    const flat = (input as unknown[]).flat(2);
    return flat.every(isValue) ? flat : undefined;
  }
  if (featureNames !== undefined && input !== null && typeof input === 'object') {
    const o = input as Record<string, unknown>;
    const row = featureNames.map((n) => o[n] ?? null);
    return row.every(isValue) ? row : undefined;
  }
  return undefined;
}

export interface DriftResult {
  /** What the live inputs were compared with. */
  reference: 'baseline' | 'older-predictions';
  /** Rows compared (and, for `older-predictions`, the reference rows). */
  rows: number;
  referenceRows?: number;
  /**
   * Each feature with at least MIN_DRIFT_ROWS present values (on both sides, against older predictions):
   * its PSI over those values, and how many live values that was. Missing values are left out here;
   * the missing-values chart counts them.
   */
  features: { name: string; psi: number; n: number }[];
}

/** Decile bins of a reference sample, in the baseline's format (interior cut points + shares). */
export function decileBins(values: readonly number[]): BinnedDistribution {
  const sorted = [...values].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let q = 1; q < 10; q++) {
    // Linear interpolation between order statistics, numpy's default quantile method.
    const pos = (q / 10) * (sorted.length - 1);
    const lo = Math.floor(pos);
    // 0 <= lo <= sorted.length - 1 (the caller passes a non-empty sample)
    const at = sorted[lo] as number;
    edges.push(at + ((sorted[Math.min(lo + 1, sorted.length - 1)] as number) - at) * (pos - lo));
  }
  const counts = new Array<number>(10).fill(0);
  for (const v of sorted) {
    let i = 0;
    while (i < edges.length && (edges[i] as number) < v) i++;
    (counts[i] as number)++; // i <= edges.length = 9 < 10
  }
  return { edges, proportions: counts.map((c) => c / sorted.length) };
}

/** Minimum rows for a drift figure worth drawing. */
export const MIN_DRIFT_ROWS = 10;

/** Column j of the rows without its missing values. */
function present(rows: readonly Value[][], j: number): Exclude<Value, null>[] {
  return rows.flatMap((r) => {
    const v = r[j];
    return v === null || v === undefined ? [] : [v];
  });
}

/**
 * PSI per feature of the loaded predictions' inputs: against the training baseline when the API
 * exposes it, else the newer half of the predictions against the older half (items come newest first).
 * Each feature is measured on its own present values, so a row missing one feature still counts for
 * the others.
 */
export function featureDrift(
  items: readonly PredictionRecord[],
  featureNames: readonly string[],
  baseline: ModelBaseline | undefined,
): DriftResult | undefined {
  const rows = items
    .map((r) => inlineValues(r, featureNames))
    .filter((v): v is Value[] => v !== undefined && v.length === featureNames.length);
  if (baseline !== undefined && baseline.features.length === featureNames.length) {
    if (rows.length < MIN_DRIFT_ROWS) return undefined;
    return {
      reference: 'baseline',
      rows: rows.length,
      features: baseline.features.flatMap((f, j) => {
        const values = present(rows, j);
        return values.length < MIN_DRIFT_ROWS ? [] : [{ name: f.name, psi: featurePsi(f, values), n: values.length }];
      }),
    };
  }
  if (rows.length < 2 * MIN_DRIFT_ROWS) return undefined;
  const half = Math.floor(rows.length / 2);
  const recent = rows.slice(0, half);
  const older = rows.slice(half);
  return {
    reference: 'older-predictions',
    rows: recent.length,
    referenceRows: older.length,
    features: featureNames.flatMap((name, j) => {
      const [live, earlier] = [present(recent, j), present(older, j)];
      if (live.length < MIN_DRIFT_ROWS || earlier.length < MIN_DRIFT_ROWS) return [];
      return [{ name, psi: featurePsi(referenceOf(earlier, decileBins), live), n: live.length }];
    }),
  };
}

/** The features that drifted most, for a readable bar chart. */
export function topDrift(d: DriftResult, n = 10): { name: string; psi: number }[] {
  return [...d.features].sort((a, b) => b.psi - a.psi || a.name.localeCompare(b.name)).slice(0, n);
}

/** Share of missing values (null: a nullable feature sent empty) per feature, over the recent predictions. */
export interface MissingShares {
  /** Predictions whose inputs the log holds inline, one value per feature. */
  rows: number;
  /** Features with at least one missing value, most missing first. */
  features: { name: string; share: number }[];
}

/** Missing values per feature of the predictions logged with inline tabular inputs; undefined without any. */
export function missingShares(items: readonly PredictionRecord[], featureNames: readonly string[]): MissingShares | undefined {
  const counts = new Array<number>(featureNames.length).fill(0);
  let rows = 0;
  for (const r of items) {
    const input: unknown = r.inputValues;
    if (!Array.isArray(input) || input.length !== featureNames.length) continue;
    rows++;
    input.forEach((v, j) => {
      if (v === null) counts[j] = (counts[j] ?? 0) + 1;
    });
  }
  if (rows === 0) return undefined;
  const features = featureNames
    .map((name, j) => ({ name, share: (counts[j] ?? 0) / rows }))
    .filter((f) => f.share > 0)
    .sort((a, b) => b.share - a.share || a.name.localeCompare(b.name));
  return { rows, features };
}

/** Characters of a category label at most, and the width of one in the axis font. */
const MAX_LABEL_CHARS = 14;
const CHAR_PX = 7;
/** Room a label written at an angle needs across the axis. */
const ROTATED_LINE_PX = 14;

/**
 * How the labels under category bars are written: level when each fits its bar, else at -45° (the axis
 * grows to hold them), and when bars are too narrow even for that, only every n-th label.
 */
export function categoryAxis(labels: readonly string[], plotWidth: number): { labels: string[]; rotate: number; size: number } {
  if (labels.length === 0) return { labels: [], rotate: 0, size: 40 };
  const perBar = plotWidth / labels.length;
  const cut = labels.map((l) => shorten(l, MAX_LABEL_CHARS));
  const widest = Math.max(...cut.map((l) => l.length)) * CHAR_PX + 8;
  if (widest <= perBar) return { labels: cut, rotate: 0, size: 40 };
  // Parallel lines at 45° a line apart stand a line × √2 apart along the axis.
  const every = Math.max(1, Math.ceil((ROTATED_LINE_PX * Math.SQRT2) / perBar));
  return { labels: cut.map((l, i) => (i % every === 0 ? l : '')), rotate: -45, size: 24 + Math.ceil(widest * Math.SQRT1_2) };
}

/** Category labels longer than this are cut so neighbouring bars' labels never overlap. */
function shorten(label: string, max = 16): string {
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

/** A confusion matrix holds at most this many labels on screen: the ones with the most fed-back predictions. */
export const MAX_CONFUSION_LABELS = 12;

export interface ConfusionView {
  /** The labels shown, in the summary's order (the model's labels first). */
  labels: string[];
  /** counts[i][j]: fed-back predictions of true label labels[i] predicted as labels[j]. */
  counts: number[][];
  /** Fed-back predictions of each shown true label (the whole row, left-out columns included). */
  rowTotals: number[];
  /** Labels left out (fewest true and predicted), so the note can say how many. */
  hidden: number;
}

/**
 * The part of a version's confusion matrix worth drawing: labels with no fed-back prediction at all are
 * left out, and beyond `max` labels only those with the most true plus predicted counts are kept.
 */
export function confusionView(
  confusion: { labels: readonly string[]; counts: readonly (readonly number[])[] },
  max = MAX_CONFUSION_LABELS,
): ConfusionView {
  const { labels, counts } = confusion;
  const row = (i: number) => counts[i] ?? [];
  const weight = labels.map((_l, i) => row(i).reduce((s, c) => s + c, 0) + counts.reduce((s, r) => s + (r[i] ?? 0), 0));
  const seen = labels.map((_l, i) => i).filter((i) => (weight[i] as number) > 0);
  const kept = [...seen]
    .sort((a, b) => (weight[b] as number) - (weight[a] as number) || a - b)
    .slice(0, max)
    .sort((a, b) => a - b);
  return {
    labels: kept.map((i) => labels[i] as string),
    counts: kept.map((i) => kept.map((j) => row(i)[j] ?? 0)),
    rowTotals: kept.map((i) => row(i).reduce((s, c) => s + c, 0)),
    hidden: seen.length - kept.length,
  };
}

/** What the reliability chart draws: bin centres on x, the diagonal of perfect calibration, each version's observed rate. */
export interface ReliabilitySeries {
  x: number[];
  perfect: number[];
  versions: { modelVersion: string; observed: (number | null)[]; count: number }[];
}

/**
 * The reliability curves of the versions whose summary holds one (classifiers whose log holds their
 * probabilities): per bin, the share of its predictions that were right (null for an empty bin), at
 * the bin's centre. Undefined when no version has one.
 */
export function reliabilitySeries(
  versions: readonly Pick<VersionSummary, 'modelVersion' | 'classification'>[],
): ReliabilitySeries | undefined {
  const curves = versions.flatMap((v) => {
    const bins = v.classification?.calibration;
    return bins === undefined || bins.length === 0 ? [] : [{ modelVersion: v.modelVersion, bins }];
  });
  const [first] = curves;
  if (first === undefined) return undefined;
  const x = first.bins.map((b) => (b.lower + b.upper) / 2);
  return {
    x,
    perfect: x,
    versions: curves.map(({ modelVersion, bins }) => ({
      modelVersion,
      observed: bins.map((b) => b.observedRate),
      count: bins.reduce((s, b) => s + b.count, 0),
    })),
  };
}
