/**
 * Monitoring of the deployed model in a stack of its own: the CloudWatch dashboard, the service and
 * model-quality alarms with their SNS topic, and the scheduled quality job. It holds no data, so it can
 * be torn down, re-tuned or redeployed without touching the API or the model; it reads the other stacks'
 * resources through CloudFormation exports, and deploys after them.
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { ModelManifest } from '../contract/manifest';
import type { ApiStack } from './api-stack';
import type { MlshipConfig } from './config';
import type { DataStack } from './data-stack';
import { ModelMonitoring, type MonitoredBackend } from './observability/model-monitoring';
import type { ServingStack } from './serving-stack';

export interface MonitoringStackProps extends StackProps {
  readonly config: MlshipConfig;
  readonly rootDir: string;
  readonly modelDir: string;
  readonly manifest: ModelManifest;
  readonly data: DataStack;
  readonly serving: ServingStack;
  readonly api: ApiStack;
}

export class MonitoringStack extends Stack {
  public readonly monitoring: ModelMonitoring;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config, data, serving, api, manifest } = props;
    const classifier = manifest.output.kind === 'classification';
    this.monitoring = new ModelMonitoring(this, 'Monitoring', {
      rootDir: props.rootDir,
      modelDir: props.modelDir,
      table: data.table,
      api: api.api,
      functions: {
        ...Object.fromEntries(Object.entries(api.functions).map(([name, fn]) => [name, fn.function])),
        replay: data.replay.function,
      },
      deadLetterQueue: data.logDlq,
      backend: monitoredBackend(serving),
      // The accuracy floor is a classifier's alarm; a regression model is watched through its error.
      quality: {
        accuracyFloor: classifier ? config.accuracyFloor : undefined,
        maxMeanAbsoluteError: classifier ? undefined : config.maxMeanAbsoluteError,
        driftPsiThreshold: config.driftPsiThreshold,
      },
      alarmEmail: config.alarmEmail,
      qualitySchedule: Duration.minutes(config.qualityScheduleMinutes),
      qualityWindow: Duration.minutes(config.qualityWindowMinutes),
      logRetention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
  }
}

function monitoredBackend(serving: ServingStack): MonitoredBackend {
  if (serving.fargate)
    return {
      kind: 'fargate',
      service: serving.fargate.service,
      loadBalancer: serving.fargate.loadBalancer,
      targetGroups: [serving.fargate.targetGroup, serving.fargate.alternateTargetGroup],
    };
  if (serving.sagemaker)
    return { kind: serving.sagemaker.backend, endpointName: serving.sagemaker.endpointName, variantName: serving.sagemaker.variantName };
  throw new Error('The serving stack has neither a Fargate service nor a SageMaker endpoint');
}
