/**
 * The Training stack (`<prefix>-Training`, only with the config's `training` key): the retraining loop of
 * the served model, built on the data bucket, the serving image and package, the alarm topic and the
 * quality alarms, and (for labeled predictions) the analytics workgroup.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { athenaWorkgroupName, glueDatabaseName } from '../../contract/analytics';
import type { ModelManifest } from '../../contract/manifest';
import type { AnalyticsStack } from '../analytics-stack';
import type { MlshipConfig } from '../config';
import { importDataBucket } from '../constructs/data-bucket-import';
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
  readonly serving: ServingStack;
  readonly monitoring: MonitoringStack;
  /** For `withFeedback`. @default - no labeled predictions in the snapshot */
  readonly analytics?: AnalyticsStack;
  /** Where the code archive is staged. */
  readonly buildDir: string;
}

export class TrainingStack extends Stack {
  public readonly loop: RetrainingLoop;

  constructor(scope: Construct, id: string, props: TrainingStackProps) {
    super(scope, id, props);
    const { config, serving, monitoring, analytics } = props;
    const bucket = importDataBucket(this, 'DataBucket', props.bucketArnExport);
    const alarms = monitoring.monitoring.alarms;
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
    });
  }
}
