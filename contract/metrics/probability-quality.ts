/**
 * What a classifier's probabilities say about its fed-back predictions: ROC AUC (binary, or one-vs-rest
 * per label and their mean) and the reliability curve of the predicted label's probability with its
 * expected calibration error. One computation for `/metrics/summary`, the quality job and the report.
 */
import { confidencePoints, type ReliabilityCurve, reliabilityCurve } from './calibration';
import { type AucResult, classifierAuc } from './roc-auc';
import { DEFAULT_QUALITY_THRESHOLDS } from './thresholds';

export interface FedBackPrediction {
  predicted: string;
  actual: string;
  /** Each label's probability as the model answered it; absent (or empty) in items logged without them. */
  probabilities?: Readonly<Record<string, number>>;
}

export interface ProbabilityQuality {
  auc: AucResult;
  /** The binary AUC, or the one-vs-rest mean; null without both outcomes. */
  rocAuc: number | null;
  /** Top-label calibration over the rows that hold the predicted label's probability. */
  calibration: ReliabilityCurve;
}

/** ROC AUC and calibration of the rows that carry probabilities; undefined when none does. */
export function probabilityQuality(
  labels: readonly string[],
  rows: readonly FedBackPrediction[],
  bins = DEFAULT_QUALITY_THRESHOLDS.calibrationBins,
): ProbabilityQuality | undefined {
  const scored = rows.flatMap((r) =>
    r.probabilities === undefined || Object.keys(r.probabilities).length === 0 ? [] : [{ ...r, probabilities: r.probabilities }],
  );
  if (scored.length === 0) return undefined;
  const auc = classifierAuc(labels, scored);
  return { auc, rocAuc: auc.kind === 'binary' ? auc.auc : auc.macro, calibration: reliabilityCurve(confidencePoints(scored), bins) };
}
