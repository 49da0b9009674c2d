/**
 * Puts the model package (`model.tar.gz`, packed deterministically) into the data bucket at
 * `models/<name>/<version>/<digest>/model.tar.gz`, where SageMaker's `ModelDataUrl` and the Fargate
 * container read it. The digest (of the archive) makes a retrained model without a version bump a new
 * key instead of overwriting the package a running endpoint or task was started from.
 *
 * aws-s3-deployment grants its upload function read, write and delete on the whole destination bucket,
 * which here also holds datasets, stored prediction inputs and the analytics store. So the function runs
 * with a role of ours that its grants cannot change, and that role may only read this package's asset and
 * list and write under this package's own key prefix (`models/<name>/<version>/<digest>/`): never delete,
 * since the upload keeps what it wrote (`prune: false`, `retainOnDelete: true`).
 */
import { join } from 'node:path';
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { modelPackageKey, PACKAGE_DIGEST_LENGTH } from '../../contract/bucket';
import type { ModelManifest } from '../../contract/manifest';
import { packModelSync } from '../../contract/model-package';
import { acknowledgeWildcardResource } from '../constructs/nag';

export interface ModelPackageProps {
  /** The bucket the package goes to (under `models/<name>/<version>/<digest>/`). */
  readonly bucket: s3.IBucket;
  /** The model's manifest (its name and version make the key). */
  readonly manifest: ModelManifest;
  /** Directory holding `model.json` and the ONNX file. */
  readonly modelDir: string;
  /** Directory the archive is staged in before it becomes an asset (kept out of git). */
  readonly buildDir: string;
  /** Retention of the upload function's log group. @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the upload function's log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export class ModelPackage extends Construct {
  /** Object key of the package in the bucket. */
  public readonly key: string;
  /** The upload: whatever loads the package must depend on it. */
  public readonly deployment: s3deploy.BucketDeployment;
  /** The upload function's logs (without it Lambda would create a group that never expires). */
  public readonly uploadLogs: logs.LogGroup;
  /** The upload function's role, shared by the packages of a stack as the function is (see `uploadRole`). */
  public readonly uploadRole: iam.Role;

  constructor(scope: Construct, id: string, props: ModelPackageProps) {
    super(scope, id);
    const { name, version } = props.manifest;

    // The staging directory holds only the archive, so the asset hash is the archive's content hash.
    const staging = join(props.buildDir, 'model-package', name, version);
    const { sha256 } = packModelSync(props.modelDir, join(staging, 'model.tar.gz'));
    this.key = modelPackageKey(name, version, sha256.slice(0, PACKAGE_DIGEST_LENGTH));

    this.uploadLogs = new logs.LogGroup(this, 'UploadLogs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // The archive as an asset of our own, so the role reads this one object rather than the asset bucket.
    const archive = new s3assets.Asset(this, 'Archive', { path: staging });
    const prefix = this.key.slice(0, -'model.tar.gz'.length);
    this.uploadRole = uploadRole(this);
    this.uploadRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [archive.bucket.arnForObjects(archive.s3ObjectKey)] }),
    );
    // `aws s3 sync` lists the destination prefix, then puts (multipart for a large archive) what is missing.
    this.uploadRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
    this.uploadRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [props.bucket.arnForObjects(`${prefix}*`)],
      }),
    );
    // A bucket of your own may encrypt with a KMS key: a put needs a data key, a multipart one to decrypt it.
    props.bucket.encryptionKey?.grant(this.uploadRole, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.uploadLogs.grantWrite(this.uploadRole);

    this.deployment = new s3deploy.BucketDeployment(this, 'Upload', {
      logGroup: this.uploadLogs,
      sources: [s3deploy.Source.bucket(archive.bucket, archive.s3ObjectKey)],
      destinationBucket: props.bucket,
      destinationKeyPrefix: prefix,
      extract: true,
      // Other versions' packages and datasets live in the same bucket: never delete what we did not write.
      prune: false,
      retainOnDelete: true,
      memoryLimit: 512,
      // Its grants (read-write on the whole bucket) land nowhere: the statements above are the role's policy.
      role: this.uploadRole.withoutPolicyUpdates(),
    });
    // The immutable view hides the role's policy from the function's dependencies: the upload waits for it.
    this.deployment.node.addDependency(this.uploadRole);

    acknowledgeWildcardResource(
      this.uploadRole,
      props.bucket.arnForObjects(`${prefix}*`),
      "The upload writes the files of one model package, named as in the archive, under the package's own key prefix.",
    );
    // The upload function is a singleton at stack level, created by BucketDeployment.
    for (const uploader of Stack.of(this).node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment')))
      Validations.of(uploader).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'The runtime of the aws-s3-deployment upload function is chosen by aws-cdk-lib and updated with it.',
      });
  }
}

/**
 * aws-s3-deployment runs one upload function per stack (a singleton, whatever role a later deployment
 * asks for), so every package of a stack adds its statements to one role.
 */
function uploadRole(scope: Construct): iam.Role {
  const stack = Stack.of(scope);
  const id = 'ModelPackageUploadRole';
  const existing = stack.node.tryFindChild(id);
  if (existing instanceof iam.Role) return existing;
  return new iam.Role(stack, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: 'Uploads model packages into the data bucket, each under its own models/ key prefix',
  });
}
