/**
 * The CloudWatch dashboard of a served model, apart from its alarms: the service (API, functions,
 * backend, table, dead-letter queue, quality job) and the model's quality (per-class counts or
 * predictions, accuracy or error from feedback; F1, ROC AUC and calibration error or R² and bias; label
 * delay; drift overall, per feature and as the drifted share; missing values per feature).
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Backend } from '../../contract/limits';
import type { ModelManifest } from '../../contract/manifest';
import { PREDICT_DIMENSIONS, PREDICT_METRICS } from '../../contract/metrics/predict-metrics';
import { QUALITY_DIMENSIONS as D, METRICS_NAMESPACE, QUALITY_METRICS as Q } from '../../contract/quality';
import type { AlarmThresholds, ModelAlarms } from './model-alarms';
import type { ModelMetrics } from './model-metrics';
import { MONITORING_DEFAULTS } from './monitoring-defaults';
import { versionWidgets } from './version-widgets';

/** What the dashboard shows. */
export interface ModelDashboardSource {
  /** The model the dashboard is about. */
  readonly manifest: ModelManifest;
  /** The model's metrics (modelMetrics). */
  readonly metrics: ModelMetrics;
  /** The alarms of the status widget. */
  readonly alarms: ModelAlarms;
  /** The thresholds drawn as annotations. */
  readonly thresholds: AlarmThresholds;
  /** The inference API (latency percentiles). */
  readonly api: apigw.RestApi;
  /** The functions to graph, by name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The prediction log (throttles). */
  readonly table: dynamodb.ITable;
  /** The log dead-letter queue (depth and age). */
  readonly deadLetterQueue: sqs.IQueue;
  /** The quality job (errors). */
  readonly qualityFunction: lambda.IFunction;
  /** The serving backend (in titles). */
  readonly backendKind: Backend;
  /** How often the quality job runs. */
  readonly schedule: Duration;
  /** How much prediction log each run reads. */
  readonly window: Duration;
  /** The challenger's version: a row shows both versions side by side. @default - the model alone */
  readonly challenger?: string;
}

