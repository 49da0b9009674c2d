/**
 * Clients the predict function needs only on some requests (S3 for inputs given as keys or too large
 * to log inline, SQS when the table refuses a record). Each SDK package is loaded and its client built
 * on first use, once per container, so the common cold start pays only for DynamoDB.
 */
import { s3Options, sqsOptions } from './clients';

type S3Module = typeof import('@aws-sdk/client-s3');
type SqsModule = typeof import('@aws-sdk/client-sqs');

export interface S3Handle {
  sdk: S3Module;
  client: InstanceType<S3Module['S3Client']>;
}
export interface SqsHandle {
  sdk: SqsModule;
  client: InstanceType<SqsModule['SQSClient']>;
}

export function lazyS3(): () => Promise<S3Handle> {
  let handle: Promise<S3Handle> | undefined;
  return () => (handle ??= import('@aws-sdk/client-s3').then((sdk) => ({ sdk, client: new sdk.S3Client(s3Options()) })));
}

export function lazySqs(): () => Promise<SqsHandle> {
  let handle: Promise<SqsHandle> | undefined;
  return () => (handle ??= import('@aws-sdk/client-sqs').then((sdk) => ({ sdk, client: new sdk.SQSClient(sqsOptions()) })));
}
