/**
 * Monitoring of one served model: a CloudWatch dashboard of the service (API, functions, backend,
 * table, dead-letter queue) and of the model's quality (per-class counts, accuracy, drift), alarms on
 * both sent to an encrypted TLS-only SNS topic, and the scheduled quality job that publishes the quality
 * metrics. It reads only public fields of the stacks' constructs, so it can live in its own stack.
 */
import { join } from 'node:path';
import { Annotations, Duration, type RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BASELINE_FILE, checkBaselineMatches, type ModelBaseline } from '../../contract/baseline';
import { PREFIX } from '../../contract/bucket';
import { errorMessage } from '../../contract/errors';
import { MANIFEST_FILE, type ModelManifest } from '../../contract/manifest';
import { readBaselineFile, readManifestFile } from '../../contract/model-files';
import { QUALITY_DIMENSIONS as D, METRICS_NAMESPACE, PARKED_RECORDS_METRIC, QUALITY_METRICS as Q } from '../../contract/quality';
import { backendMetrics, type MonitoredBackend } from './backend-metrics';
import { MONITORING_DEFAULTS } from './monitoring-defaults';
import { QualityFunction } from './quality-function';

export type { MonitoredBackend } from './backend-metrics';

/** Model-quality alarm thresholds. */
export interface QualityThresholds {
  /** Classifiers: alarm when accuracy from feedback falls below this share (0..1). @default - no accuracy alarm */
  readonly accuracyFloor?: number;
  /** Regression: alarm when the mean absolute error from feedback rises above this. @default - no error alarm */
  readonly maxMeanAbsoluteError?: number;
  /** Alarm when the largest per-feature PSI rises above this. @default 0.25 */
  readonly driftPsiThreshold?: number;
}

export interface ModelMonitoringProps {
  /** Repository root (holds `lambda/` and `package-lock.json`), for bundling the quality function. */
  readonly rootDir: string;
  /** Absolute directory of the served model: `model.json` and `baseline.json` are read at synth time. */
  readonly modelDir: string;
  /** The prediction log (DataStack `table`). */
  readonly table: dynamodb.ITable;
  /** The inference API (ApiStack `api`). */
  readonly api: apigw.RestApi;
  /** The functions to graph, by name (ApiStack `functions[name].function`, DataStack `replay.function`). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Queue of log records the table refused (DataStack `logDlq`). */
  readonly deadLetterQueue: sqs.IQueue;
  /** The serving backend (ServingStack `fargate` or `sagemaker`). */
  readonly backend: MonitoredBackend;
  /** @default - see MONITORING_DEFAULTS */
  readonly quality?: QualityThresholds;
  /** API 5xx share that raises the alarm, in percent. @default 1 */
  readonly serverErrorRatePercent?: number;
  /** API p99 latency that raises the alarm, in milliseconds. @default 2000 */
  readonly p99LatencyMs?: number;
  /** Address that receives the alarms by e-mail (the subscription must be confirmed). @default - no e-mail subscription */
  readonly alarmEmail?: string;
  /** How often the quality job runs. @default Duration.minutes(15) */
  readonly qualitySchedule?: Duration;
  /** How much prediction log each run reads. @default Duration.minutes(60) */
  readonly qualityWindow?: Duration;
  readonly logRetention: logs.RetentionDays;
  /** For the quality function's log group and the topic's key. */
  readonly removalPolicy: RemovalPolicy;
}

