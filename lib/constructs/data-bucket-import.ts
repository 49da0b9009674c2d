/**
 * The data bucket as seen from the other stacks: imported from the data stack's fixed-name export, so
 * a policy on one of its prefixes reads `<export>/<prefix>*` in cdk-nag and is acknowledged by that name
 * (`acknowledgeWildcardResource` renders it from the same token).
 */
import { Fn } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** The data bucket, imported by its ARN export. */
export function importDataBucket(scope: Construct, id: string, exportName: string): s3.IBucket {
  return s3.Bucket.fromBucketArn(scope, id, Fn.importValue(exportName));
}
