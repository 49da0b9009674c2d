/**
 * Publishes the quality of a window as CloudWatch metrics in the Embedded Metric Format: JSON lines on
 * stdout that CloudWatch Logs turns into metrics. No PutMetricData call means no `cloudwatch:` IAM
 * permission, no CloudWatch interface endpoint when the function runs in a VPC, and no API throttling;
 * the metrics still carry exact values and dimensions.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { QUALITY_DIMENSIONS as D, QUALITY_METRICS as M, MAX_FEATURE_METRICS, METRICS_NAMESPACE } from '../../contract/quality';
import type { VersionQuality } from './analyze';

type Unit = 'None' | 'Count';

/** One EMF document: the metric values plus the dimension values, all at the top level. */
export function emfDocument(
  timestamp: number,
  dimensions: Record<string, string>,
  values: Record<string, { value: number; unit: Unit }>,
): string {
  const entries = Object.entries(values);
  const doc: Record<string, unknown> = {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [Object.keys(dimensions)],
          Metrics: entries.map(([name, v]) => ({ Name: name, Unit: v.unit })),
        },
      ],
    },
    ...dimensions,
  };
  for (const [name, v] of entries) doc[name] = v.value;
  return JSON.stringify(doc);
}

/**
 * The EMF lines for one model version: a summary document, then one per feature for the features that
 * drifted most (at most MAX_FEATURE_METRICS, as each is a billed custom metric).
 */
export function qualityDocuments(model: string, q: VersionQuality, timestamp: number): string[] {
  const dims = { [D.model]: model, [D.modelVersion]: q.modelVersion };
  const values: Record<string, { value: number; unit: Unit }> = {
    [M.windowPredictions]: { value: q.predictions, unit: 'Count' },
    [M.feedbackCount]: { value: q.quality.count, unit: 'Count' },
  };
  // A metric with no data point is "missing" to an alarm, which is the honest state without feedback.
  if (q.quality.kind === 'classification' && q.quality.accuracy !== undefined)
    values[M.accuracy] = { value: q.quality.accuracy, unit: 'None' };
  if (q.quality.kind === 'regression' && q.quality.mae !== undefined && q.quality.rmse !== undefined) {
    values[M.mae] = { value: q.quality.mae, unit: 'None' };
    values[M.rmse] = { value: q.quality.rmse, unit: 'None' };
  }
  if (q.maxFeaturePsi !== undefined) values[M.maxFeaturePsi] = { value: q.maxFeaturePsi, unit: 'None' };
  if (q.predictionPsi !== undefined) values[M.predictionPsi] = { value: q.predictionPsi, unit: 'None' };
  const lines = [emfDocument(timestamp, dims, values)];
  for (const f of q.features.slice(0, MAX_FEATURE_METRICS)) {
    lines.push(
      emfDocument(
        timestamp,
        { ...dims, [D.feature]: f.feature },
        {
          [M.featurePsi]: { value: f.psi, unit: 'None' },
          [M.featureKs]: { value: f.ks, unit: 'None' },
        },
      ),
    );
  }
  return lines;
}
