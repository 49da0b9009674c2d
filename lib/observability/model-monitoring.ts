/**
 * Monitoring of one served model: a CloudWatch dashboard of the service (API, functions, backend,
 * table, dead-letter queue) and of the model's quality (per-class counts, accuracy, drift), alarms on
 * both sent to an encrypted TLS-only SNS topic, and the scheduled quality job that publishes the quality
 * metrics. It reads only public fields of the stacks' constructs, so it can live in its own stack.
 */
import { join } from 'node:path';
import { Annotations, type Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BASELINE_FILE, checkBaselineMatches, type ModelBaseline } from '../../contract/baseline';
import { errorMessage } from '../../contract/errors';
import { MANIFEST_FILE, type ModelManifest } from '../../contract/manifest';
import { type QualityThresholds as JobThresholds, qualityThresholds } from '../../contract/metrics/thresholds';
import { readBaselineFile, readManifestFile } from '../../contract/model-files';
import type { PromotionPolicy } from '../../contract/promotion';
import { grantActions } from '../constructs/grant-actions';
import { ALARM_TOPIC_KEY_ACTIONS, READ_METRICS_ACTIONS } from '../constructs/perms';
import { contextFromParts, PACKAGE_ROOT } from '../deployment-context';
import { type MonitoredBackend, monitoredBackendProblems } from './backend-metrics';
import {
  type AlarmThresholds,
  addFailureAlarms,
  addForwardedAlarms,
  addModelAlarms,
  type ModelAlarms,
  type WatchedFailures,
} from './model-alarms';
import { addModelDashboard } from './model-dashboard';
import { modelMetrics } from './model-metrics';
import { MONITORING_DEFAULTS } from './monitoring-defaults';
import { QualityFunction } from './quality-function';

export type { MonitoredBackend } from './backend-metrics';

/** Model-quality alarm thresholds. */
export interface QualityThresholds {
  /**
   * Classifiers: alarm when accuracy from feedback falls below this share (0..1).
   * @default - the baseline's held-out accuracy minus `thresholds.accuracyDrop`; no alarm without it
   */
  readonly accuracyFloor?: number;
  /**
   * Classifiers: alarm when macro-averaged F1 from feedback falls below this share (0..1).
   * @default - the baseline's held-out macro F1 minus `thresholds.macroF1Drop`; no alarm without it
   */
  readonly macroF1Floor?: number;
  /**
   * Regression: alarm when the mean absolute error from feedback rises above this.
   * @default - the baseline's held-out MAE times `thresholds.maeRatio`; no alarm without it
   */
  readonly maxMeanAbsoluteError?: number;
  /**
   * Overrides of the relative defaults (accuracy and F1 drop, MAE ratio, drifted-feature share, drift test
   * p-value, minimum sample), used by the alarms and passed to the quality job.
   * @default - DEFAULT_QUALITY_THRESHOLDS
   */
  readonly thresholds?: Partial<JobThresholds>;
  /** Alarm when the largest per-feature PSI rises above this. @default 0.25 */
  readonly driftPsiThreshold?: number;
}

/** A challenger beside the served model, as monitoring sees it. */
export interface ModelVersionsMonitoring {
  /** The challenger's version. */
  readonly challenger: string;
  /** The automatic promotion policy the quality job evaluates (a split challenger only). @default - promotion by hand only */
  readonly promotionPolicy?: PromotionPolicy;
}

