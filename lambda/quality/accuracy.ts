/**
 * How well the model did on the predictions that received ground truth through the feedback route:
 * accuracy for classifiers, mean absolute and root-mean-square error for regression.
 */
import { accuracyOf, classificationMetrics } from '../../contract/metrics/classification';
import { regressionMetrics } from '../../contract/metrics/regression';
import { feedbackValue, type PredictionRecord } from '../../contract/prediction-log';

export interface ClassifierQuality {
  kind: 'classification';
  /** Predictions with feedback that the computation used. */
  count: number;
  /** Share whose predicted label equals the fed-back label; undefined with no feedback. */
  accuracy?: number;
  /** Unweighted mean F1 over the labels predicted or fed back; undefined with no feedback. */
  macroF1?: number;
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

/** Accuracy (and, given the model's labels, macro F1) over (predicted, actual) label pairs. */
export function accuracy(pairs: ReadonlyArray<{ predicted: string; actual: string }>, labels: readonly string[] = []): ClassifierQuality {
  const share = accuracyOf(pairs);
  if (share === null) return { kind: 'classification', count: 0 };
  const { macroF1 } = classificationMetrics(labels, pairs);
  return { kind: 'classification', count: pairs.length, accuracy: share, ...(macroF1 === null ? {} : { macroF1 }) };
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

/** Accuracy and macro F1 of the classifier records that carry feedback. */
export function classifierQuality(records: readonly PredictionRecord[], labels: readonly string[] = []): ClassifierQuality {
  const pairs: { predicted: string; actual: string }[] = [];
  for (const r of records) {
    const predicted = predictedLabel(r);
    if (r.feedback !== undefined && predicted !== undefined) pairs.push({ predicted, actual: String(r.feedback.label) });
  }
  return accuracy(pairs, labels);
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
