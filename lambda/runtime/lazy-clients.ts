/**
 * Clients the predict function needs only on some requests (S3 for inputs given as keys or too large
 * to log inline, SQS when the table refuses a record). Each SDK package is loaded and its client built
 * on first use, once per container, so the common cold start pays only for DynamoDB. A caller that has
 * its client already (the local runner) hands it in; the package is still loaded on first use.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { SQSClientConfig } from '@aws-sdk/client-sqs';

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

/** An S3 client built with `config` (or the given one) on first use. */
export function lazyS3(from: S3ClientConfig | S3Handle['client']): () => Promise<S3Handle> {
  return once(() =>
    import('@aws-sdk/client-s3').then((sdk) => ({ sdk, client: from instanceof sdk.S3Client ? from : new sdk.S3Client(from) })),
  );
}

/** An SQS client built with `config` (or the given one) on first use. */
export function lazySqs(from: SQSClientConfig | SqsHandle['client']): () => Promise<SqsHandle> {
  return once(() =>
    import('@aws-sdk/client-sqs').then((sdk) => ({ sdk, client: from instanceof sdk.SQSClient ? from : new sdk.SQSClient(from) })),
  );
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}