/** Adds the dashboard to `scope` (id `Dashboard`). */
export function addModelDashboard(scope: Construct, src: ModelDashboardSource): cloudwatch.Dashboard {
  const { manifest, thresholds, schedule, window } = src;
  const {
    quality,
    accuracy,
    mae,
    maxPsi,
    driftedFeatureShare,
    modelDims,
    requests,
    clientErrors,
    serverErrors,
    serverErrorRate,
    backend,
    dlqDepth,
  } = src.metrics;
  const period = MONITORING_DEFAULTS.period;
  const fns = Object.entries(src.functions);
  const perFunction = (f: (fn: lambda.IFunction, name: string) => cloudwatch.IMetric) => fns.map(([name, fn]) => f(fn, name));
  const search = (metric: string, dims: string[], extra: string, statistic: string, p: Duration) =>
    new cloudwatch.MathExpression({
      expression: `SEARCH('{${METRICS_NAMESPACE},${dims.join(',')}} MetricName="${metric}" ${D.model}="${manifest.name}"${extra}', '${statistic}', ${p.toSeconds()})`,
      usingMetrics: {},
      period: p,
    });
  const graph = (title: string, left: cloudwatch.IMetric[], more: Partial<cloudwatch.GraphWidgetProps> = {}) =>
    new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, period, ...more });
  const qualityWidgets =
    manifest.output.kind === 'classification'
      ? [
          // Per class over every version that answered (the model-level dimension set).
          graph('Predictions per class', [search(PREDICT_METRICS.predictions, [PREDICT_DIMENSIONS.label, D.model], '', 'Sum', period)], {
            stacked: true,
          }),
          graph('Accuracy from feedback', [accuracy], {
            period: schedule,
            leftYAxis: { min: 0, max: 1 },
            right: [quality(Q.feedbackCount, 'Sum')],
            leftAnnotations:
              thresholds.accuracyFloor !== undefined ? [{ value: thresholds.accuracyFloor, label: 'floor', color: '#d62728' }] : [],
          }),
        ]
      : [
          graph('Predictions', [
            new cloudwatch.Metric({
              namespace: METRICS_NAMESPACE,
              metricName: PREDICT_METRICS.predictions,
              dimensionsMap: modelDims,
              statistic: 'Sum',
              period,
            }),
          ]),
          graph('Error from feedback', [mae, quality(Q.rmse, 'Average')], {
            period: schedule,
            right: [quality(Q.feedbackCount, 'Sum')],
            leftAnnotations:
              thresholds.maxMeanAbsoluteError !== undefined
                ? [{ value: thresholds.maxMeanAbsoluteError, label: 'MAE ceiling', color: '#d62728' }]
                : [],
          }),
        ];

  const share = { leftYAxis: { min: 0, max: 1 }, period: schedule };
  const floor = (value: number | undefined, label: string) => (value === undefined ? [] : [{ value, label, color: '#d62728' }]);
  // The job's figures beyond accuracy and MAE, chosen by the output kind as the alarms are.
  const qualityDetail =
    manifest.output.kind === 'classification'
      ? [
          graph('F1 from feedback', [quality(Q.macroF1, 'Average'), quality(Q.weightedF1, 'Average')], {
            ...share,
            leftAnnotations: floor(thresholds.macroF1Floor, 'macro F1 floor'),
          }),
          graph('ROC AUC and calibration error', [quality(Q.rocAuc, 'Average'), quality(Q.calibrationError, 'Average')], share),
          graph('F1 per class', [search(Q.classF1, [D.class, D.model, D.modelVersion], '', 'Average', schedule)], share),
        ]
      : [
          graph('R² from feedback', [quality(Q.r2, 'Average')], { period: schedule, leftYAxis: { max: 1 } }),
          graph('Bias (mean error, predicted − actual)', [quality(Q.meanError, 'Average')], {
            period: schedule,
            leftAnnotations: [{ value: 0, label: 'unbiased' }],
          }),
        ];

  return new cloudwatch.Dashboard(scope, 'Dashboard', {
    defaultInterval: Duration.hours(6),
    widgets: [
      [
        new cloudwatch.TextWidget({
          markdown: `# mlship · ${manifest.name}\nDeployed with ${manifest.version} as the champion${src.challenger === undefined ? '' : ` and ${src.challenger} as the challenger`} on **${src.backendKind}**; graphs and alarms follow whichever version answers (\`mlship versions\`). Quality metrics every ${schedule.toMinutes()} min over the last ${window.toMinutes()} min of predictions.`,
          width: 12,
          height: 3,
        }),
        new cloudwatch.AlarmStatusWidget({
          title: 'Alarms',
          alarms: Object.values(src.alarms).filter((a): a is cloudwatch.Alarm => a !== undefined),
          width: 12,
          height: 3,
        }),
      ],
      [
        graph('API requests', [requests]),
        graph(
          'API latency (ms)',
          ['p50', 'p90', 'p99'].map((statistic) => src.api.metricLatency({ period, statistic, label: statistic })),
          {
            leftAnnotations: [{ value: thresholds.p99, label: 'p99 alarm' }],
          },
        ),
        graph('API errors', [clientErrors, serverErrors], { right: [serverErrorRate] }),
      ],
      ...(src.challenger === undefined
        ? []
        : [versionWidgets({ model: manifest.name, champion: manifest.version, challenger: src.challenger, period })]),
      [
        graph(
          'Lambda errors',
          perFunction((fn, name) => fn.metricErrors({ period, label: name })),
        ),
        graph(
          'Lambda throttles',
          perFunction((fn, name) => fn.metricThrottles({ period, label: name })),
        ),
        graph(
          'Lambda duration p99 (ms)',
          perFunction((fn, name) => fn.metricDuration({ period, statistic: 'p99', label: name })),
        ),
      ],
      [
        graph(`Backend latency (ms, ${src.backendKind})`, backend.latency),
        graph('Backend health', backend.health),
        graph('Backend utilization', backend.utilization),
      ],
      [
        graph('DynamoDB throttles', [
          src.table.metric('ReadThrottleEvents', { period, statistic: 'Sum', label: 'read' }),
          src.table.metric('WriteThrottleEvents', { period, statistic: 'Sum', label: 'write' }),
        ]),
        graph('Log dead-letter queue', [dlqDepth], {
          right: [src.deadLetterQueue.metricApproximateAgeOfOldestMessage({ period, label: 'oldest (s)' })],
        }),
        graph('Quality job', [src.qualityFunction.metricErrors({ period: schedule, label: 'errors' })], {
          period: schedule,
          right: [quality(Q.windowPredictions, 'Sum')],
        }),
      ],
      [
        ...qualityWidgets,
        graph('Drift (PSI vs training baseline)', [maxPsi, quality(Q.predictionPsi, 'Maximum')], {
          period: schedule,
          leftAnnotations: [{ value: thresholds.driftPsi, label: 'alarm', color: '#d62728' }],
        }),
      ],
      [
        ...qualityDetail,
        graph('Label delay (ms)', [quality(Q.labelDelayP50, 'Average'), quality(Q.labelDelayP90, 'Average')], { period: schedule }),
      ],
      [
        graph('Drifted-feature share', [driftedFeatureShare], {
          ...share,
          leftAnnotations: floor(thresholds.driftedFeatureShare, 'alarm'),
        }),
        ...(manifest.input.kind === 'tabular'
          ? [
              graph(
                'Missing values per feature',
                [search(Q.featureMissingRate, [D.feature, D.model, D.modelVersion], '', 'Maximum', schedule)],
                {
                  ...share,
                  width: 16,
                },
              ),
            ]
          : []),
      ],
      [
        graph('Drift per feature (PSI)', [search(Q.featurePsi, [D.feature, D.model, D.modelVersion], '', 'Maximum', schedule)], {
          width: 24,
          period: schedule,
        }),
      ],
    ],
  });
}
