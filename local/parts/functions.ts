/**
 * The functions of the Api and Analytics stacks on this machine: built by `buildLocalFunctions` from the
 * same factories the Lambda entries call, with this system's endpoints and clients. Nothing is global,
 * so several local systems live in one process.
 */

import { join } from 'node:path';
import type { ModelManifest } from '../../contract/manifest';
import type { HandlerName } from '../../contract/routes';
import type { VersionsDeps } from '../../lambda/api/versions-routing';
import { duckdbEngine } from '../analytics/engine';
import { type LocalChallenger, localVersions } from '../challenger';
import { dynamoClient } from '../dynamodb';
import { buildLocalFunctions, type LocalFunctions } from '../functions';
import { s3Client } from '../s3';
import type { DataPart } from './data';
import { startPart } from './part';

export interface FunctionsPartOptions {
  data: Pick<DataPart, 'tableName' | 'bucketName' | 'logDlqUrl' | 'dynamodbUrl' | 's3Url' | 'sqsUrl' | 'onTableChange'>;
  modelUrl: string;
  manifestPath: string;
  manifest: ModelManifest;
  /** Dashboard folder the meta function serves. */
  dashboardDir: string;
  logTtlDays: number;
  operatorKeyIds: string[];
  /** The functions that treat operator keys as operators (contract/auth.ts `operatorHandlers`). @default - all */
  operatorHandlers?: readonly HandlerName[];
  /** Where the DuckDB engine mirrors the bucket's Parquet. */
  workDir: string;
  /** Where the predict function reaches S3 (a fault test puts a switch there). @default - the embedded S3 */
  predictS3Url?: string;
  /** A challenger beside the model: the predict function routes by the state in the table (docs/versions.md). @default - none */
  challenger?: LocalChallenger;
  onProgress: (message: string) => void;
}

export type FunctionsPart = Omit<LocalFunctions, 'close'> & { stop(): Promise<void> };

export function startFunctions(opts: FunctionsPartOptions): Promise<FunctionsPart> {
  return startPart(async (started) => {
    const { data } = opts;
    // The query function's long summary windows: DuckDB over the bucket's Parquet, where Athena runs on AWS.
    const analyticsS3 = s3Client(data.s3Url);
    started.defer(() => analyticsS3.destroy());
    opts.onProgress('building the functions');
    // The routing state is stored at once, so `mlship versions` and `mlship train --shadow` find it before
    // the first prediction; with no challenger it names the champion alone until a hand-over.
    const routingDb = dynamoClient(data.dynamodbUrl);
    started.defer(() => routingDb.destroy());
    const local = await localVersions({
      challenger: opts.challenger,
      manifest: opts.manifest,
      dynamodb: routingDb,
      tableName: data.tableName,
      onTableChange: data.onTableChange,
    });
    started.defer(local.stop);
    const versions: VersionsDeps = local.versions;
    const functions = buildLocalFunctions({
      manifest: opts.manifest,
      manifestPath: opts.manifestPath,
      modelUrl: opts.modelUrl,
      dashboardDir: opts.dashboardDir,
      tableName: data.tableName,
      bucketName: data.bucketName,
      logDlqUrl: data.logDlqUrl,
      endpoints: { dynamodb: data.dynamodbUrl, s3: data.s3Url, sqs: data.sqsUrl, predictS3: opts.predictS3Url },
      operatorKeyIds: opts.operatorKeyIds,
      operatorHandlers: opts.operatorHandlers,
      logTtlDays: opts.logTtlDays,
      analytics: duckdbEngine({
        s3: analyticsS3,
        bucket: data.bucketName,
        root: join(opts.workDir, 'analytics-mirror'),
        manifest: opts.manifest,
      }),
      versions,
    });
    started.defer(() => functions.close());
    const { close: _close, ...rest } = functions;
    return rest;
  });
}
