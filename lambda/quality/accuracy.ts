/**
 * How well the model did on the predictions that received ground truth through the feedback route:
 * accuracy for classifiers, mean absolute and root-mean-square error for regression.
 */
import { accuracyOf } from '../../contract/metrics/classification';
import { regressionMetrics } from '../../contract/metrics/regression';
import { feedbackValue, type PredictionRecord } from '../../contract/prediction-log';

export interface ClassifierQuality {
  kind: 'classification';
  /** Predictions with feedback that the computation used. */
  count: number;
  /** Share whose predicted label equals the fed-back label; undefined with no feedback. */
  accuracy?: number;
}

export interface RegressionQuality {
  kind: 'regression';
  count: number;
  mae?: number;
  rmse?: number;
  /** Fed-back labels that were not numbers (a client error worth seeing, not counted in the error). */
  invalid: number;
}

/** Accuracy over (predicted, actual) label pairs. */
export function accuracy(pairs: ReadonlyArray<{ predicted: string; actual: string }>): ClassifierQuality {
  const share = accuracyOf(pairs);
  return share === null ? { kind: 'classification', count: 0 } : { kind: 'classification', count: pairs.length, accuracy: share };
}

/** MAE and RMSE over (predicted, actual) value pairs. */
export function regressionError(pairs: ReadonlyArray<{ predicted: number; actual: number }>, invalid = 0): RegressionQuality {
  const m = regressionMetrics(pairs);
  return m === undefined
    ? { kind: 'regression', count: 0, invalid }
    : { kind: 'regression', count: m.count, mae: m.mae, rmse: m.rmse, invalid };
}

/** The predicted label of a logged classifier prediction. */
export function predictedLabel(r: PredictionRecord): string | undefined {
  return typeof r.label === 'string' ? r.label : undefined;
}

/** The predicted value of a logged regression prediction. */
export function predictedValue(r: PredictionRecord): number | undefined {
  return typeof r.predictedValue === 'number' ? r.predictedValue : undefined;
}

/** Accuracy of the classifier records that carry feedback. */
export function classifierQuality(records: readonly PredictionRecord[]): ClassifierQuality {
  const pairs: { predicted: string; actual: string }[] = [];
  for (const r of records) {
    const predicted = predictedLabel(r);
    if (r.feedback !== undefined && predicted !== undefined) pairs.push({ predicted, actual: String(r.feedback.label) });
  }
  return accuracy(pairs);
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
