/**
 * The dashboard's row of model versions side by side (docs/versions.md): with a challenger hosted beside
 * the model, the predictions each version answered, its model-call latency and its errors, from the
 * predict function's metrics, which name the version that answered (or shadowed) each request.
 */
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { PREDICT_METRICS as M } from '../../contract/metrics/predict-metrics';
import { QUALITY_DIMENSIONS as D, METRICS_NAMESPACE } from '../../contract/quality';

export interface VersionWidgetsSource {
  /** The model's name. */
  readonly model: string;
  /** The champion's and the challenger's versions, as deployed (a promotion swaps their roles, not their metrics). */
  readonly champion: string;
  readonly challenger: string;
  /** Period of the graphs. */
  readonly period: Duration;
}

/** Three graphs, one series (or two, for latency) per version. */
export function versionWidgets(src: VersionWidgetsSource): cloudwatch.GraphWidget[] {
  const versions = [
    { version: src.champion, role: 'champion' },
    { version: src.challenger, role: 'challenger' },
  ];
  const metric = (metricName: string, version: string, statistic: string, label: string) =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [D.model]: src.model, [D.modelVersion]: version },
      statistic,
      period: src.period,
      label,
    });
  const each = (f: (v: { version: string; role: string }) => cloudwatch.IMetric[]) => versions.flatMap(f);
  const graph = (title: string, left: cloudwatch.IMetric[]) =>
    new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, period: src.period });
  return [
    graph(
      'Predictions per version',
      each(({ version, role }) => [metric(M.predictions, version, 'Sum', `${version} (${role} at deploy)`)]),
    ),
    graph(
      'Model latency per version (ms)',
      each(({ version }) => ['p50', 'p99'].map((s) => metric(M.backendLatency, version, s, `${version} ${s}`))),
    ),
    graph(
      'Errors per version',
      each(({ version }) => [
        metric(M.backendErrors, version, 'Sum', `${version} answers failed`),
        metric(M.shadowErrors, version, 'Sum', `${version} shadow failed`),
      ]),
    ),
  ];
}
