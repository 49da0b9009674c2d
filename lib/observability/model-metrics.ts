/**
 * The metrics a served model is watched with, built once for its alarms and its dashboard: the API's
 * requests, errors and latency, the log dead-letter queue, parked log records, the backend's health and
 * latency, the quality job's errors, and the quality metrics the job publishes for the model as served.
 * The model's own metrics (predictions, quality, drift) are read under the Model dimension alone, which
 * the predict function and the quality job publish whichever version answered: the alarms and graphs
 * follow a promotion made without a deploy (docs/versions.md). Per-version figures are graphed apart
 * (version-widgets.ts).
 */
import type { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { ModelManifest } from '../../contract/manifest';
import { PREDICT_METRICS } from '../../contract/metrics/predict-metrics';
import { QUALITY_DIMENSIONS as D, METRICS_NAMESPACE, PARKED_RECORDS_METRIC, QUALITY_METRICS as Q } from '../../contract/quality';
import { type BackendMetrics, backendMetrics, type MonitoredBackend } from './backend-metrics';
import { MONITORING_DEFAULTS } from './monitoring-defaults';

/** Where the metrics come from. */
export interface ModelMetricsSource {
  /** The model the quality metrics are about. */
  readonly manifest: ModelManifest;
  /** The inference API. */
  readonly api: apigw.RestApi;
  /** The log dead-letter queue. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The serving backend. */
  readonly backend: MonitoredBackend;
  /** The quality job. */
  readonly qualityFunction: lambda.IFunction;
  /** The quality job's schedule: the period of the quality metrics. */
  readonly schedule: Duration;
}

export interface ModelMetrics {
  /** Dimensions of the model's own metrics: the model alone, whichever version answered. */
  readonly modelDims: Record<string, string>;
  /** A quality metric of the model as served, over the job's schedule. */
  readonly quality: (metricName: string, statistic: string) => cloudwatch.Metric;
  /** API requests (sum per period). */
  readonly requests: cloudwatch.IMetric;
  /** API 5xx answers. */
  readonly serverErrors: cloudwatch.IMetric;
  /** API 4xx answers. */
  readonly clientErrors: cloudwatch.IMetric;
  /** 5xx answers in percent of requests. */
  readonly serverErrorRate: cloudwatch.IMetric;
  /** API p99 latency. */
  readonly p99: cloudwatch.IMetric;
  /** Log records waiting in the dead-letter queue. */
  readonly dlqDepth: cloudwatch.IMetric;
  /** Log records the replay parked in the bucket. */
  readonly parkedRecords: cloudwatch.IMetric;
  /** Routing states a deploy replaced, undoing a promotion made on AWS (the predict function counts them). */
  readonly routingStateReplaced: cloudwatch.IMetric;
  /** The backend's latency, health and utilization. */
  readonly backend: BackendMetrics;
  /** Errors of the quality job. */
  readonly qualityJobErrors: cloudwatch.IMetric;
  /** Accuracy from feedback. */
  readonly accuracy: cloudwatch.IMetric;
  /** Mean absolute error from feedback. */
  readonly mae: cloudwatch.IMetric;
  /** Macro-averaged F1 from feedback. */
  readonly macroF1: cloudwatch.IMetric;
  /** Share of the tested features that drifted. */
  readonly driftedFeatureShare: cloudwatch.IMetric;
  /** Largest per-feature PSI. */
  readonly maxPsi: cloudwatch.IMetric;
}

export function modelMetrics(src: ModelMetricsSource): ModelMetrics {
  const { api, schedule } = src;
  const period = MONITORING_DEFAULTS.period;
  const modelDims = { [D.model]: src.manifest.name };
  const quality = (metricName: string, statistic: string) =>
    new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: modelDims, statistic, period: schedule });
  const requests = api.metricCount({ period, statistic: 'Sum', label: 'requests' });
  const serverErrors = api.metricServerError({ period, statistic: 'Sum', label: '5xx' });
  return {
    modelDims,
    quality,
    requests,
    serverErrors,
    clientErrors: api.metricClientError({ period, statistic: 'Sum', label: '4xx' }),
    serverErrorRate: new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: { requests, errors: serverErrors },
      period,
      label: '5xx %',
    }),
    p99: api.metricLatency({ period, statistic: 'p99', label: 'latency p99' }),
    dlqDepth: src.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'messages waiting' }),
    parkedRecords: new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: PARKED_RECORDS_METRIC, statistic: 'Sum', period }),
    routingStateReplaced: new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: PREDICT_METRICS.routingStateReplaced,
      dimensionsMap: modelDims,
      statistic: 'Sum',
      period,
    }),
    backend: backendMetrics(src.backend, period),
    qualityJobErrors: src.qualityFunction.metricErrors({ period: schedule, statistic: 'Sum' }),
    accuracy: quality(Q.accuracy, 'Average'),
    mae: quality(Q.mae, 'Average'),
    macroF1: quality(Q.macroF1, 'Average'),
    driftedFeatureShare: quality(Q.driftedFeatureShare, 'Maximum'),
    maxPsi: quality(Q.maxFeaturePsi, 'Maximum'),
  };
}
