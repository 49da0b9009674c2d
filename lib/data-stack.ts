/**
 * Stateful resources, apart from everything that can be recreated: the data bucket with its access-log
 * bucket, and the prediction log (a PredictionLog: the table, the dead-letter queue of log records the
 * table refused and the function that replays them).
 * Everything here is retained when the stack is deleted unless the config says `removalPolicy: destroy`.
 */
import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { MlshipConfig } from './config';
import type { HandlerFunction } from './constructs/handler-function';
import { PredictionLog } from './data/prediction-log';
import type { DeploymentContext } from './deployment-context';

const ACCESS_LOGS_BY_BUCKET_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';

export interface DataStackProps extends StackProps {
  /** The validated configuration (prediction TTL, analytics stream). */
  readonly config: MlshipConfig;
  /** Paths, backend, log retention and removal policy, derived once from the config. */
  readonly deployment: DeploymentContext;
}

export class DataStack extends Stack {
  /** Datasets, model packages, batch files and large prediction inputs, each under its prefix. */
  public readonly bucket: s3.Bucket;
  /** Receives the data bucket's server access logs. */
  public readonly accessLogBucket: s3.Bucket;
  /** The prediction log: table, dead-letter queue, poison queue and replay. */
  public readonly predictionLog: PredictionLog;
  /** The prediction log table (`predictionLog.table`). */
  public readonly table: dynamodb.ITable;
  /** Log records the table refused; the replay function writes them later (`predictionLog.logDlq`). */
  public readonly logDlq: sqs.IQueue;
  /** Messages the replay function failed on repeatedly, kept for a person to look at. */
  public readonly poisonQueue: sqs.Queue;
  /** Writes the dead-lettered log records back to the table. */
  public readonly replay: HandlerFunction;
  /**
   * CloudFormation export of the bucket ARN. Other stacks import it by this fixed name, so the policies
   * that name a prefix of the bucket read `<export>/models/*` and their cdk-nag acknowledgements can say so.
   */
  public readonly bucketArnExport: string;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    // S3 log delivery is granted in the log bucket's policy, not with the legacy LogDeliveryWrite ACL
    // (set here, before any bucket exists, so the stack does not depend on the app's flags).
    this.node.setContext(ACCESS_LOGS_BY_BUCKET_POLICY, true);
    const { config, deployment } = props;
    // RETAIN keeps data through a stack deletion; DESTROY is for throw-away dev stacks (config `removalPolicy`).
    const { removalPolicy, autoDeleteObjects } = deployment;

    // S3-managed keys: encryption at rest without per-request KMS charges; access is governed by IAM and
    // the bucket policy, so a customer key would add cost and no separation we use.
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // ACLs off: S3 delivers the access logs under a bucket policy statement (no legacy AccessControl).
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(config.logRetentionDays) }],
      removalPolicy,
      autoDeleteObjects,
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket is the destination of the data bucket access logs; logging it to itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'DataBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(30), noncurrentVersionsToRetain: 3 },
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy,
      autoDeleteObjects,
    });

    // Objects landing under batch/input/ start the batch state machine through EventBridge. Set on the
    // CloudFormation resource itself: the L2 flag adds a notifications custom resource (a Lambda with a
    // managed policy) that a bucket this stack owns does not need.
    (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    this.bucketArnExport = `${this.stackName}-DataBucketArn`;
    new CfnOutput(this, 'DataBucketArn', { value: this.bucket.bucketArn, exportName: this.bucketArnExport });

    // Id `Default` keeps the table's and queues' logical IDs as they were before the construct (see PredictionLog).
    this.predictionLog = new PredictionLog(this, 'Default', { deployment, bucket: this.bucket, stream: config.analytics });
    this.table = this.predictionLog.table;
    this.logDlq = this.predictionLog.logDlq;
    this.replay = this.predictionLog.replay;
    if (this.predictionLog.poisonQueue === undefined) throw new Error('DataStack: the prediction log made no poison queue.');
    this.poisonQueue = this.predictionLog.poisonQueue;
  }
}
