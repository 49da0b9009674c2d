/** Pure arithmetic of `GET /metrics/summary`, kept apart from the DynamoDB paging and the analytics engine. */

import { FORMATS } from '../../contract/limits';
import type { ModelManifest } from '../../contract/manifest';
import { type ClassificationMetrics, classificationMetrics, type LabelPair } from '../../contract/metrics/classification';
import { nearestRank as percentile } from '../../contract/metrics/percentile';
import { type ProbabilityQuality, probabilityQuality } from '../../contract/metrics/probability-quality';
import { regressionMetrics, type ValuePair } from '../../contract/metrics/regression';
import {
  type ClassificationSummary,
  feedbackValue,
  type MetricsSummary,
  type PredictionRecord,
  type VersionSummary,
} from '../../contract/prediction-log';
import type { AnalyticsRow } from '../analytics/engine';

/** Nearest-rank percentile of sorted values; null when there are none (the monitor's one definition). */
export { percentile };

/** What the summary reads of a logged prediction. */
export type SummaryRecord = Pick<
  PredictionRecord,
  'modelVersion' | 'label' | 'probabilities' | 'predictedValue' | 'latencyMs' | 'feedback'
>;

/** The attributes `summarize` reads, as a DynamoDB projection. */
export const SUMMARY_PROJECTION = 'modelVersion, label, probabilities, predictedValue, latencyMs, feedback';

export function summarize(
  records: readonly SummaryRecord[],
  meta: Pick<MetricsSummary, 'model' | 'window' | 'from' | 'to' | 'truncated'>,
  manifest: Pick<ModelManifest, 'output'>,
): MetricsSummary {
  const countsByLabel: Record<string, number> = {};
  const latencies: number[] = [];
  const byVersion = new Map<string, SummaryRecord[]>();
  let correct = 0;
  for (const r of records) {
    if (r.label !== undefined) countsByLabel[r.label] = (countsByLabel[r.label] ?? 0) + 1;
    latencies.push(r.latencyMs);
    if (r.feedback !== undefined && r.label !== undefined && String(r.feedback.label) === r.label) correct++;
    const group = byVersion.get(r.modelVersion);
    if (group === undefined) byVersion.set(r.modelVersion, [r]);
    else group.push(r);
  }
  latencies.sort((a, b) => a - b);
  const versions = [...byVersion.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([v, group]) => versionSummary(v, group, manifest));
  const feedbackCount = versions.reduce((s, v) => s + v.feedbackCount, 0);
  return {
    ...meta,
    count: records.length,
    countsByLabel,
    latencyMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99) },
    feedbackCount,
    accuracy: manifest.output.kind === 'classification' && feedbackCount > 0 ? correct / feedbackCount : null,
    versions,
    source: 'log',
  };
}

/**
 * One version's predictions and the quality of those with feedback: a classifier's predictions that carry
 * a label, a regressor's that carry a predicted value and a numeric true value.
 */
export function versionSummary(
  modelVersion: string,
  records: readonly SummaryRecord[],
  manifest: Pick<ModelManifest, 'output'>,
): VersionSummary {
  if (manifest.output.kind === 'regression') {
    const pairs: ValuePair[] = [];
    for (const r of records) {
      const actual = r.feedback === undefined ? undefined : feedbackValue(r.feedback);
      if (actual !== undefined && typeof r.predictedValue === 'number') pairs.push({ predicted: r.predictedValue, actual });
    }
    const m = regressionMetrics(pairs);
    return {
      modelVersion,
      count: records.length,
      feedbackCount: pairs.length,
      ...(m === undefined ? {} : { regression: { count: m.count, mae: m.mae, rmse: m.rmse, r2: m.r2, meanError: m.meanError } }),
    };
  }
  const rows: { predicted: string; actual: string; probabilities?: Readonly<Record<string, number>> }[] = [];
  for (const r of records) {
    if (r.feedback !== undefined && r.label !== undefined)
      rows.push({ predicted: r.label, actual: String(r.feedback.label), probabilities: r.probabilities });
  }
  if (rows.length === 0) return { modelVersion, count: records.length, feedbackCount: 0 };
  const { labels } = manifest.output;
  const m = classificationMetrics(labels, rows);
  return {
    modelVersion,
    count: records.length,
    feedbackCount: rows.length,
    classification: classificationSummary(m, probabilityQuality(labels, rows)),
  };
}

/** The summary's classifier figures of fed-back pairs' metrics (at least one pair), with what their probabilities say when they carry any. */
function classificationSummary(m: ClassificationMetrics, probabilities: ProbabilityQuality | undefined): ClassificationSummary {
  const calibration = probabilities?.calibration;
  return {
    count: m.count,
    accuracy: m.accuracy ?? 0,
    classes: m.classes.map(({ label, support, predicted, precision, recall, f1 }) => ({
      label,
      support,
      predicted,
      precision,
      recall,
      f1,
    })),
    macroF1: m.macroF1,
    weightedF1: m.weightedF1,
    confusion: { labels: m.confusion.labels, counts: m.confusion.counts },
    rocAuc: probabilities?.rocAuc ?? null,
    ece: calibration?.ece ?? null,
    ...(calibration === undefined || calibration.count === 0
      ? {}
      : {
          calibration: calibration.bins.map(({ lower, upper, count, meanProbability, observedRate }) => ({
            lower,
            upper,
            count,
            meanProbability,
            observedRate,
          })),
        }),
  };
}

