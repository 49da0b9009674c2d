/**
 * The OpenAPI 3.1 document of the API, built from the route table, the schemas each route parses its
 * requests with (`contract/route-schemas.ts`) and the zod schemas of `contract/api-schemas.ts` (the shapes
 * the handlers answer, narrowed to the served model's features and labels) so it cannot drift from what
 * the stack deploys and the handlers accept. The meta function serves it at
 * `GET /openapi.json` with the caller's base URL as its server.
 */
import * as z from 'zod/mini';
import { type ModelSchemas, modelSchemas, predictBodyComponents, routeErrorsByStatus } from '../../contract/api-schemas';
import type { ModelManifest } from '../../contract/manifest';
import { MODEL_VERSION_HEADER } from '../../contract/prediction';
import { PARAMETERS } from '../../contract/route-schemas';
import { API_KEY_HEADER, IDEMPOTENCY_HEADER, ROUTES, type RouteSpec } from '../../contract/routes';

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers?: { url: string; description?: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
}

type JsonSchema = Record<string, unknown>;
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });

/** The component schemas, each generated once from its zod schema; references between them stay references. */
function componentSchemas(schemas: ModelSchemas): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const out = z.toJSONSchema(registry, { io: 'output', uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' }).schemas;
  const components: Record<string, JsonSchema> = {};
  for (const [id, s] of Object.entries(out)) {
    const { $schema: _dialect, $id: _id, ...rest } = s as JsonSchema;
    components[id] = rest;
  }
  return components;
}

/** One parameter's schema as parsed, in its typed form (`limit` is an integer, not the digits sent). */
function parameterSchema(schema: z.core.$ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'output' }) as JsonSchema;
  return rest;
}

/** The parameters of a route's params or query schema, in the order of its fields. */
function parameters(where: 'path' | 'query', object: z.ZodMiniObject | undefined): unknown[] {
  return Object.entries(object?.shape ?? {}).map(([name, field]) => {
    const schema = parameterSchema(field);
    // A path parameter is always there; a query parameter may be left out (optional or defaulted).
    const required = where === 'path' || field._zod.optin === undefined;
    const description = where === 'query' && typeof schema.description === 'string' ? { description: schema.description } : {};
    return { name, in: where, required, ...description, schema };
  });
}

/** Headers of an answer holding predictions (`POST /predict` and the protocol's inference). */
const PREDICTION_HEADERS = {
  [MODEL_VERSION_HEADER]: { description: 'The model that answered, as `<name>/<version>`.', schema: { type: 'string' } },
  'idempotent-replay': {
    description: '`true` when this is the stored answer to an earlier request with the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
  },
};

/** The routes that run the predict function's core: they take an Idempotency-Key. */
const PREDICTING_ROUTES = new Set(['predict', 'v2Infer', 'v2InferVersion']);

