/**
 * How well the model did on the predictions that received ground truth through the feedback route:
 * accuracy, F1 per class and averaged, ROC AUC and calibration for classifiers; mean absolute and
 * root-mean-square error for regression.
 */
import { accuracyOf, classificationMetrics } from '../../contract/metrics/classification';
import { type FedBackPrediction, probabilityQuality } from '../../contract/metrics/probability-quality';
import { regressionMetrics } from '../../contract/metrics/regression';
import { DEFAULT_QUALITY_THRESHOLDS } from '../../contract/metrics/thresholds';
import { feedbackValue, type PredictionRecord } from '../../contract/prediction-log';

export interface ClassifierQuality {
  kind: 'classification';
  /** Predictions with feedback that the computation used. */
  count: number;
  /** Share whose predicted label equals the fed-back label; undefined with no feedback. */
  accuracy?: number;
  /** Unweighted mean F1 over the labels predicted or fed back; undefined with no feedback. */
  macroF1?: number;
  /** Mean F1 weighted by support; undefined with no feedback. */
  weightedF1?: number;
  /** Per label, the model's in its order and then any other fed back: precision, recall, F1 (null where undefined) and support. */
  classes?: ClassQuality[];
  /** ROC AUC of the probabilities (binary: the second label's; more: the mean one-vs-rest); undefined without both outcomes. */
  rocAuc?: number;
  /** Expected calibration error of the predicted label's probability; undefined without probabilities. */
  ece?: number;
}

export interface ClassQuality {
  label: string;
  support: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  /** One-vs-rest ROC AUC of this label's probability (models of three labels or more); null without both outcomes. */
  rocAuc?: number | null;
}

export interface RegressionQuality {
  kind: 'regression';
  count: number;
  mae?: number;
  rmse?: number;
  /** Mean of predicted − actual. */
  meanError?: number;
  /** Undefined also when every true value is the same. */
  r2?: number;
  /** Fed-back labels that were not numbers (a client error worth seeing, not counted in the error). */
  invalid: number;
}

/**
 * Accuracy, F1 per class and averaged (labels in the model's order) and, where the pairs carry the
 * model's probabilities, ROC AUC and the calibration error over `bins` equal-width bins.
 */
export function accuracy(
  pairs: readonly FedBackPrediction[],
  labels: readonly string[] = [],
  bins = DEFAULT_QUALITY_THRESHOLDS.calibrationBins,
): ClassifierQuality {
  const share = accuracyOf(pairs);
  if (share === null) return { kind: 'classification', count: 0 };
  const { macroF1, weightedF1, classes } = classificationMetrics(labels, pairs);
  const probabilities = probabilityQuality(labels, pairs, bins);
  const auc = probabilities?.auc;
  const perClassAuc = new Map(auc?.kind === 'one-vs-rest' ? auc.perClass.map((c) => [c.label, c.auc]) : []);
  const ece = probabilities?.calibration.ece;
  const rocAuc = probabilities?.rocAuc;
  return {
    kind: 'classification',
    count: pairs.length,
    accuracy: share,
    ...(macroF1 === null ? {} : { macroF1 }),
    ...(weightedF1 === null ? {} : { weightedF1 }),
    classes: classes.map(({ label, support, precision, recall, f1 }) => ({
      label,
      support,
      precision,
      recall,
      f1,
      ...(perClassAuc.has(label) ? { rocAuc: perClassAuc.get(label) ?? null } : {}),
    })),
    ...(rocAuc === undefined || rocAuc === null ? {} : { rocAuc }),
    ...(ece === undefined || ece === null ? {} : { ece }),
  };
}

/** MAE and RMSE over (predicted, actual) value pairs. */
export function regressionError(pairs: ReadonlyArray<{ predicted: number; actual: number }>, invalid = 0): RegressionQuality {
  const m = regressionMetrics(pairs);
  return m === undefined
    ? { kind: 'regression', count: 0, invalid }
    : {
        kind: 'regression',
        count: m.count,
        mae: m.mae,
        rmse: m.rmse,
        meanError: m.meanError,
        ...(m.r2 === null ? {} : { r2: m.r2 }),
        invalid,
      };
}

/** The predicted label of a logged classifier prediction. */
export function predictedLabel(r: PredictionRecord): string | undefined {
  return typeof r.label === 'string' ? r.label : undefined;
}

/** The predicted value of a logged regression prediction. */
export function predictedValue(r: PredictionRecord): number | undefined {
  return typeof r.predictedValue === 'number' ? r.predictedValue : undefined;
}

/** The classifier quality (see `accuracy`) of the records that carry feedback. */
export function classifierQuality(
  records: readonly PredictionRecord[],
  labels: readonly string[] = [],
  bins = DEFAULT_QUALITY_THRESHOLDS.calibrationBins,
): ClassifierQuality {
  const pairs: FedBackPrediction[] = [];
  for (const r of records) {
    const predicted = predictedLabel(r);
    if (r.feedback !== undefined && predicted !== undefined)
      pairs.push({
        predicted,
        actual: String(r.feedback.label),
        ...(r.probabilities === undefined ? {} : { probabilities: r.probabilities }),
      });
  }
  return accuracy(pairs, labels, bins);
}

/** MAE/RMSE of the regression records that carry feedback (a number, or decimal text in older items). */
export function regressionQuality(records: readonly PredictionRecord[]): RegressionQuality {
  const pairs: { predicted: number; actual: number }[] = [];
  let invalid = 0;
  for (const r of records) {
    const predicted = predictedValue(r);
    if (r.feedback === undefined || predicted === undefined) continue;
    const actual = feedbackValue(r.feedback);
    if (actual !== undefined) pairs.push({ predicted, actual });
    else invalid++;
  }
  return regressionError(pairs, invalid);
}