export class ModelMonitoring extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm goes here. */
  public readonly alarmTopic: sns.Topic;
  public readonly alarmKey: kms.Key;
  public readonly qualityFunction: QualityFunction;
  public readonly schedule: events.Rule;
  public readonly alarms: {
    readonly serverErrorRate: cloudwatch.Alarm;
    readonly p99Latency: cloudwatch.Alarm;
    readonly deadLetters: cloudwatch.Alarm;
    /** Log records the replay could not write and parked in the bucket (`parked/log-records/`). */
    readonly parkedLogRecords: cloudwatch.Alarm;
    readonly backendUnhealthy: cloudwatch.Alarm;
    readonly qualityJobErrors: cloudwatch.Alarm;
    readonly drift: cloudwatch.Alarm;
    /** Classifiers with an accuracy floor. */
    readonly accuracy?: cloudwatch.Alarm;
    /** Regression models with an error ceiling. */
    readonly meanAbsoluteError?: cloudwatch.Alarm;
  };
  /** The model the metrics are about. */
  public readonly manifest: ModelManifest;

  constructor(scope: Construct, id: string, props: ModelMonitoringProps) {
    super(scope, id);
    this.manifest = readModel(props.modelDir);
    checkProps(props, this.manifest);
    const period = MONITORING_DEFAULTS.period;
    const schedule = props.qualitySchedule ?? MONITORING_DEFAULTS.qualitySchedule;
    const window = props.qualityWindow ?? MONITORING_DEFAULTS.qualityWindow;
    if (window.toMinutes() < schedule.toMinutes()) {
      Annotations.of(this).addWarningV2(
        'mlship:qualityWindowShorterThanSchedule',
        'The quality window is shorter than its schedule: predictions between runs are never measured.',
      );
    }

    // A customer key, because CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key.
    this.alarmKey = new kms.Key(this, 'AlarmTopicKey', {
      enableKeyRotation: true,
      description: `Encrypts the mlship ${this.manifest.name} alarm topic`,
      removalPolicy: props.removalPolicy,
    });
    this.alarmKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `mlship ${this.manifest.name} alarms`,
      masterKey: this.alarmKey,
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    this.qualityFunction = new QualityFunction(this, 'Quality', {
      rootDir: props.rootDir,
      modelDir: props.modelDir,
      backend: props.backend.kind,
      table: props.table,
      windowMinutes: window.toMinutes(),
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.schedule = new events.Rule(this, 'QualitySchedule', {
      description: `Publishes drift and accuracy of model ${this.manifest.name} every ${schedule.toMinutes()} minutes`,
      schedule: events.Schedule.rate(schedule),
      targets: [new targets.LambdaFunction(this.qualityFunction.function, { retryAttempts: 2, maxEventAge: schedule })],
    });

    // ---- metrics -------------------------------------------------------------------------------------
    const modelDims = { [D.model]: this.manifest.name, [D.modelVersion]: this.manifest.version };
    const quality = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: modelDims, statistic, period: schedule });
    const api = props.api;
    const requests = api.metricCount({ period, statistic: 'Sum', label: 'requests' });
    const serverErrors = api.metricServerError({ period, statistic: 'Sum', label: '5xx' });
    const clientErrors = api.metricClientError({ period, statistic: 'Sum', label: '4xx' });
    const serverErrorRate = new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: { requests, errors: serverErrors },
      period,
      label: '5xx %',
    });
    const p99 = api.metricLatency({ period, statistic: 'p99', label: 'latency p99' });
    const dlqDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period,
      statistic: 'Maximum',
      label: 'messages waiting',
    });
    const backend = backendMetrics(props.backend, period);
    const accuracy = quality(Q.accuracy, 'Average');
    const mae = quality(Q.mae, 'Average');
    const maxPsi = quality(Q.maxFeaturePsi, 'Maximum');
    const thresholds = {
      driftPsi: props.quality?.driftPsiThreshold ?? MONITORING_DEFAULTS.driftPsiThreshold,
      errorRate: props.serverErrorRatePercent ?? MONITORING_DEFAULTS.serverErrorRatePercent,
      p99: props.p99LatencyMs ?? MONITORING_DEFAULTS.p99LatencyMs,
    };

    // ---- alarms --------------------------------------------------------------------------------------
    const alarm = (alarmId: string, { metric, ...options }: cloudwatch.CreateAlarmOptions & { metric: cloudwatch.IMetric }) => {
      const a = new cloudwatch.Alarm(this, alarmId, { metric, ...options });
      a.addAlarmAction(new actions.SnsAction(this.alarmTopic));
      a.addOkAction(new actions.SnsAction(this.alarmTopic));
      return a;
    };
    const service = { evaluationPeriods: 3, datapointsToAlarm: 2, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING };
    this.alarms = {
      serverErrorRate: alarm('ServerErrorRate', {
        ...service,
        metric: serverErrorRate,
        threshold: thresholds.errorRate,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription: `More than ${thresholds.errorRate}% of API requests answered 5xx in 2 of 3 five-minute periods.`,
      }),
      p99Latency: alarm('P99Latency', {
        ...service,
        metric: p99,
        threshold: thresholds.p99,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription: `API p99 latency above ${thresholds.p99} ms in 2 of 3 five-minute periods.`,
      }),
      deadLetters: alarm('DeadLetters', {
        metric: dlqDepth,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription:
          'Prediction log records wait in the dead-letter queue: the table refused them. The replay function writes them back; look at its logs if they stay.',
      }),
      parkedLogRecords: alarm('ParkedLogRecords', {
        metric: new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: PARKED_RECORDS_METRIC, statistic: 'Sum', period }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `The replay function parked prediction log records it could not write under ${PREFIX.parkedLogRecords} in the data bucket (each object says why). They are not in the table: fix the cause and write them back by hand.`,
      }),
      backendUnhealthy: alarm('BackendUnhealthy', {
        ...service,
        metric: backend.unhealthy,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `The model backend is unhealthy: ${backend.unhealthyMeaning}, in 2 of 3 five-minute periods.`,
      }),
      qualityJobErrors: alarm('QualityJobErrors', {
        metric: this.qualityFunction.function.metricErrors({ period: schedule, statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: 'The quality job failed twice in a row: accuracy and drift are no longer measured.',
      }),
      // Quality metrics have no data point when nothing was predicted or fed back: that is "unknown", not OK.
      drift: alarm('Drift', {
        metric: maxPsi,
        threshold: thresholds.driftPsi,
        evaluationPeriods: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
        alarmDescription: `An input feature drifted from the training baseline: largest PSI above ${thresholds.driftPsi} in two runs in a row. The FeaturePsi metrics name the feature.`,
      }),
      ...(props.quality?.accuracyFloor !== undefined
        ? {
            accuracy: alarm('Accuracy', {
              metric: accuracy,
              threshold: props.quality.accuracyFloor,
              evaluationPeriods: 2,
              comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
              treatMissingData: cloudwatch.TreatMissingData.MISSING,
              alarmDescription: `Accuracy from feedback below ${props.quality.accuracyFloor} in two runs in a row.`,
            }),
          }
        : {}),
      ...(props.quality?.maxMeanAbsoluteError !== undefined
        ? {
            meanAbsoluteError: alarm('MeanAbsoluteError', {
              metric: mae,
              threshold: props.quality.maxMeanAbsoluteError,
              evaluationPeriods: 2,
              comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
              treatMissingData: cloudwatch.TreatMissingData.MISSING,
              alarmDescription: `Mean absolute error from feedback above ${props.quality.maxMeanAbsoluteError} in two runs in a row.`,
            }),
          }
        : {}),
    };

    // ---- dashboard -----------------------------------------------------------------------------------
    const fns = Object.entries(props.functions);
    const perFunction = (f: (fn: lambda.IFunction, name: string) => cloudwatch.IMetric) => fns.map(([name, fn]) => f(fn, name));
    const search = (metric: string, dims: string[], extra: string, statistic: string, p: Duration) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRICS_NAMESPACE},${dims.join(',')}} MetricName="${metric}" Model="${this.manifest.name}"${extra}', '${statistic}', ${p.toSeconds()})`,
        usingMetrics: {},
        period: p,
      });
    const graph = (title: string, left: cloudwatch.IMetric[], more: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, period, ...more });
    const qualityWidgets =
      this.manifest.output.kind === 'classification'
        ? [
            graph('Predictions per class', [search('Predictions', ['Label', 'Model', 'ModelVersion'], '', 'Sum', period)], {
              stacked: true,
            }),
            graph('Accuracy from feedback', [accuracy], {
              period: schedule,
              leftYAxis: { min: 0, max: 1 },
              right: [quality(Q.feedbackCount, 'Sum')],
              leftAnnotations:
                props.quality?.accuracyFloor !== undefined
                  ? [{ value: props.quality.accuracyFloor, label: 'floor', color: '#d62728' }]
                  : [],
            }),
          ]
        : [
            graph('Predictions', [
              new cloudwatch.Metric({
                namespace: METRICS_NAMESPACE,
                metricName: 'Predictions',
                dimensionsMap: modelDims,
                statistic: 'Sum',
                period,
              }),
            ]),
            graph('Error from feedback', [mae, quality(Q.rmse, 'Average')], {
              period: schedule,
              right: [quality(Q.feedbackCount, 'Sum')],
              leftAnnotations:
                props.quality?.maxMeanAbsoluteError !== undefined
                  ? [{ value: props.quality.maxMeanAbsoluteError, label: 'MAE ceiling', color: '#d62728' }]
                  : [],
            }),
          ];

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(6),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown: `# mlship · ${this.manifest.name} ${this.manifest.version}\nBackend: **${props.backend.kind}**. Quality metrics are published every ${schedule.toMinutes()} min over the last ${window.toMinutes()} min of predictions.`,
            width: 12,
            height: 3,
          }),
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms: Object.values(this.alarms).filter((a): a is cloudwatch.Alarm => a !== undefined),
            width: 12,
            height: 3,
          }),
        ],
        [
          graph('API requests', [requests]),
          graph(
            'API latency (ms)',
            ['p50', 'p90', 'p99'].map((statistic) => api.metricLatency({ period, statistic, label: statistic })),
            {
              leftAnnotations: [{ value: thresholds.p99, label: 'p99 alarm' }],
            },
          ),
          graph('API errors', [clientErrors, serverErrors], { right: [serverErrorRate] }),
        ],
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
          graph(`Backend latency (ms, ${props.backend.kind})`, backend.latency),
          graph('Backend health', backend.health),
          graph('Backend utilization', backend.utilization),
        ],
        [
          graph('DynamoDB throttles', [
            props.table.metric('ReadThrottleEvents', { period, statistic: 'Sum', label: 'read' }),
            props.table.metric('WriteThrottleEvents', { period, statistic: 'Sum', label: 'write' }),
          ]),
          graph('Log dead-letter queue', [dlqDepth], {
            right: [props.deadLetterQueue.metricApproximateAgeOfOldestMessage({ period, label: 'oldest (s)' })],
          }),
          graph('Quality job', [this.qualityFunction.function.metricErrors({ period: schedule, label: 'errors' })], {
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
          graph('Drift per feature (PSI)', [search(Q.featurePsi, ['Feature', 'Model', 'ModelVersion'], '', 'Maximum', schedule)], {
            width: 24,
            period: schedule,
          }),
        ],
      ],
    });
  }

  /** Lets a principal read the dashboard's metrics (e.g. an operator role). */
  public grantReadMetrics(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['cloudwatch:GetMetricData', 'cloudwatch:ListMetrics', 'cloudwatch:GetDashboard'],
      resourceArns: ['*'],
    });
  }
}

