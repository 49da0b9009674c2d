/**
 * The route table: the single source of truth for the API Gateway REST API (lib/), the local gateway
 * (local/) and the OpenAPI document. Each route names the Lambda function that serves it; one function
 * may serve several routes of the same privilege (it dispatches on `routeId`). A route carries the schemas
 * of what it reads (`contract/route-schemas.ts`): they parse the request before the route runs and
 * document it.
 */
import type * as z from 'zod/mini';
import { LIMITS } from './limits';
import {
  type BodySpec,
  DASHBOARD_FILE_PARAMS,
  feedbackRequestSchema,
  LIST_PREDICTIONS_QUERY,
  METRICS_SUMMARY_QUERY,
  type ParamsSchema,
  PREDICTION_PARAMS,
  type QuerySchema,
  V2_MODEL_PARAMS,
  V2_MODEL_VERSION_PARAMS,
} from './route-schemas';

export type HttpMethod = 'GET' | 'POST';

/** Lambda functions behind the API, named for what they may touch (each has its own IAM role). */
export const HANDLERS = ['predict', 'query', 'feedback', 'meta'] as const;
export type HandlerName = (typeof HANDLERS)[number];

export interface RouteSpec {
  readonly id: string;
  readonly method: HttpMethod;
  /** API Gateway resource path; `{name}` marks a path parameter. */
  readonly path: string;
  readonly handler: HandlerName;
  /** Whether the caller must send `x-api-key`. */
  readonly apiKey: boolean;
  readonly summary: string;
  /** Path parameters, one per `{name}` of `path`. */
  readonly params?: ParamsSchema;
  /** Query string parameters the route reads (anything else is ignored). */
  readonly query?: QuerySchema;
  /** The request body: parsed by the common handler, or documented here and read by the route itself. */
  readonly body?: BodySpec;
}

export const ROUTES = [
  {
    id: 'predict',
    method: 'POST',
    path: '/predict',
    handler: 'predict',
    apiKey: true,
    summary: 'Validate instances, run the model, log one item per instance and answer',
    body: { parsedBy: 'route', component: 'PredictRequest', csv: true },
  },
  {
    id: 'listPredictions',
    method: 'GET',
    path: '/predictions',
    handler: 'query',
    apiKey: true,
    summary: 'Logged predictions, newest first',
    query: LIST_PREDICTIONS_QUERY,
  },
  {
    id: 'getPrediction',
    method: 'GET',
    path: '/predictions/{id}',
    handler: 'query',
    apiKey: true,
    summary: 'One logged prediction',
    params: PREDICTION_PARAMS,
  },
  {
    id: 'postFeedback',
    method: 'POST',
    path: '/predictions/{id}/feedback',
    handler: 'feedback',
    apiKey: true,
    summary: 'Record the ground-truth label of a prediction',
    params: PREDICTION_PARAMS,
    body: { parsedBy: 'handler', component: 'Feedback', schema: feedbackRequestSchema, maxBytes: LIMITS.maxFeedbackBodyBytes },
  },
  {
    id: 'metricsSummary',
    method: 'GET',
    path: '/metrics/summary',
    handler: 'query',
    apiKey: true,
    summary: 'Counts per class, latency percentiles and accuracy over a window',
    query: METRICS_SUMMARY_QUERY,
  },
  // The Open Inference Protocol (V2, REST), as KServe, Triton and Seldon MLServer clients call it.
  { id: 'v2Live', method: 'GET', path: '/v2/health/live', handler: 'meta', apiKey: true, summary: 'Open Inference Protocol: server live' },
  {
    id: 'v2Ready',
    method: 'GET',
    path: '/v2/health/ready',
    handler: 'meta',
    apiKey: true,
    summary: 'Open Inference Protocol: server ready',
  },
  {
    id: 'v2Model',
    method: 'GET',
    path: '/v2/models/{name}',
    handler: 'meta',
    apiKey: true,
    summary: "Open Inference Protocol: the model's metadata (its input and output tensors)",
    params: V2_MODEL_PARAMS,
  },
  {
    id: 'v2ModelVersion',
    method: 'GET',
    path: '/v2/models/{name}/versions/{version}',
    handler: 'meta',
    apiKey: true,
    summary: "Open Inference Protocol: a model version's metadata",
    params: V2_MODEL_VERSION_PARAMS,
  },
  {
    id: 'v2ModelReady',
    method: 'GET',
    path: '/v2/models/{name}/ready',
    handler: 'meta',
    apiKey: true,
    summary: 'Open Inference Protocol: model ready',
    params: V2_MODEL_PARAMS,
  },
  {
    id: 'v2ModelVersionReady',
    method: 'GET',
    path: '/v2/models/{name}/versions/{version}/ready',
    handler: 'meta',
    apiKey: true,
    summary: 'Open Inference Protocol: model version ready',
    params: V2_MODEL_VERSION_PARAMS,
  },
  {
    id: 'v2Infer',
    method: 'POST',
    path: '/v2/models/{name}/infer',
    handler: 'predict',
    apiKey: true,
    summary: 'Open Inference Protocol: inference on tensors, validated and logged like POST /predict',
    params: V2_MODEL_PARAMS,
    body: { parsedBy: 'route', component: 'InferenceRequest', csv: false },
  },
  {
    id: 'v2InferVersion',
    method: 'POST',
    path: '/v2/models/{name}/versions/{version}/infer',
    handler: 'predict',
    apiKey: true,
    summary: 'Open Inference Protocol: inference on a model version',
    params: V2_MODEL_VERSION_PARAMS,
    body: { parsedBy: 'route', component: 'InferenceRequest', csv: false },
  },
  { id: 'getModel', method: 'GET', path: '/model', handler: 'meta', apiKey: true, summary: "The served model's manifest" },
  { id: 'health', method: 'GET', path: '/health', handler: 'meta', apiKey: false, summary: 'Liveness of the API' },
  { id: 'openapi', method: 'GET', path: '/openapi.json', handler: 'meta', apiKey: false, summary: 'This API as an OpenAPI 3 document' },
  // The dashboard is served on the API's own origin: the page holds no data and asks for the API key,
  // which the data routes above keep requiring.
  { id: 'dashboard', method: 'GET', path: '/', handler: 'meta', apiKey: false, summary: 'The web dashboard (asks for the API key)' },
  {
    id: 'dashboardFile',
    method: 'GET',
    path: '/dashboard/{file}',
    handler: 'meta',
    apiKey: false,
    summary: "The dashboard's scripts and styles",
    params: DASHBOARD_FILE_PARAMS,
  },
] as const satisfies readonly RouteSpec[];

