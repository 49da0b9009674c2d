/**
 * The one place where results and errors become API Gateway responses: JSON bodies, the stable error
 * shape, and unknown exceptions turned into a 500 carrying the request id (and logged) instead of a crash.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ApiError, isApiError } from '../../contract/errors';
import { parseJsonBounded } from '../../contract/json';
import { SERVICE_LIMITS } from '../../contract/limits';
import { type HandlerName, type RouteSpec, routeFor } from '../../contract/routes';
import type { Logger } from '../runtime/logger';

const JSON_HEADERS = { 'content-type': 'application/json' };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function errorResponse(e: ApiError): APIGatewayProxyResult {
  return json(e.status, e.toBody());
}

export type RouteHandler = (event: APIGatewayProxyEvent, ctx: RequestContext) => Promise<APIGatewayProxyResult>;

export interface RequestContext {
  readonly requestId: string;
  readonly route: RouteSpec;
  readonly log: Logger;
  /**
   * When the caller stops waiting (epoch ms): API Gateway's integration timeout from the request's
   * arrival, or the function's own timeout, whichever comes first.
   */
  readonly deadline: number;
}

/** The earlier of API Gateway's integration timeout and the Lambda timeout, as epoch ms. */
export function requestDeadline(
  event: APIGatewayProxyEvent,
  context: Pick<Context, 'getRemainingTimeInMillis'> | undefined,
  now = Date.now(),
): number {
  const arrived = event.requestContext?.requestTimeEpoch;
  const api =
    (typeof arrived === 'number' && arrived > 0 && arrived <= now ? arrived : now) + SERVICE_LIMITS.apiGatewayIntegrationTimeoutMs;
  const remaining = context?.getRemainingTimeInMillis?.();
  return typeof remaining === 'number' && remaining > 0 ? Math.min(api, now + remaining) : api;
}

/**
 * Builds a Lambda handler that dispatches on the event's `resource` + `httpMethod` to the routes this
 * function serves, and maps every failure to a response.
 */
export function apiHandler(
  name: HandlerName,
  log: Logger,
  routes: Record<string, RouteHandler>,
): (event: APIGatewayProxyEvent, context?: Context) => Promise<APIGatewayProxyResult> {
  return async (event, context) => {
    const requestId = event.requestContext?.requestId ?? 'unknown';
    const reqLog = log.child({ requestId });
    const route = routeFor(event.httpMethod, event.resource);
    const serve = route !== undefined && route.handler === name ? routes[route.id] : undefined;
    if (route === undefined || serve === undefined) {
      return errorResponse(new ApiError('ROUTE_NOT_FOUND', `No route ${event.httpMethod} ${event.resource} on the ${name} function.`));
    }
    try {
      return await serve(event, { requestId, route, log: reqLog, deadline: requestDeadline(event, context) });
    } catch (e) {
      if (isApiError(e)) {
        if (e.status >= 500) reqLog.warn('request failed', { route: route.id, code: e.code, reason: e.message });
        return errorResponse(e);
      }
      reqLog.error('unhandled error', { route: route.id, error: e });
      return json(500, { error: { code: 'INTERNAL', message: `Internal error; quote request id ${requestId} when reporting it.` } });
    }
  };
}

/** Case-insensitive header lookup (API Gateway keeps the caller's spelling). */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (k.toLowerCase() === want && v !== undefined) return v;
  }
  return undefined;
}

/** The raw body as bytes (API Gateway base64-encodes binary media types). */
export function bodyBytes(event: APIGatewayProxyEvent): Buffer {
  if (event.body === null || event.body === undefined) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/** Parses a JSON body; an empty, malformed or too deeply nested body is 400 INVALID_JSON. */
export function parseJsonBody(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new ApiError('INVALID_JSON', 'The body is empty; send a JSON document.');
  return parseJsonBounded(bytes.toString('utf8'));
}

/** The media type of the body without parameters, lower-cased (`application/json; charset=utf-8` → `application/json`). */
export function mediaType(event: APIGatewayProxyEvent): string | undefined {
  const raw = header(event, 'content-type');
  if (raw === undefined) return undefined;
  const [type = ''] = raw.split(';'); // split always yields at least one part
  return type.trim().toLowerCase();
}
