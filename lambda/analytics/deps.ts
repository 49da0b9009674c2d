/** What the analytics writer and compactor are built from: the model, and the bucket holding the Parquet store. */
import { S3Client } from '@aws-sdk/client-s3';
import { ENV } from '../../contract/env';
import type { ModelManifest } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { s3Options } from '../runtime/clients';
import { readConfig, required } from '../runtime/config';
import type { Logger } from '../runtime/logger';

export interface AnalyticsStoreDeps {
  readonly manifest: ModelManifest;
  readonly s3: S3Client;
  /** The data bucket, which holds the Parquet store. */
  readonly bucket: string;
  /** @default - a logger named for the function */
  readonly logger?: Logger;
}

/** The dependencies as the CDK configures the function: config from `env`, an S3 client. */
export function analyticsStoreDepsFromEnv(
  fn: 'analytics-writer' | 'analytics-compactor',
  env: NodeJS.ProcessEnv,
  baseDir: string,
): AnalyticsStoreDeps {
  const config = readConfig(fn, env);
  return {
    manifest: readManifestFile(required(config, ENV.MODEL_MANIFEST_PATH), baseDir),
    s3: new S3Client(s3Options(env)),
    bucket: required(config, ENV.DATA_BUCKET),
  };
}
