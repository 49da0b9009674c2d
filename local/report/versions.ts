/**
 * The figures of a report per model version, from logged predictions: the quality job's analysis (PSI,
 * KS / chi-square tests and the drifted share, missing rates, prediction drift, label delay), the
 * summary's quality detail (per-class figures, confusion matrix, AUC, ECE or MAE, RMSE, R², bias), the
 * latency percentiles and the alert verdicts against the baseline's held-out figures.
 */
import type { ModelBaseline } from '../../contract/baseline';
import type { ModelManifest } from '../../contract/manifest';
import { type AlertCheck, qualityAlerts } from '../../contract/metrics/alerts';
import { nearestRank } from '../../contract/metrics/percentile';
import { type HistogramBin, predictionHistogram } from '../../contract/metrics/regression';
import { DEFAULT_QUALITY_THRESHOLDS, type QualityThresholds } from '../../contract/metrics/thresholds';
import type { PredictionRecord, VersionSummary } from '../../contract/prediction-log';
import { versionSummary } from '../../lambda/log/summary';
import { analyzeWindow, type VersionQuality } from '../../lambda/quality/analyze';

export interface VersionReport {
  modelVersion: string;
  analysis: VersionQuality;
  summary: VersionSummary;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null };
  /** Regression models whose baseline has predicted-value bins: the live values over them. */
  predictedValues?: HistogramBin[];
  alerts: AlertCheck[];
}

export function versionReports(
  manifest: ModelManifest,
  baseline: ModelBaseline | undefined,
  records: readonly PredictionRecord[],
  thresholds: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS,
): VersionReport[] {
  return analyzeWindow(manifest, baseline, records, thresholds).map((analysis) => {
    const own = records.filter((r) => r.modelVersion === analysis.modelVersion);
    const summary = versionSummary(analysis.modelVersion, own, manifest);
    const latencies = own.map((r) => r.latencyMs).sort((a, b) => a - b);
    const values = own.flatMap((r) => (typeof r.predictedValue === 'number' ? [r.predictedValue] : []));
    const c = summary.classification;
    const alerts = qualityAlerts(
      {
        feedbackCount: summary.feedbackCount,
        ...(manifest.output.kind === 'classification'
          ? { accuracy: c?.accuracy ?? null, macroF1: c?.macroF1 ?? null }
          : { mae: summary.regression?.mae ?? null }),
        ...(baseline === undefined ? {} : { driftedShare: analysis.driftedShare }),
      },
      baseline?.evaluation,
      thresholds,
    );
    return {
      modelVersion: analysis.modelVersion,
      analysis,
      summary,
      latencyMs: { p50: nearestRank(latencies, 50), p90: nearestRank(latencies, 90), p99: nearestRank(latencies, 99) },
      ...(manifest.output.kind === 'regression' && baseline?.prediction !== undefined
        ? { predictedValues: predictionHistogram(baseline.prediction, values).bins }
        : {}),
      alerts,
    };
  });
}
