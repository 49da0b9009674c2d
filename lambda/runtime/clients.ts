/**
 * SDK client options of the functions built from their environment. Each function constructs only the
 * clients it needs, at module scope, so a warm function reuses their connections. Endpoint overrides
 * point them at local stand-ins; in AWS they are unset.
 */
import { ENV } from '../../contract/env';
import { endpointOverride } from './config';

export function dynamoOptions(env: NodeJS.ProcessEnv, maxAttempts?: number) {
  return { endpoint: endpointOverride(ENV.DYNAMODB_URL, env), ...(maxAttempts !== undefined ? { maxAttempts } : {}) };
}

export function s3Options(env: NodeJS.ProcessEnv) {
  const endpoint = endpointOverride(ENV.S3_URL, env);
  return { endpoint, forcePathStyle: endpoint !== undefined };
}

export function sqsOptions(env: NodeJS.ProcessEnv) {
  return { endpoint: endpointOverride(ENV.SQS_URL, env) };
}
