/**
 * The thresholds applied: a window's quality figures against the trained model's held-out metrics
 * (baseline.json `evaluation`) and the drifted-feature share against its limit. One verdict per figure,
 * so the quality job, the dashboard and the report agree on what is alerting and why.
 */
import type { ModelBaseline } from '../baseline';
import type { DriftedShare } from './drift-tests';
import { DEFAULT_QUALITY_THRESHOLDS, type QualityThresholds } from './thresholds';

export type AlertMetric = 'accuracy' | 'macroF1' | 'mae' | 'driftedFeatureShare';

export type AlertCheck =
  /** `breached` when the value is past the limit: below it for accuracy and F1, above it for MAE and the drifted share (at it, too). */
  | { metric: AlertMetric; status: 'ok' | 'breached'; value: number; limit: number }
  /** Fewer fed-back predictions (or tested values) than the minimum sample. */
  | { metric: AlertMetric; status: 'insufficient-data'; n: number; minimum: number }
  /** The baseline holds no held-out figure to compare with. */
  | { metric: AlertMetric; status: 'no-reference' };

export interface QualityObservation {
  /** Fed-back predictions the quality figures were computed on. */
  feedbackCount: number;
  /** Figures of the window; a metric left out is not checked, null (no feedback) is insufficient data. */
  accuracy?: number | null;
  macroF1?: number | null;
  mae?: number | null;
  driftedShare?: DriftedShare;
}

type Evaluation = NonNullable<ModelBaseline['evaluation']>;

/** One check per figure given, in the order accuracy, macro F1, MAE, drifted-feature share. */
export function qualityAlerts(
  observed: QualityObservation,
  reference: Evaluation | undefined,
  thresholds: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS,
): AlertCheck[] {
  const checks: AlertCheck[] = [];
  const minimum = thresholds.minimumSample;
  const quality = (
    metric: 'accuracy' | 'macroF1' | 'mae',
    limitOf: (ref: number) => number,
    breached: (v: number, limit: number) => boolean,
  ) => {
    const value = observed[metric];
    if (value === undefined) return;
    const ref = reference?.[metric];
    if (value === null || observed.feedbackCount < minimum)
      checks.push({ metric, status: 'insufficient-data', n: observed.feedbackCount, minimum });
    else if (ref === undefined) checks.push({ metric, status: 'no-reference' });
    else {
      const limit = limitOf(ref);
      checks.push({ metric, status: breached(value, limit) ? 'breached' : 'ok', value, limit });
    }
  };
  quality(
    'accuracy',
    (ref) => ref - thresholds.accuracyDrop,
    (v, limit) => v < limit,
  );
  quality(
    'macroF1',
    (ref) => ref - thresholds.macroF1Drop,
    (v, limit) => v < limit,
  );
  quality(
    'mae',
    (ref) => ref * thresholds.maeRatio,
    (v, limit) => v > limit,
  );
  const drift = observed.driftedShare;
  if (drift !== undefined) {
    const limit = thresholds.driftedFeatureShare;
    checks.push(
      drift.status === 'insufficient-data'
        ? { metric: 'driftedFeatureShare', status: 'insufficient-data', n: drift.n, minimum: drift.minimum }
        : { metric: 'driftedFeatureShare', status: drift.share >= limit ? 'breached' : 'ok', value: drift.share, limit },
    );
  }
  return checks;
}
