import { ApiError } from '../../contract/errors';
import { isConnectionError } from '../model/backend';

const TRANSIENT = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
]);

/** A table that cannot be reached or is throttling is the caller's 503 (retry later), not a 500. */
export function storageUnavailable(e: unknown): ApiError | undefined {
  const name = (e as { name?: string }).name ?? '';
  // An SDK error without an HTTP status is one the service never answered (refused, reset, timed out).
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const noAnswer = (e as { $metadata?: unknown }).$metadata !== undefined && status === undefined;
  if (isConnectionError(e) || noAnswer || TRANSIENT.has(name) || (status !== undefined && status >= 500))
    return new ApiError('STORAGE_UNAVAILABLE', 'The prediction log is unavailable; retry shortly.');
  return undefined;
}
