/**
 * What a batch job may do (the SageMaker model's role running a transform job, or the Fargate task role):
 * exact actions on exact key prefixes of the data bucket, never the whole bucket, and a transform job's
 * own logs and metrics. Each method grants one set of actions from perms.ts through `grantActions`.
 */
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { modelPrefix, PREFIX } from '../../contract/bucket';
import { grantActions } from '../constructs/grant-actions';
import { BATCH_DATA_ACTIONS, PUT_METRIC_DATA_ACTIONS, TRANSFORM_JOB_LOG_ACTIONS } from '../constructs/perms';

/** Transform jobs are named `batch-<execution name>`; their log streams start with the job name. */
export const TRANSFORM_JOB_PREFIX = 'batch-';
/** Where SageMaker writes every transform job's logs and metrics (one log group, a stream per job and instance). */
export const TRANSFORM_JOB_LOGS = '/aws/sagemaker/TransformJobs';

export class BatchJobGrants {
  /**
   * @param scope a construct of the stack the transform job logs are in (their ARNs name its region and account)
   * @param bucket the data bucket
   */
  constructor(
    private readonly scope: Construct,
    private readonly bucket: s3.IBucket,
  ) {}

  /** GetObject under `batch/input/`. */
  public grantReadInput(grantee: iam.IGrantable): iam.Grant {
    return this.objectGrant(grantee, BATCH_DATA_ACTIONS.read, [this.bucket.arnForObjects(`${PREFIX.batchInput}*`)]);
  }

  /** ListBucket limited to the `batch/input/` prefix: Batch Transform lists it (S3Prefix data source). */
  public grantListInput(grantee: iam.IGrantable): iam.Grant {
    return grantActions(grantee, BATCH_DATA_ACTIONS.list, [this.bucket.bucketArn], {
      StringLike: { 's3:prefix': [`${PREFIX.batchInput}*`] },
    });
  }

  /** PutObject and AbortMultipartUpload under `batch/output/`. */
  public grantWriteOutput(grantee: iam.IGrantable): iam.Grant {
    return this.objectGrant(grantee, BATCH_DATA_ACTIONS.write, [this.bucket.arnForObjects(`${PREFIX.batchOutput}*`)]);
  }

  /**
   * GetObject of every package under `models/<name>/` (the Fargate task loads the model itself): a run
   * started before a deployment still loads its own version.
   */
  public grantReadModelPackages(grantee: iam.IGrantable, modelName: string): iam.Grant {
    return this.objectGrant(grantee, BATCH_DATA_ACTIONS.read, [this.bucket.arnForObjects(`${modelPrefix(modelName)}*`)]);
  }

  /**
   * SageMaker writes a transform job's container logs and metrics with the model's role, under
   * /aws/sagemaker/TransformJobs (not the endpoint's /aws/sagemaker/Endpoints): that one log group, the
   * `batch-` job streams, and the TransformJobs metric namespace. PutMetricData has no resource-level
   * permissions, so it is granted on "*" and limited by the namespace condition.
   */
  public grantTransformJobLogs(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this.scope);
    const logGroup = (resourceName: string) =>
      Arn.format({ service: 'logs', resource: 'log-group', resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, stack);
    return grantActions(grantee, TRANSFORM_JOB_LOG_ACTIONS.logGroup, [logGroup(TRANSFORM_JOB_LOGS)])
      .combine(
        grantActions(grantee, TRANSFORM_JOB_LOG_ACTIONS.logStreams, [
          logGroup(`${TRANSFORM_JOB_LOGS}:log-stream:${TRANSFORM_JOB_PREFIX}*`),
        ]),
      )
      .combine(grantActions(grantee, PUT_METRIC_DATA_ACTIONS, ['*'], { StringEquals: { 'cloudwatch:namespace': TRANSFORM_JOB_LOGS } }));
  }

  /** Object rights; a KMS-encrypted bucket also needs its key (S3-managed encryption needs nothing more). */
  private objectGrant(grantee: iam.IGrantable, actions: readonly string[], resourceArns: string[]): iam.Grant {
    this.bucket.encryptionKey?.grantEncryptDecrypt(grantee);
    return grantActions(grantee, actions, resourceArns);
  }
}
