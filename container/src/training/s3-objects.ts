/** The few object reads the training loop makes, with S3's "not there" answers told apart from failures. */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** True for S3's answers that mean the object (or its bucket) is not there. */
export function isMissing(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.name === 'NoSuchBucket' || err?.$metadata?.httpStatusCode === 404;
}

/** True when a conditional write found the object there already (`If-None-Match: *`). */
export function isPreconditionFailed(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return err?.name === 'PreconditionFailed' || err?.$metadata?.httpStatusCode === 412;
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  return s3
    .send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    .then(() => true)
    .catch((e: unknown) => {
      if (isMissing(e)) return false;
      throw e;
    });
}

export async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (got.Body as { transformToString(): Promise<string> }).transformToString();
}

export async function getJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  return JSON.parse(await getText(s3, bucket, key)) as T;
}
