/**
 * SDK client options shared by the handlers. Each handler constructs only the clients it needs, at
 * module scope, so a warm function reuses their connections. Endpoint overrides point them at the local
 * stand-ins; in AWS they are unset.
 */
import { ENV } from '../../contract/env';
import { endpointOverride } from './config';

export function dynamoOptions(maxAttempts?: number) {
  return { endpoint: endpointOverride(ENV.DYNAMODB_URL), ...(maxAttempts !== undefined ? { maxAttempts } : {}) };
}

export function s3Options() {
  const endpoint = endpointOverride(ENV.S3_URL);
  return { endpoint, forcePathStyle: endpoint !== undefined };
}

export function sqsOptions() {
  return { endpoint: endpointOverride(ENV.SQS_URL) };
}