/** The successful answers of each route, with the bodies their handlers write. */
function successResponses(r: RouteSpec): Record<string, unknown> {
  switch (r.id) {
    case 'predict':
      return {
        '200': {
          description: 'One prediction per instance, each with the id it is logged under.',
          headers: PREDICTION_HEADERS,
          content: {
            ...json(ref('PredictResponse')),
            'text/csv': {
              schema: {
                type: 'string',
                description:
                  'With `Accept: text/csv`: a header line, then one line per prediction: `id,label,probability_<label>…` (classifier) or `id,value` (regressor).',
              },
            },
          },
        },
      };
    case 'listPredictions':
      return {
        '200': {
          description: 'Logged predictions, newest first; `cursor` is absent on the last page.',
          content: json(ref('PredictionPage')),
        },
      };
    case 'getPrediction':
      return { '200': { description: 'The logged prediction.', content: json(ref('PredictionRecord')) } };
    case 'postFeedback':
      return { '200': { description: 'The prediction with its feedback.', content: json(ref('PredictionRecord')) } };
    case 'metricsSummary':
      return { '200': { description: 'The summary of the window.', content: json(ref('MetricsSummary')) } };
    case 'getModel':
      return {
        '200': { description: 'The manifest of the served model, its backend and drift baseline.', content: json(ref('ModelInfo')) },
      };
    case 'health':
      return { '200': { description: 'The API is up.', content: json(ref('Health')) } };
    case 'openapi':
      return { '200': { description: 'This document.', content: json({ type: 'object' }) } };
    case 'dashboard':
      return {
        '200': { description: 'The dashboard page.', content: { 'text/html': { schema: { type: 'string' } } } },
        '301': { description: 'The page lives at the path with a trailing slash.', headers: { location: { schema: { type: 'string' } } } },
      };
    case 'dashboardFile':
      return {
        '200': {
          description: "One of the dashboard's scripts, styles or source maps.",
          content: {
            'text/javascript': { schema: { type: 'string' } },
            'text/css': { schema: { type: 'string' } },
            'application/json': { schema: { type: 'string' } },
          },
        },
        '301': { description: '`index.html` is served at the API root.', headers: { location: { schema: { type: 'string' } } } },
      };
    case 'v2Live':
      return { '200': { description: 'The API answers.', content: json(ref('ServerLive')) } };
    case 'v2Ready':
      return { '200': { description: 'The API serves its model.', content: json(ref('Ready')) } };
    case 'v2Model':
    case 'v2ModelVersion':
      return { '200': { description: "The model's input and output tensors.", content: json(ref('ModelMetadata')) } };
    case 'v2ModelReady':
    case 'v2ModelVersionReady':
      return { '200': { description: 'The model is served here.', content: json(ref('Ready')) } };
    case 'v2Infer':
    case 'v2InferVersion':
      return {
        '200': {
          description: 'The output tensors, with the id each instance is logged under in `parameters.prediction_ids`.',
          headers: PREDICTION_HEADERS,
          content: json(ref('InferenceResponse')),
        },
      };
    default:
      throw new Error(`The OpenAPI document has no answer for route ${r.id}: add it to successResponses().`);
  }
}

function requestBody(r: RouteSpec, m: ModelManifest): Record<string, unknown> | undefined {
  if (r.body === undefined) return undefined;
  const csv =
    r.body.parsedBy === 'route' && r.body.csv && m.input.kind === 'tabular'
      ? {
          'text/csv': {
            schema: {
              type: 'string',
              description: `One instance per line: ${m.input.features.length} comma-separated values (RFC 4180 quoting). An optional header line naming every feature once sets the column order; without one, the values are in manifest order.`,
            },
          },
        }
      : {};
  // `POST /predict` takes any one of the scoring formats (MLflow's and TF-Serving's bodies beside its own).
  const schema = r.id === 'predict' ? { oneOf: predictBodyComponents(m).map(ref) } : ref(r.body.component);
  return { required: true, content: { ...json(schema), ...csv } };
}

function operation(r: RouteSpec, m: ModelManifest): Record<string, unknown> {
  const params = [...parameters('path', r.params), ...parameters('query', r.query)];
  if (PREDICTING_ROUTES.has(r.id)) {
    const schema = parameterSchema(PARAMETERS.idempotencyKey);
    params.push({ name: IDEMPOTENCY_HEADER, in: 'header', required: false, description: schema.description, schema });
  }
  const responses: Record<string, unknown> = successResponses(r);
  // The protocol's routes answer their own errors in its form; the gateway's (403, 429, …) keep the API's.
  const error = r.path.startsWith('/v2/') ? { anyOf: [ref('InferenceError'), ref('Error')] } : ref('Error');
  for (const [status, codes] of routeErrorsByStatus(r)) {
    responses[String(status)] = { description: codes.join(', '), content: json(error) };
  }
  const body = requestBody(r, m);
  return {
    operationId: r.id,
    summary: r.summary,
    security: r.apiKey ? [{ apiKey: [] }] : [],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(body !== undefined ? { requestBody: body } : {}),
    responses,
  };
}

/** The document for model `m`; `serverUrl` is the API's base URL as the caller reached it. */
export function buildOpenApi(m: ModelManifest, serverUrl?: string): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const r of ROUTES) paths[r.path] = { ...paths[r.path], [r.method.toLowerCase()]: operation(r, m) };
  return {
    openapi: '3.1.0',
    info: {
      title: `${m.name} inference API`,
      version: m.version,
      description: `Predictions of the ${m.name} model, version ${m.version}, with their log, feedback and metrics.`,
    },
    ...(serverUrl !== undefined ? { servers: [{ url: serverUrl }] } : {}),
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: API_KEY_HEADER } },
      schemas: componentSchemas(modelSchemas(m)),
    },
  };
}
