/**
 * The S3 rights of whatever runs a batch job (the SageMaker model's role, or the Fargate task role):
 * exact actions on exact key prefixes of the data bucket, never the whole bucket.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { modelPrefix, PREFIX } from '../../contract/bucket';

export interface BatchDataAccess {
  /** Batch Transform lists the input prefix (S3Prefix data source). */
  readonly listInput: boolean;
  /**
   * Name of the model whose packages the task downloads itself (the Fargate task): it may read every
   * version under `models/<name>/`, since a run started before a deployment still loads its own version.
   * @default - no model read (Batch Transform: SageMaker loads the model)
   */
  readonly readModel?: string;
}

/**
 * Attaches the rights as a policy of `scope` (not the role's default policy), so they live, and are
 * reviewed, with the batch construct even when the role belongs to the serving stack.
 */
export function grantBatchData(scope: Construct, id: string, role: iam.IRole, bucket: s3.IBucket, access: BatchDataAccess): iam.Policy {
  const read = [bucket.arnForObjects(`${PREFIX.batchInput}*`)];
  if (access.readModel !== undefined) read.push(bucket.arnForObjects(`${modelPrefix(access.readModel)}*`));
  const policy = new iam.Policy(scope, id);
  policy.addStatements(new iam.PolicyStatement({ sid: 'ReadBatchInput', actions: ['s3:GetObject'], resources: read }));
  policy.addStatements(
    new iam.PolicyStatement({
      sid: 'WriteBatchOutput',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [bucket.arnForObjects(`${PREFIX.batchOutput}*`)],
    }),
  );
  if (access.listInput) {
    policy.addStatements(
      new iam.PolicyStatement({
        sid: 'ListBatchInput',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${PREFIX.batchInput}*`] } },
      }),
    );
  }
  role.attachInlinePolicy(policy);
  // A KMS-encrypted bucket also needs the key; S3-managed encryption needs nothing more.
  bucket.encryptionKey?.grantEncryptDecrypt(role);
  return policy;
}