export interface ModelMonitoringProps {
  /**
   * The mlship folder (holds `lambda/` and `package-lock.json`), for bundling the quality function.
   * @default - the folder of this package (PACKAGE_ROOT)
   */
  readonly rootDir?: string;
  /** Absolute directory of the served model: `model.json` and `baseline.json` are read at synth time. */
  readonly modelDir: string;
  /** The prediction log (DataStack `table`). */
  readonly table: dynamodb.ITable;
  /** The inference API (ApiStack `api`). */
  readonly api: apigw.RestApi;
  /** The functions to graph, by name (ApiStack `functions[name].function`, DataStack `replay.function`). */
  readonly functions: { readonly [name: string]: lambda.IFunction };
  /** Queue of log records the table refused (DataStack `logDlq`). */
  readonly deadLetterQueue: sqs.IQueue;
  /** Parts that fail without an API error to show it, each watched by an alarm. @default - none watched */
  readonly watchedFailures?: WatchedFailures;
  /** The serving backend (ServingStack `fargate` or `sagemaker`). */
  readonly backend: MonitoredBackend;
  /** Model-quality alarm thresholds. @default - a drift alarm at PSI 0.25, no accuracy or error alarm */
  readonly quality?: QualityThresholds;
  /** API 5xx share that raises the alarm, in percent. @default 1 */
  readonly serverErrorRatePercent?: number;
  /** API p99 latency that raises the alarm, in milliseconds. @default 2000 */
  readonly p99LatencyMs?: number;
  /** Address that receives the alarms by e-mail (the subscription must be confirmed). @default - no e-mail subscription */
  readonly alarmEmail?: string;
  /**
   * The challenger hosted beside the model (docs/versions.md): the dashboard shows both versions side by
   * side, and with `promotionPolicy` the quality job moves it up, promotes or rolls it back each run.
   * @default - the model alone
   */
  readonly versions?: ModelVersionsMonitoring;
  /**
   * The predict function keeps a routing state (a challenger, or the retraining loop's hand-over), so a
   * deploy can undo a promotion made on AWS: the `PromotionUndone` alarm watches for it.
   * @default - true with `versions`, false without
   */
  readonly routingState?: boolean;
  /** How often the quality job runs. @default Duration.minutes(15) */
  readonly qualitySchedule?: Duration;
  /** How much prediction log each run reads. @default Duration.minutes(60) */
  readonly qualityWindow?: Duration;
  /** Retention of the quality function's log group. @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** What a stack deletion does to the quality function's log group and the topic's key. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export class ModelMonitoring extends Construct {
  /** The CloudWatch dashboard of the service and the model's quality. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm goes here. */
  public readonly alarmTopic: sns.Topic;
  /** The alarm topic's key (CloudWatch alarms cannot publish with the AWS-managed SNS key). */
  public readonly alarmKey: kms.Key;
  /** The scheduled job that publishes accuracy and drift. */
  public readonly qualityFunction: QualityFunction;
  /** The rule that runs the quality job. */
  public readonly schedule: events.Rule;
  /** The alarms, each notifying `alarmTopic`. */
  public readonly alarms: ModelAlarms;
  /** The alarms of `watchedFailures`, each notifying `alarmTopic`. */
  public readonly failureAlarms: cloudwatch.Alarm[];
  /** The composite alarm that sends `watchedFailures.actionlessAlarms` to `alarmTopic`. @default - none without them */
  public readonly forwardedAlarm?: cloudwatch.CompositeAlarm;
  /** The model the metrics are about. */
  public readonly manifest: ModelManifest;
  /** The thresholds the alarms compare with, defaults resolved against the baseline's evaluation. */
  public readonly thresholds: AlarmThresholds;

