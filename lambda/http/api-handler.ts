/**
 * The one place where results and errors become API Gateway responses: JSON bodies, the stable error
 * shape, and unknown exceptions turned into a 500 carrying the request id (and logged) instead of a crash.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ApiError, isApiError, RETRY_AFTER_SECONDS } from '../../contract/errors';
import { SERVICE_LIMITS } from '../../contract/limits';
import type { ModelManifest } from '../../contract/manifest';
import {
  type HandlerName,
  type ParsedRequest,
  type RouteId,
  type RouteIdOf,
  type RouteSpec,
  routeFor,
  routesOf,
} from '../../contract/routes';
import type { Logger } from '../runtime/logger';
import { requestParser } from './route-parse';

const JSON_HEADERS = { 'content-type': 'application/json' };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function errorResponse(e: ApiError): APIGatewayProxyResult {
  const retryAfter = RETRY_AFTER_SECONDS[e.code];
  return json(e.status, e.toBody(), retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) });
}

export type RouteHandler<Id extends RouteId = RouteId> = (
  event: APIGatewayProxyEvent,
  ctx: RequestContext<Id>,
) => Promise<APIGatewayProxyResult>;

/** What a route receives besides the event: its parsed `params`, `query` and `body`, and the request's facts. */
export interface RequestContext<Id extends RouteId = RouteId> extends ParsedRequest<Id> {
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
 * function serves, parses the request with the route's schemas before it runs, and maps every failure
 * to a response. `manifest`: the served model, for routes whose body the model's schemas describe.
 */
export function apiHandler<N extends HandlerName>(
  name: N,
  log: Logger,
  routes: { readonly [Id in RouteIdOf<N>]: RouteHandler<Id> },
  manifest?: ModelManifest,
): (event: APIGatewayProxyEvent, context?: Context) => Promise<APIGatewayProxyResult> {
  // One place where the route's id picks both its handler and its parser: the pair always agrees.
  const served = new Map(
    routesOf(name).map((r) => [r.id, { serve: routes[r.id as RouteIdOf<N>] as RouteHandler, parse: requestParser(r, manifest) }]),
  );
  return async (event, context) => {
    const requestId = event.requestContext?.requestId ?? 'unknown';
    const reqLog = log.child({ requestId });
    const route = routeFor(event.httpMethod, event.resource);
    const target = route !== undefined && route.handler === name ? served.get(route.id) : undefined;
    if (route === undefined || target === undefined) {
      return errorResponse(new ApiError('ROUTE_NOT_FOUND', `No route ${event.httpMethod} ${event.resource} on the ${name} function.`));
    }
    try {
      const request = target.parse(event);
      return await target.serve(event, { requestId, route, log: reqLog, deadline: requestDeadline(event, context), ...request });
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

// The event readers live beside the request parser; the routes keep importing them from here.
export { bodyBytes, header, mediaType, parseJsonBody } from './request';