function readModel(modelDir: string): ModelManifest {
  const manifestPath = join(modelDir, MANIFEST_FILE);
  const baselinePath = join(modelDir, BASELINE_FILE);
  const manifest = readManifestFile(manifestPath);
  let baseline: ModelBaseline;
  try {
    baseline = readBaselineFile(baselinePath);
  } catch (e) {
    throw new Error(`ModelMonitoring needs ${baselinePath} (training statistics for drift): ${errorMessage(e)}`);
  }
  checkBaselineMatches(manifest, baseline);
  return manifest;
}

/** Collects every problem with the props in one error, so one synth shows them all. */
function checkProps(props: ModelMonitoringProps, manifest: ModelManifest): void {
  const problems: string[] = [];
  const q = props.quality ?? {};
  const classifier = manifest.output.kind === 'classification';
  if (q.accuracyFloor !== undefined) {
    if (!classifier)
      problems.push(
        `\`quality.accuracyFloor\` applies to classifiers; ${manifest.name} is a regression model: use \`quality.maxMeanAbsoluteError\``,
      );
    else if (!(q.accuracyFloor > 0 && q.accuracyFloor <= 1))
      problems.push(`\`quality.accuracyFloor\` must be a share in (0, 1]; got ${q.accuracyFloor}`);
  }
  if (q.maxMeanAbsoluteError !== undefined) {
    if (classifier)
      problems.push(
        `\`quality.maxMeanAbsoluteError\` applies to regression models; ${manifest.name} is a classifier: use \`quality.accuracyFloor\``,
      );
    else if (!(q.maxMeanAbsoluteError > 0))
      problems.push(`\`quality.maxMeanAbsoluteError\` must be above 0; got ${q.maxMeanAbsoluteError}`);
  }
  if (q.driftPsiThreshold !== undefined && !(q.driftPsiThreshold > 0))
    problems.push(`\`quality.driftPsiThreshold\` must be above 0; got ${q.driftPsiThreshold}`);
  if (props.serverErrorRatePercent !== undefined && !(props.serverErrorRatePercent > 0 && props.serverErrorRatePercent <= 100)) {
    problems.push(`\`serverErrorRatePercent\` must be in (0, 100]; got ${props.serverErrorRatePercent}`);
  }
  if (props.p99LatencyMs !== undefined && !(props.p99LatencyMs > 0))
    problems.push(`\`p99LatencyMs\` must be above 0; got ${props.p99LatencyMs}`);
  const schedule = props.qualitySchedule ?? MONITORING_DEFAULTS.qualitySchedule;
  if (schedule.toMinutes({ integral: false }) < 1 || !Number.isInteger(schedule.toMinutes({ integral: false }))) {
    problems.push('`qualitySchedule` must be a whole number of minutes, at least 1');
  }
  const window = props.qualityWindow ?? MONITORING_DEFAULTS.qualityWindow;
  const windowMinutes = window.toMinutes({ integral: false });
  if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > 7 * 24 * 60)
    problems.push('`qualityWindow` must be a whole number of minutes from 1 to 7 days');
  if (props.alarmEmail !== undefined && !Token.isUnresolved(props.alarmEmail) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
    problems.push(`\`alarmEmail\` is not an e-mail address: "${props.alarmEmail}"`);
  }
  if (Object.keys(props.functions).length === 0)
    problems.push('`functions` is empty: pass the API functions to graph their errors, throttles and duration');
  if (problems.length > 0) throw new Error(`Invalid ModelMonitoring props:\n  - ${problems.join('\n  - ')}`);
}