export type Route = (typeof ROUTES)[number];
export type RouteId = Route['id'];
/** The ids of the routes `handler` serves. */
export type RouteIdOf<H extends HandlerName> = Extract<Route, { handler: H }>['id'];

type RouteById = { readonly [R in Route as R['id']]: R };

/** What the route's schemas parse a request into: the values the route receives. */
export interface ParsedRequest<Id extends RouteId = RouteId> {
  readonly params: ParamsOf<RouteById[Id]>;
  readonly query: QueryOf<RouteById[Id]>;
  /** The body when the handler parses it; undefined when the route reads the body itself (or takes none). */
  readonly body: BodyOf<RouteById[Id]>;
}
// Each distributes over a union of routes, so a context of any route takes the context of one.
type ParamsOf<R> = R extends { params: infer P extends z.core.$ZodType } ? z.output<P> : Record<string, never>;
type QueryOf<R> = R extends { query: infer Q extends z.core.$ZodType } ? z.output<Q> : Record<string, never>;
type BodyOf<R> = R extends { body: { parsedBy: 'handler'; schema: (schemas: never) => infer S extends z.core.$ZodType } }
  ? z.output<S>
  : undefined;

/** Where the dashboard page finds its files, relative to the API root (the `dashboardFile` route). */
export const DASHBOARD_PATH_PREFIX = 'dashboard/';

/** Header carrying the API key, as API Gateway reads it. */
export const API_KEY_HEADER = 'x-api-key';
/** Optional header that makes a repeated `POST /predict` return the first answer. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export function routesOf(handler: HandlerName): RouteSpec[] {
  return ROUTES.filter((r) => r.handler === handler);
}

/** Finds the route for an API Gateway `resource` + method (what a proxy event carries). */
export function routeFor(method: string, resource: string): RouteSpec | undefined {
  return ROUTES.find((r) => r.method === method && r.path === resource);
}

/**
 * Matches a concrete request path against the table (what the local gateway does for API Gateway).
 * Returns the route and its path parameters, `methodNotAllowed` when the path exists under another
 * method, or undefined.
 */
export function matchRoute(
  method: string,
  path: string,
): { route: RouteSpec; pathParameters: Record<string, string> } | { methodNotAllowed: true } | undefined {
  let pathExists = false;
  for (const route of ROUTES) {
    const params = matchPath(route.path, path);
    if (!params) continue;
    if (route.method === method) return { route, pathParameters: params };
    pathExists = true;
  }
  return pathExists ? { methodNotAllowed: true } : undefined;
}

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, w] of want.entries()) {
    const g = got[i];
    if (g === undefined) return undefined;
    if (w.startsWith('{') && w.endsWith('}')) {
      if (g === '') return undefined;
      let value: string;
      try {
        value = decodeURIComponent(g);
      } catch {
        return undefined;
      }
      params[w.slice(1, -1)] = value;
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}
