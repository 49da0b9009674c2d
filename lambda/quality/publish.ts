/**
 * Publishes the quality of a window as CloudWatch metrics in the Embedded Metric Format: JSON lines on
 * stdout that CloudWatch Logs turns into metrics. No PutMetricData call means no `cloudwatch:` IAM
 * permission, no CloudWatch interface endpoint when the function runs in a VPC, and no API throttling;
 * the metrics still carry exact values and dimensions.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import {
  QUALITY_DIMENSIONS as D,
  QUALITY_METRICS as M,
  MAX_CLASS_METRICS,
  MAX_FEATURE_METRICS,
  METRICS_NAMESPACE,
} from '../../contract/quality';
import type { ClassQuality } from './accuracy';
import type { VersionQuality } from './analyze';

type Unit = 'None' | 'Count' | 'Milliseconds';

/** One EMF document: the metric values plus the dimension values, all at the top level. */
export function emfDocument(
  timestamp: number,
  dimensions: Record<string, string>,
  values: Record<string, { value: number; unit: Unit }>,
  dimensionSets: readonly string[][] = [Object.keys(dimensions)],
): string {
  const entries = Object.entries(values);
  const doc: Record<string, unknown> = {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: dimensionSets,
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
 * The EMF lines of one window: each version's (qualityDocuments), and the summary of the model as served
 * (`served`, every answered prediction whichever version answered) under the Model dimension alone, which
 * the alarms and the dashboard's quality graphs watch. When the window holds one version, its summary is
 * the model's: one line carries both dimension sets.
 */
export function windowDocuments(
  model: string,
  versions: readonly VersionQuality[],
  served: VersionQuality | undefined,
  timestamp: number,
): string[] {
  const single = versions.length === 1;
  const lines = versions.flatMap((v) => qualityDocuments(model, v, timestamp, single));
  if (!single && served !== undefined) lines.push(emfDocument(timestamp, { [D.model]: model }, summaryValues(served)));
  return lines;
}

/**
 * The EMF lines for one model version: a summary document, then one per feature for the features that
 * drifted most by PSI, then the others (at most MAX_FEATURE_METRICS, as each is a billed custom metric).
 * A figure without data (no feedback, too small a sample) is left out: a metric with no data point is
 * "missing" to an alarm, which is the honest state. `asServed`: the version answered the whole window, so
 * its summary is also the model's (the Model dimension alone).
 */
export function qualityDocuments(model: string, q: VersionQuality, timestamp: number, asServed = false): string[] {
  const dims = { [D.model]: model, [D.modelVersion]: q.modelVersion };
  const sets = asServed ? [[D.model, D.modelVersion], [D.model]] : [[D.model, D.modelVersion]];
  const lines = [emfDocument(timestamp, dims, summaryValues(q), sets)];
  if (q.quality.kind === 'classification') lines.push(...classDocuments(timestamp, dims, q.quality.classes ?? []));

  const psi = new Map(q.features.map((f) => [f.feature, f]));
  const test = new Map(q.driftTests.map((t) => [t.feature, t.result]));
  const missing = new Map(q.missing.map((m) => [m.feature, m.rate]));
  const names = [...new Set([...q.features.map((f) => f.feature), ...q.driftTests.map((t) => t.feature), ...missing.keys()])];
  for (const feature of names.slice(0, MAX_FEATURE_METRICS)) {
    const f: Record<string, { value: number; unit: Unit }> = {};
    const drift = psi.get(feature);
    if (drift !== undefined) {
      f[M.featurePsi] = { value: drift.psi, unit: 'None' };
      f[M.featureKs] = { value: drift.ks, unit: 'None' };
    }
    const t = test.get(feature);
    if (t?.status === 'tested') f[M.featureDriftPValue] = { value: t.pValue, unit: 'None' };
    const rate = missing.get(feature);
    if (rate !== undefined && rate !== null) f[M.featureMissingRate] = { value: rate, unit: 'None' };
    if (Object.keys(f).length > 0) lines.push(emfDocument(timestamp, { ...dims, [D.feature]: feature }, f));
  }
  return lines;
}

/** The summary figures of a version (or of the model as served), those without data left out. */
function summaryValues(q: VersionQuality): Record<string, { value: number; unit: Unit }> {
  const values: Record<string, { value: number; unit: Unit }> = {
    [M.windowPredictions]: { value: q.predictions, unit: 'Count' },
    [M.feedbackCount]: { value: q.quality.count, unit: 'Count' },
  };
  const put = (name: string, value: number | null | undefined, unit: Unit = 'None') => {
    if (value !== undefined && value !== null) values[name] = { value, unit };
  };
  if (q.quality.kind === 'classification') {
    put(M.accuracy, q.quality.accuracy);
    put(M.macroF1, q.quality.macroF1);
    put(M.weightedF1, q.quality.weightedF1);
    put(M.rocAuc, q.quality.rocAuc);
    put(M.calibrationError, q.quality.ece);
  } else {
    put(M.mae, q.quality.mae);
    put(M.rmse, q.quality.rmse);
    put(M.meanError, q.quality.meanError);
    put(M.r2, q.quality.r2);
  }
  put(M.maxFeaturePsi, q.maxFeaturePsi);
  put(M.predictionPsi, q.predictionPsi);
  if (q.driftedShare.status === 'tested') put(M.driftedFeatureShare, q.driftedShare.share);
  if (q.predictionDrift?.status === 'tested') put(M.predictionDriftPValue, q.predictionDrift.pValue);
  put(M.labelDelayP50, q.labelDelay.p50Ms, 'Milliseconds');
  put(M.labelDelayP90, q.labelDelay.p90Ms, 'Milliseconds');
  return values;
}

/**
 * One EMF document per class with the `Class` dimension: precision, recall, F1, support and (three labels
 * or more) one-vs-rest ROC AUC, for the classes the window's fed-back predictions hold (predicted or
 * true). At most MAX_CLASS_METRICS of them, the largest supports first (ties in the model's label order);
 * a figure that is undefined for the window (precision of a class never predicted) is left out.
 */
export function classDocuments(timestamp: number, dims: Record<string, string>, classes: readonly ClassQuality[]): string[] {
  const bySupport = classes
    .map((c, order) => ({ c, order }))
    .filter(({ c }) => c.f1 !== null)
    .sort((a, b) => b.c.support - a.c.support || a.order - b.order);
  return bySupport.slice(0, MAX_CLASS_METRICS).map(({ c }) => {
    const v: Record<string, { value: number; unit: Unit }> = { [M.classSupport]: { value: c.support, unit: 'Count' } };
    for (const [name, value] of [
      [M.classPrecision, c.precision],
      [M.classRecall, c.recall],
      [M.classF1, c.f1],
      [M.classRocAuc, c.rocAuc],
    ] as const) {
      if (value !== undefined && value !== null) v[name] = { value, unit: 'None' };
    }
    return emfDocument(timestamp, { ...dims, [D.class]: c.label }, v);
  });
}