  constructor(scope: Construct, id: string, props: ModelMonitoringProps) {
    super(scope, id);
    const { manifest, baseline } = readModel(props.modelDir);
    this.manifest = manifest;
    checkProps(props, this.manifest);
    const jobThresholds = qualityThresholds(props.quality?.thresholds);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
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
      removalPolicy,
    });
    // A service principal takes no identity policy: the grant lands in the key policy (resource "*", this key).
    this.alarmKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), ...ALARM_TOPIC_KEY_ACTIONS);
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `mlship ${this.manifest.name} alarms`,
      masterKey: this.alarmKey,
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    else {
      Annotations.of(this).addWarningV2(
        'mlship:noAlarmEmail',
        'No `alarmEmail`: every alarm goes to an SNS topic nobody is subscribed to, so no one hears of a failure. Set `alarmEmail` in the configuration (docs/deploying.md, pre-deploy checklist) or subscribe to the topic yourself.',
      );
    }

    this.qualityFunction = new QualityFunction(this, 'Quality', {
      deployment: contextFromParts({
        rootDir: props.rootDir ?? PACKAGE_ROOT,
        modelDir: props.modelDir,
        backend: props.backend.kind,
        logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
        removalPolicy,
      }),
      table: props.table,
      windowMinutes: window.toMinutes(),
      thresholds: props.quality?.thresholds ?? {},
      topic: this.alarmTopic,
      promotionPolicy: props.versions?.promotionPolicy,
    });
    this.schedule = new events.Rule(this, 'QualitySchedule', {
      description: `Publishes drift and accuracy of model ${this.manifest.name} every ${schedule.toMinutes()} minutes`,
      schedule: events.Schedule.rate(schedule),
      targets: [new targets.LambdaFunction(this.qualityFunction.function, { retryAttempts: 2, maxEventAge: schedule })],
    });

    const metrics = modelMetrics({
      manifest: this.manifest,
      api: props.api,
      deadLetterQueue: props.deadLetterQueue,
      backend: props.backend,
      qualityFunction: this.qualityFunction.function,
      schedule,
    });
    const classifier = manifest.output.kind === 'classification';
    const held: { accuracy?: number; macroF1?: number; mae?: number } = baseline.evaluation ?? {};
    const thresholds: AlarmThresholds = {
      errorRate: props.serverErrorRatePercent ?? MONITORING_DEFAULTS.serverErrorRatePercent,
      p99: props.p99LatencyMs ?? MONITORING_DEFAULTS.p99LatencyMs,
      driftPsi: props.quality?.driftPsiThreshold ?? MONITORING_DEFAULTS.driftPsiThreshold,
      driftedFeatureShare: jobThresholds.driftedFeatureShare,
      accuracyFloor:
        props.quality?.accuracyFloor ?? (classifier ? relative(held.accuracy, (a) => a - jobThresholds.accuracyDrop) : undefined),
      macroF1Floor: props.quality?.macroF1Floor ?? (classifier ? relative(held.macroF1, (f) => f - jobThresholds.macroF1Drop) : undefined),
      maxMeanAbsoluteError:
        props.quality?.maxMeanAbsoluteError ?? (classifier ? undefined : relative(held.mae, (m) => m * jobThresholds.maeRatio)),
      promotionUndone: props.routingState ?? props.versions !== undefined,
    };
    this.thresholds = thresholds;
    this.alarms = addModelAlarms(this, this.alarmTopic, metrics, thresholds);
    this.failureAlarms = addFailureAlarms(this, this.alarmTopic, props.watchedFailures ?? {});
    this.forwardedAlarm = addForwardedAlarms(this, this.alarmTopic, props.watchedFailures ?? {});
    this.dashboard = addModelDashboard(this, {
      manifest: this.manifest,
      metrics,
      alarms: this.alarms,
      thresholds,
      api: props.api,
      functions: props.functions,
      table: props.table,
      deadLetterQueue: props.deadLetterQueue,
      qualityFunction: this.qualityFunction.function,
      backendKind: props.backend.kind,
      schedule,
      window,
      challenger: props.versions?.challenger,
    });
  }

  /** Lets a principal read the dashboard's metrics (e.g. an operator role). */
  public grantReadMetrics(grantee: iam.IGrantable): iam.Grant {
    return grantActions(grantee, READ_METRICS_ACTIONS, ['*']);
  }
}

/** A threshold derived from a held-out baseline value, rounded to 6 decimals (float noise off, the baseline's 4 kept exact); none without it. */
function relative(held: number | undefined, derive: (v: number) => number): number | undefined {
  if (held === undefined) return undefined;
  const v = Math.round(derive(held) * 1e6) / 1e6;
  return v > 0 ? v : undefined;
}

function readModel(modelDir: string): { manifest: ModelManifest; baseline: ModelBaseline } {
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
  return { manifest, baseline };
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
  if (q.macroF1Floor !== undefined) {
    if (!classifier)
      problems.push(
        `\`quality.macroF1Floor\` applies to classifiers; ${manifest.name} is a regression model: use \`quality.maxMeanAbsoluteError\``,
      );
    else if (!(q.macroF1Floor > 0 && q.macroF1Floor <= 1))
      problems.push(`\`quality.macroF1Floor\` must be a share in (0, 1]; got ${q.macroF1Floor}`);
  }
  try {
    qualityThresholds(q.thresholds);
  } catch (e) {
    problems.push(`\`quality.thresholds\`: ${errorMessage(e)}`);
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
  if (props.versions !== undefined && props.versions.challenger === manifest.version)
    problems.push(`\`versions.challenger\` is the model's own version ${manifest.version}: a challenger is another version`);
  problems.push(...monitoredBackendProblems(props.backend));
  if (Object.keys(props.functions).length === 0)
    problems.push('`functions` is empty: pass the API functions to graph their errors, throttles and duration');
  if (problems.length > 0) throw new Error(`Invalid ModelMonitoring props:\n  - ${problems.join('\n  - ')}`);
}
