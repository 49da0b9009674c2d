/**
 * Stateful resources, apart from everything that can be recreated: the data bucket, the prediction log
 * table and the dead-letter queue of log records the table refused, with the function that replays them.
 * Everything here is retained when the stack is deleted unless the config says `removalPolicy: destroy`.
 */
import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { LIMITS } from '../contract/limits';
import { LOG_TABLE } from '../contract/prediction-log';
import type { MlshipConfig } from './config';
import { DataBucketAccess, LogDlqAccess, PredictionLogAccess } from './constructs/data-grants';
import { HandlerFunction } from './constructs/handler-function';
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
  /** The prediction log. */
  public readonly table: dynamodb.Table;
  /** Log records the table refused; the replay function writes them later. */
  public readonly logDlq: sqs.Queue;
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

    this.table = new dynamodb.Table(this, 'PredictionLog', {
      partitionKey: { name: LOG_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: LOG_TABLE.ttlAttribute,
      // The analytics writer reads new and updated items from the stream; the new image is all it needs.
      stream: config.analytics ? dynamodb.StreamViewType.NEW_IMAGE : undefined,
      removalPolicy,
    });
    for (const ix of [LOG_TABLE.byModelIndex, LOG_TABLE.byCallerIndex]) {
      this.table.addGlobalSecondaryIndex({
        indexName: ix.name,
        partitionKey: { name: ix.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: ix.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    this.poisonQueue = new sqs.Queue(this, 'LogReplayFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(this.poisonQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the log dead-letter queue; it is the end of the line.',
    });
    this.logDlq = new sqs.Queue(this, 'LogDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Six times the replay function's timeout, as Lambda's SQS event source recommends.
      visibilityTimeout: Duration.seconds(180),
      // Replay parks a record in the bucket after LIMITS.replayMaxReceives deliveries; the redrive is the
      // backstop for when parking itself fails.
      deadLetterQueue: { queue: this.poisonQueue, maxReceiveCount: LIMITS.logDlqMaxReceives },
      removalPolicy,
    });

    this.replay = new HandlerFunction(this, 'Replay', { name: 'replay', deployment, timeout: Duration.seconds(30) });
    // A conditional PutItem makes each replay write exactly-once; nothing else on the table.
    this.replay.bindPredictionLog(this.table, PredictionLogAccess.WRITE);
    // Records it cannot write are parked under their own prefix, never anywhere else in the bucket.
    this.replay.bindDataBucket(this.bucket, DataBucketAccess.PARK_LOG_RECORDS);
    // A plain event source mapping with the exact rights Lambda's poller uses: `SqsEventSource` would grant
    // `grantConsumeMessages`, which adds sqs:GetQueueUrl that nothing calls.
    this.replay.function.addEventSourceMapping('LogDlqSource', {
      eventSourceArn: this.logDlq.queueArn,
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(5),
      reportBatchItemFailures: true,
    });
    this.replay.bindLogDlq(this.logDlq, LogDlqAccess.CONSUME);
  }
}