/** A count or measure of an analytics row: Athena answers text, DuckDB numbers (counts as text too). */
function num(v: string | number | null | undefined): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new Error(`The analytics summary answered a non-number: ${String(v)}`);
  return n;
}

/** The smallest non-null value (each row holds a candidate of the window's percentile; see summarySql). */
function least(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.min(...present);
}

/**
 * The summary from the rows of `summarySql` (one per predicted label, a null label for regression):
 * the same figures as `summarize` gives from log items, counted once per prediction id.
 */
export function summarizeAnalytics(
  rows: AnalyticsRow[],
  meta: Pick<MetricsSummary, 'model' | 'window' | 'from' | 'to'>,
  versions: VersionSummary[] = [],
): MetricsSummary {
  const countsByLabel: Record<string, number> = {};
  let count = 0;
  let feedbackCount = 0;
  let correct = 0;
  let labelled = false;
  for (const r of rows) {
    const n = num(r.predictions) ?? 0;
    count += n;
    const label = r.predicted_label;
    if (label === null || label === undefined) continue;
    labelled = true;
    // As from the log: feedback and accuracy count for predictions that carry a label (classifiers).
    countsByLabel[String(label)] = n;
    feedbackCount += num(r.with_feedback) ?? 0;
    correct += num(r.correct) ?? 0;
  }
  return {
    ...meta,
    count,
    truncated: false,
    countsByLabel,
    latencyMs: {
      p50: least(rows.map((r) => num(r.p50))),
      p90: least(rows.map((r) => num(r.p90))),
      p99: least(rows.map((r) => num(r.p99))),
    },
    // A regressor's rows carry no label: its feedback is counted per version.
    feedbackCount: labelled ? feedbackCount : versions.reduce((sum, v) => sum + v.feedbackCount, 0),
    accuracy: feedbackCount === 0 ? null : correct / feedbackCount,
    versions,
    source: 'analytics',
  };
}

/**
 * The per-version quality of a long window from the rows of `versionQualitySql`: a regressor's figures
 * as the query computed them; a classifier's confusion matrix (and from it the per-class figures) from
 * its (version, predicted, actual, n) cells, and a binary classifier's ROC AUC as the query computed it
 * (`roc_auc` on every row of the version). A one-vs-rest AUC needs every label's probability and the ECE
 * each prediction's, which the store's rows do not carry: they are null here (the named query
 * `calibration` has the reliability curve).
 */
export function analyticsVersions(rows: AnalyticsRow[], manifest: Pick<ModelManifest, 'output'>): VersionSummary[] {
  const { output } = manifest;
  if (output.kind === 'regression') {
    return rows.map((r) => {
      const n = num(r.n) ?? 0;
      const [mae, rmse, meanError] = [num(r.mae), num(r.rmse), num(r.mean_error)];
      return {
        modelVersion: String(r.version),
        count: num(r.predictions) ?? 0,
        feedbackCount: n,
        ...(n === 0 || mae === null || rmse === null || meanError === null
          ? {}
          : { regression: { count: n, mae, rmse, r2: num(r.r2), meanError } }),
      };
    });
  }
  const byVersion = new Map<string, { count: number; pairs: LabelPair[]; rocAuc: number | null }>();
  for (const r of rows) {
    const version = String(r.version);
    const group = byVersion.get(version) ?? { count: 0, pairs: [], rocAuc: null };
    byVersion.set(version, group);
    const n = num(r.n) ?? 0;
    group.count += n;
    group.rocAuc = num(r.roc_auc) ?? group.rocAuc;
    if (r.actual === null || r.actual === undefined || r.predicted === null || r.predicted === undefined) continue;
    for (let i = 0; i < n; i++) group.pairs.push({ predicted: String(r.predicted), actual: String(r.actual) });
  }
  return [...byVersion.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([modelVersion, { count, pairs, rocAuc }]) => {
      if (pairs.length === 0) return { modelVersion, count, feedbackCount: 0 };
      const m = classificationMetrics(output.labels, pairs);
      return { modelVersion, count, feedbackCount: pairs.length, classification: { ...classificationSummary(m, undefined), rocAuc } };
    });
}

const HOUR_MS = 3_600_000;
/** Longest window read from the log (a bounded number of pages of its index); longer ones come from the analytics store. */
export const MAX_LOG_WINDOW_MS = FORMATS.maxLogSummaryWindowHours * HOUR_MS;
