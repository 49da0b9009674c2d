/**
 * The alarms of a served model, apart from its dashboard: API errors and latency, the log dead-letter queue
 * and parked records, backend health, the quality job, drift, accuracy (classifiers) or mean absolute
 * error (regression), and a deploy that undid a promotion made on AWS. Each sends ALARM and OK to the
 * alarm topic.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { PREFIX } from '../../contract/bucket';
import type { ModelMetrics } from './model-metrics';

/** The thresholds the alarms compare with. */
export interface AlarmThresholds {
  /** API 5xx share, in percent. */
  readonly errorRate: number;
  /** API p99 latency, in milliseconds. */
  readonly p99: number;
  /** Largest per-feature PSI. */
  readonly driftPsi: number;
  /** Classifiers: accuracy from feedback below this. @default - no accuracy alarm */
  readonly accuracyFloor?: number;
  /** Regression: mean absolute error above this. @default - no error alarm */
  readonly maxMeanAbsoluteError?: number;
  /** Classifiers: macro-averaged F1 from feedback below this. @default - no F1 alarm */
  readonly macroF1Floor?: number;
  /** Alarm on a deploy that undid a promotion (the deployment keeps a routing state). @default false */
  readonly promotionUndone?: boolean;
  /** Share of the tested features drifted at or above this. */
  readonly driftedFeatureShare: number;
}

export interface ModelAlarms {
  /** API 5xx share above the threshold. */
  readonly serverErrorRate: cloudwatch.Alarm;
  /** API p99 latency above the threshold. */
  readonly p99Latency: cloudwatch.Alarm;
  /** Log records waiting in the dead-letter queue. */
  readonly deadLetters: cloudwatch.Alarm;
  /** Log records the replay could not write and parked in the bucket (`parked/log-records/`). */
  readonly parkedLogRecords: cloudwatch.Alarm;
  /**
   * A deploy replaced the routing state in force and its champion answers again: a promotion was undone.
   * @default - none when the deployment keeps no routing state (no challenger, no retraining loop)
   */
  readonly promotionUndone?: cloudwatch.Alarm;
  /** The model backend is unhealthy. */
  readonly backendUnhealthy: cloudwatch.Alarm;
  /** The quality job failed twice in a row. */
  readonly qualityJobErrors: cloudwatch.Alarm;
  /** Largest per-feature PSI above the threshold. */
  readonly drift: cloudwatch.Alarm;
  /** Accuracy from feedback below the floor. @default - none without an accuracy floor (regression models) */
  readonly accuracy?: cloudwatch.Alarm;
  /** Mean absolute error above the ceiling. @default - none without an error ceiling (classifiers) */
  readonly meanAbsoluteError?: cloudwatch.Alarm;
  /** Share of drifted features at or above the threshold. */
  readonly driftedFeatureShare: cloudwatch.Alarm;
  /** Macro F1 below the floor. @default - none without an F1 floor (regression models, or no baseline macro F1) */
  readonly macroF1?: cloudwatch.Alarm;
}

/** Parts that fail without an API error to show it; each one given is watched by an alarm. */
export interface WatchedFailures {
  /** Log records the replay failed on repeatedly (DataStack `poisonQueue`). @default - not watched */
  readonly poisonQueue?: sqs.IQueue;
  /** Stream batches the analytics writer dropped after its retries (PredictionAnalytics `writerFailures`). @default - not watched */
  readonly analyticsWriterFailures?: sqs.IQueue;
  /** The analytics compactor (PredictionAnalytics `compactor.function`). @default - not watched */
  readonly analyticsCompactor?: lambda.IFunction;
  /** The batch inference state machine (BatchInference `stateMachine`): a failed run. @default - not watched */
  readonly batchRuns?: sfn.IStateMachine;
  /**
   * Alarms made elsewhere without an action, sent to the topic through one composite alarm: the rollout
   * alarms of the serving backend, which must live beside the endpoint or service that names them (the
   * topic's stack deploys after it). @default - none
   */
  readonly actionlessAlarms?: cloudwatch.IAlarm[];
}

type AlarmFactory = (alarmId: string, options: cloudwatch.CreateAlarmOptions & { metric: cloudwatch.IMetric }) => cloudwatch.Alarm;

/** Alarms in `scope` that send ALARM and OK to `topic`. */
function alarmsNotifying(scope: Construct, topic: sns.ITopic): AlarmFactory {
  return (alarmId, { metric, ...options }) => {
    const a = new cloudwatch.Alarm(scope, alarmId, { metric, ...options });
    a.addAlarmAction(new actions.SnsAction(topic));
    a.addOkAction(new actions.SnsAction(topic));
    return a;
  };
}

/** One message or more in a queue that should stay empty, within five minutes. */
const ANY_MESSAGE = {
  threshold: 1,
  evaluationPeriods: 1,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
};

