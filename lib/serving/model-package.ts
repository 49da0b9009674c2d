/**
 * Puts the model package (`model.tar.gz`, packed deterministically) into the data bucket at
 * `models/<name>/<version>/<digest>/model.tar.gz`, where SageMaker's `ModelDataUrl` and the Fargate
 * container read it. The digest (of the archive) makes a retrained model without a version bump a new
 * key instead of overwriting the package a running endpoint or task was started from.
 */
import { join } from 'node:path';
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
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
    this.deployment = new s3deploy.BucketDeployment(this, 'Upload', {
      logGroup: this.uploadLogs,
      sources: [s3deploy.Source.asset(staging)],
      destinationBucket: props.bucket,
      destinationKeyPrefix: this.key.slice(0, -'model.tar.gz'.length),
      extract: true,
      // Other versions' packages and datasets live in the same bucket: never delete what we did not write.
      prune: false,
      retainOnDelete: true,
      memoryLimit: 512,
    });

    const s3Wildcards = 'aws-s3-deployment grants its upload function these object and bucket actions to copy from the CDK asset bucket.';
    const reasons = {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
        'The upload function of aws-s3-deployment uses AWSLambdaBasicExecutionRole only to write its own logs.',
      'AwsSolutions-IAM5[Action::s3:GetObject*]': s3Wildcards,
      'AwsSolutions-IAM5[Action::s3:GetBucket*]': s3Wildcards,
      'AwsSolutions-IAM5[Action::s3:List*]': s3Wildcards,
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]': s3Wildcards,
      'AwsSolutions-IAM5[Action::s3:Abort*]': s3Wildcards,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]':
        'Reads the model archive from the CDK asset bucket, whose object keys are content hashes.',
      'AwsSolutions-L1': 'The runtime of the aws-s3-deployment upload function is chosen by aws-cdk-lib and updated with it.',
    };
    const stack = Stack.of(this);
    // The upload function is a singleton at stack level, created by BucketDeployment.
    const uploaders = stack.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    for (const target of [this, ...uploaders]) {
      for (const [id, reason] of Object.entries(reasons)) Validations.of(target).acknowledge({ id, reason });
      acknowledgeWildcardResource(
        target,
        props.bucket.arnForObjects('*'),
        'aws-s3-deployment grants its upload function object access in the destination bucket; it writes only under models/.',
      );
    }
  }
}
