/**
 * Who is calling: API Gateway passes the id of the API key that was checked (`identity.apiKeyId`; the
 * local gateway does the same). Operator keys — the keys of the operator usage plan, whose ids the stack
 * gives the functions — see every caller's predictions and the metrics; any other key only its own.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { NO_OPERATOR_KEYS } from '../../contract/env';
import { ApiError } from '../../contract/errors';

export interface Caller {
  apiKeyId: string;
  operator: boolean;
}

/** Parses the comma-separated operator key ids of the function's environment. */
export function operatorKeyIds(raw: string): ReadonlySet<string> {
  if (raw === NO_OPERATOR_KEYS) return new Set();
  return new Set(
    raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );
}

export function callerOf(event: APIGatewayProxyEvent, operators: ReadonlySet<string>): Caller {
  const apiKeyId = event.requestContext?.identity?.apiKeyId ?? undefined;
  // Only a route without an API key could get here without one; the log's routes all require it.
  if (apiKeyId === undefined || apiKeyId === null || apiKeyId === '') throw new ApiError('FORBIDDEN', 'This route needs an API key.');
  return { apiKeyId, operator: operators.has(apiKeyId) };
}

/** Whether `caller` may see a prediction logged for `owner` (items logged without a key: operators only). */
export function maySee(caller: Caller, owner: string | undefined): boolean {
  return caller.operator || (owner !== undefined && owner === caller.apiKeyId);
}
