/**
 * The data bucket as seen from the other stacks: imported from the data stack's fixed-name export, so
 * a policy on one of its prefixes reads `<export>/<prefix>*` in cdk-nag and can be acknowledged by name.
 */
import { Fn } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface ImportedDataBucket {
  /** The bucket, imported by its ARN export. */
  readonly bucket: s3.IBucket;
  /** The cdk-nag IAM5 finding id for a wildcard object pattern in this bucket, e.g. `models/*`. */
  wildcardFinding(objectPattern: string): string;
}

export function importDataBucket(scope: Construct, id: string, exportName: string): ImportedDataBucket {
  return {
    bucket: s3.Bucket.fromBucketArn(scope, id, Fn.importValue(exportName)),
    wildcardFinding: (objectPattern) => `AwsSolutions-IAM5[Resource::${exportName}/${objectPattern}]`,
  };
}
