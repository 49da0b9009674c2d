/**
 * The Training stack (`<prefix>-Training`, only with the config's `training` key): the retraining loop of
 * the served model, built on the data bucket, the serving image and package, the alarm topic and the
 * quality alarms, and (for labeled predictions) the analytics workgroup; its hand-over function writes
 * the routing item of the prediction log.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { athenaWorkgroupName, glueDatabaseName } from '../../contract/analytics';
import { ENV } from '../../contract/env';
import type { ModelManifest } from '../../contract/manifest';
import { type ChallengerSetting, challengerSetting } from '../../contract/versions';
import type { AnalyticsStack } from '../analytics-stack';
import type { MlshipConfig } from '../config';
import { importDataBucket } from '../constructs/data-bucket-import';
import { PredictionLogAccess } from '../constructs/data-grants';
import { HandlerFunction } from '../constructs/handler-function';
import type { DeploymentContext } from '../deployment-context';
import type { MonitoringStack } from '../monitoring-stack';
import type { ServingStack } from '../serving-stack';
import { RetrainingLoop } from './retraining-loop';

export interface TrainingStackProps extends StackProps {
  readonly config: MlshipConfig & { training: NonNullable<MlshipConfig['training']> };
  readonly deployment: DeploymentContext;
  readonly manifest: ModelManifest;
  /** Export name of the data bucket's ARN (the Data stack's). */
  readonly bucketArnExport: string;
  /** The prediction log, whose routing item the hand-over step writes (the Data stack's). */
  readonly table: dynamodb.ITable;
  /** The challenger the deployment hosts, if any: the hand-over's starting state when none is stored. @default - none */
  readonly challenger?: ChallengerSetting;
  readonly serving: ServingStack;
  readonly monitoring: MonitoringStack;
  /** For `withFeedback`. @default - no labeled predictions in the snapshot */
  readonly analytics?: AnalyticsStack;
  /** Where the code archive is staged. */
  readonly buildDir: string;
}

export class TrainingStack extends Stack {
  public readonly loop: RetrainingLoop;
  /** The hand-over step: puts an accepted version in the shadow by writing the routing item, nothing else. */
  public readonly handOver: HandlerFunction;

  constructor(scope: Construct, id: string, props: TrainingStackProps) {
    super(scope, id, props);
    const { config, serving, monitoring, analytics } = props;
    const bucket = importDataBucket(this, 'DataBucket', props.bucketArnExport);
    const alarms = monitoring.monitoring.alarms;
    this.handOver = new HandlerFunction(this, 'HandOver', {
      name: 'hand-over',
      deployment: props.deployment,
      memorySize: 256,
      environment: { [ENV.CHALLENGER]: challengerSetting(props.challenger, true) },
    });
    // Its one grant: read and write the routing item (no other key of the table).
    this.handOver.bindPredictionLog(props.table, PredictionLogAccess.ROUTING);
    this.loop = new RetrainingLoop(this, 'Retraining', {
      bucket,
      manifest: props.manifest,
      modelDir: props.deployment.modelDir,
      buildDir: props.buildDir,
      championPackageKey: serving.modelPackage.key,
      mlshipImageUri: serving.image.imageUri,
      grantImagePull: (grantee) => serving.image.repository.grantPull(grantee),
      alarmTopic: monitoring.monitoring.alarmTopic,
      triggerAlarms: [
        alarms.drift,
        ...(alarms.accuracy ? [alarms.accuracy] : []),
        ...(alarms.meanAbsoluteError ? [alarms.meanAbsoluteError] : []),
      ],
      athena: analytics
        ? {
            workgroup: athenaWorkgroupName(config.stackPrefix),
            database: glueDatabaseName(config.stackPrefix),
            grantQuery: (grantee) => analytics.grantQuery(grantee),
          }
        : undefined,
      training: config.training,
      logRetention: props.deployment.logRetention,
      handOver: this.handOver.function,
    });
  }
}
