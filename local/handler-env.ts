/**
 * The environment of the in-process handlers: every variable `functionEnv()` names for every function,
 * plus the endpoint overrides that point the SDK clients at the embedded servers. Handlers read it at
 * module load, so it is set before they are imported.
 */
import { dirname, join } from 'node:path';
import { BASELINE_FILE } from '../contract/baseline';
import { ENV, type EnvName, FUNCTION_NAMES, functionEnv } from '../contract/env';
import type { Backend } from '../contract/limits';
import { WEB_DIST } from '../web/build';
import { LOCAL_NAMES, S3RVER_CREDENTIALS } from './paths';

export interface HandlerEnvInput {
  backend: Backend;
  tableName: string;
  bucketName: string;
  logDlqUrl: string;
  manifestPath: string;
  /** The model's drift baseline (served by `GET /model` when the file exists). @default `baseline.json` beside the manifest */
  baselinePath?: string;
  /** Built dashboard served by the meta function. @default web/dist */
  dashboardDir?: string;
  modelUrl?: string;
  sagemakerEndpoint?: string;
  sagemakerRuntimeUrl?: string;
  dynamodbUrl: string;
  s3Url: string;
  sqsUrl: string;
  logTtlDays: number;
  /** Ids of the operator keys (the local gateway's operator key). */
  operatorKeyIds: string[];
  /** Athena workgroup and Glue database names of the query function (`off` turns the long windows off). */
  analyticsWorkgroup: string;
  analyticsDatabase: string;
}

export function handlerEnv(input: HandlerEnvInput): Record<string, string> {
  const values: Partial<Record<EnvName, string>> = {
    [ENV.PREDICTION_TABLE]: input.tableName,
    [ENV.DATA_BUCKET]: input.bucketName,
    [ENV.BACKEND]: input.backend,
    [ENV.LOG_DLQ_URL]: input.logDlqUrl,
    [ENV.MODEL_MANIFEST_PATH]: input.manifestPath,
    [ENV.MODEL_BASELINE_PATH]: input.baselinePath ?? join(dirname(input.manifestPath), BASELINE_FILE),
    [ENV.DASHBOARD_DIR]: input.dashboardDir ?? WEB_DIST,
    [ENV.LOG_TTL_DAYS]: String(input.logTtlDays),
    [ENV.OPERATOR_KEY_IDS]: input.operatorKeyIds.join(','),
    [ENV.ANALYTICS_WORKGROUP]: input.analyticsWorkgroup,
    [ENV.ANALYTICS_DATABASE]: input.analyticsDatabase,
    [ENV.DYNAMODB_URL]: input.dynamodbUrl,
    [ENV.S3_URL]: input.s3Url,
    [ENV.SQS_URL]: input.sqsUrl,
    ...(input.modelUrl !== undefined ? { [ENV.MODEL_URL]: input.modelUrl } : {}),
    ...(input.sagemakerEndpoint !== undefined ? { [ENV.SAGEMAKER_ENDPOINT]: input.sagemakerEndpoint } : {}),
    ...(input.sagemakerRuntimeUrl !== undefined ? { [ENV.SAGEMAKER_RUNTIME_URL]: input.sagemakerRuntimeUrl } : {}),
  };
  // A variable the contract adds later must be given a local value here: fail now, not at the first request.
  const missing = [...new Set(FUNCTION_NAMES.flatMap((fn) => functionEnv(fn, input.backend)))].filter((n) => values[n] === undefined);
  if (missing.length > 0) throw new Error(`The local runner has no value for ${missing.join(', ')}`);
  return {
    ...(values as Record<string, string>),
    AWS_REGION: LOCAL_NAMES.region,
    // s3rver checks signatures against its fixed credentials; dynalite and the SQS stand-in accept any.
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  };
}
