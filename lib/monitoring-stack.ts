/**
 * Monitoring of the deployed model in a stack of its own: the CloudWatch dashboard, the service and
 * model-quality alarms with their SNS topic (the poison queue and the analytics writer and compactor
 * included), and the scheduled quality job. It holds no data, so it can
 * be torn down, re-tuned or redeployed without touching the API or the model; it reads the other stacks'
 * resources through CloudFormation exports, and deploys after them.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ModelManifest } from '../contract/manifest';
import type { AnalyticsStack } from './analytics-stack';
import type { ApiStack } from './api-stack';
import type { DeployedChallenger, MlshipConfig } from './config';
import type { DataStack } from './data-stack';
import type { DeploymentContext } from './deployment-context';
import { ModelMonitoring } from './observability/model-monitoring';
import type { ServingStack } from './serving-stack';

export interface MonitoringStackProps extends StackProps {
  /** The validated configuration (thresholds, quality schedule, alarm e-mail). */
  readonly config: MlshipConfig;
  /** Paths, backend, log retention and removal policy, derived once from the config. */
  readonly deployment: DeploymentContext;
  /** The served model's manifest. */
  readonly manifest: ModelManifest;
  /** The table, dead-letter queue and replay function to watch. */
  readonly data: DataStack;
  /** The serving backend to watch. */
  readonly serving: ServingStack;
  /** The API and its functions to watch. */
  readonly api: ApiStack;
  /** The challenger beside the model: both versions on the dashboard, and its promotion policy. @default - none */
  readonly challenger?: DeployedChallenger;
  /** The analytics writer's failures and the compactor to watch. @default - none (analytics off) */
  readonly analytics?: AnalyticsStack;
}

export class MonitoringStack extends Stack {
  /** The dashboard, the alarms and the quality job. */
  public readonly monitoring: ModelMonitoring;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config, deployment, data, serving, api, manifest } = props;
    const classifier = manifest.output.kind === 'classification';
    this.monitoring = new ModelMonitoring(this, 'Monitoring', {
      rootDir: deployment.rootDir,
      modelDir: deployment.modelDir,
      table: data.table,
      api: api.api,
      functions: {
        ...Object.fromEntries(Object.entries(api.functions).map(([name, fn]) => [name, fn.function])),
        replay: data.replay.function,
      },
      deadLetterQueue: data.logDlq,
      watchedFailures: {
        poisonQueue: data.poisonQueue,
        analyticsWriterFailures: props.analytics?.analytics.writerFailures,
        analyticsCompactor: props.analytics?.compactor.function,
        batchRuns: serving.batch.stateMachine,
        actionlessAlarms: (serving.fargate ?? serving.sagemaker)?.deploymentAlarms,
      },
      backend: serving.modelBackend.monitored,
      // Accuracy and F1 floors are a classifier's alarms; a regression model is watched through its error.
      // Unset, each is derived from the baseline's held-out evaluation and `qualityThresholds`.
      quality: {
        accuracyFloor: classifier ? config.accuracyFloor : undefined,
        macroF1Floor: classifier ? config.macroF1Floor : undefined,
        maxMeanAbsoluteError: classifier ? undefined : config.maxMeanAbsoluteError,
        driftPsiThreshold: config.driftPsiThreshold,
        thresholds: config.qualityThresholds,
      },
      versions: props.challenger && { challenger: props.challenger.setting.version, promotionPolicy: props.challenger.promotionPolicy },
      // The predict function keeps a routing state with a challenger or the retraining loop's hand-over.
      routingState: props.challenger !== undefined || config.training !== undefined,
      alarmEmail: config.alarmEmail,
      qualitySchedule: Duration.minutes(config.qualityScheduleMinutes),
      qualityWindow: Duration.minutes(config.qualityWindowMinutes),
      logRetention: deployment.logRetention,
      removalPolicy: deployment.removalPolicy,
    });
  }
}