/** Adds an alarm, notifying `topic`, for each watched part given. */
export function addFailureAlarms(scope: Construct, topic: sns.ITopic, watched: WatchedFailures): cloudwatch.Alarm[] {
  const alarm = alarmsNotifying(scope, topic);
  const period = Duration.minutes(5);
  const depth = (q: sqs.IQueue) => q.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' });
  const alarms: cloudwatch.Alarm[] = [];
  if (watched.poisonQueue) {
    alarms.push(
      alarm('PoisonMessages', {
        ...ANY_MESSAGE,
        metric: depth(watched.poisonQueue),
        alarmDescription:
          'Prediction log records the replay function failed on repeatedly wait in its poison queue: they are not in the table. Look at the replay logs, fix the cause and redrive them.',
      }),
    );
  }
  if (watched.analyticsWriterFailures) {
    alarms.push(
      alarm('AnalyticsWriterFailures', {
        ...ANY_MESSAGE,
        metric: depth(watched.analyticsWriterFailures),
        alarmDescription:
          'The analytics writer dropped a stream batch after its retries: those predictions are missing from the Parquet store. Each message names the shard and sequence numbers; look at the writer logs.',
      }),
    );
  }
  if (watched.analyticsCompactor) {
    alarms.push(
      alarm('AnalyticsCompactorErrors', {
        ...ANY_MESSAGE,
        metric: watched.analyticsCompactor.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
        alarmDescription:
          'The analytics compactor failed: closed days stay in many small files (queries still answer, more slowly). Look at the compactor logs.',
      }),
    );
  }
  if (watched.batchRuns) {
    alarms.push(
      alarm('BatchRunFailed', {
        ...ANY_MESSAGE,
        metric: watched.batchRuns.metricFailed({ period, statistic: 'Sum' }),
        alarmDescription: 'A batch inference run failed: see `mlship batch status` or the state machine log group.',
      }),
    );
  }
  return alarms;
}

/** One composite alarm over `watched.actionlessAlarms` (any of them in ALARM), notifying `topic`; none without them. */
export function addForwardedAlarms(scope: Construct, topic: sns.ITopic, watched: WatchedFailures): cloudwatch.CompositeAlarm | undefined {
  const children = watched.actionlessAlarms ?? [];
  if (children.length === 0) return undefined;
  const forwarded = new cloudwatch.CompositeAlarm(scope, 'ServingAlarms', {
    alarmRule: cloudwatch.AlarmRule.anyOf(...children),
    alarmDescription:
      'The model backend answers 5xx, fails health checks or is slow (the alarms that roll a deployment back). Look at the serving dashboard and the model logs.',
  });
  forwarded.addAlarmAction(new actions.SnsAction(topic));
  forwarded.addOkAction(new actions.SnsAction(topic));
  return forwarded;
}

/** Adds the alarms to `scope` (their logical ids are the scope's), each notifying `topic`. */
export function addModelAlarms(scope: Construct, topic: sns.ITopic, metrics: ModelMetrics, thresholds: AlarmThresholds): ModelAlarms {
  const {
    serverErrorRate,
    p99,
    dlqDepth,
    parkedRecords,
    routingStateReplaced,
    backend,
    qualityJobErrors,
    maxPsi,
    accuracy,
    mae,
    macroF1,
    driftedFeatureShare,
  } = metrics;
  const alarm = alarmsNotifying(scope, topic);
  const service = { evaluationPeriods: 3, datapointsToAlarm: 2, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING };
  return {
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
      metric: parkedRecords,
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
      metric: qualityJobErrors,
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
    driftedFeatureShare: alarm('DriftedFeatureShare', {
      metric: driftedFeatureShare,
      threshold: thresholds.driftedFeatureShare,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
      alarmDescription: `At least ${thresholds.driftedFeatureShare} of the tested input features drifted from the training baseline (KS or chi-square test) in two runs in a row. Run \`mlship report\` to see which.`,
    }),
    // The predict function cannot publish to the topic (no grant, by design): it counts the replacement,
    // and this alarm is how a promotion undone by a deploy of a stale config reaches a person.
    ...(thresholds.promotionUndone === true
      ? {
          promotionUndone: alarm('PromotionUndone', {
            metric: routingStateReplaced,
            threshold: 1,
            evaluationPeriods: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
            alarmDescription:
              'A deploy replaced the routing state in force: its champion answers again, and a promotion made on AWS (by the policy or `mlship promote`) is undone. If that was not meant, promote again and run `mlship --stack NAME sync-config` before the next deploy.',
          }),
        }
      : {}),
    ...(thresholds.macroF1Floor !== undefined
      ? {
          macroF1: alarm('MacroF1', {
            metric: macroF1,
            threshold: thresholds.macroF1Floor,
            evaluationPeriods: 2,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.MISSING,
            alarmDescription: `Macro-averaged F1 from feedback below ${thresholds.macroF1Floor} in two runs in a row.`,
          }),
        }
      : {}),
    ...(thresholds.accuracyFloor !== undefined
      ? {
          accuracy: alarm('Accuracy', {
            metric: accuracy,
            threshold: thresholds.accuracyFloor,
            evaluationPeriods: 2,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.MISSING,
            alarmDescription: `Accuracy from feedback below ${thresholds.accuracyFloor} in two runs in a row.`,
          }),
        }
      : {}),
    ...(thresholds.maxMeanAbsoluteError !== undefined
      ? {
          meanAbsoluteError: alarm('MeanAbsoluteError', {
            metric: mae,
            threshold: thresholds.maxMeanAbsoluteError,
            evaluationPeriods: 2,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.MISSING,
            alarmDescription: `Mean absolute error from feedback above ${thresholds.maxMeanAbsoluteError} in two runs in a row.`,
          }),
        }
      : {}),
  };
}
