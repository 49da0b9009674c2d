/**
 * The OpenAPI 3 document of the API, built from the route table so it cannot drift from what the
 * stack deploys. The meta function serves it at `GET /openapi.json`; the CDK app may publish it too.
 */
import { ERROR_STATUS } from '../../contract/errors';
import { instanceSchema, type ModelManifest } from '../../contract/manifest';
import { API_KEY_HEADER, IDEMPOTENCY_HEADER, ROUTES, type RouteSpec } from '../../contract/routes';

export interface OpenApiDocument {
  openapi: '3.0.3';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, unknown>;
}

export function buildOpenApi(model: { name: string; version: string } & Partial<Pick<ModelManifest, 'input'>>, serverUrl?: string): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const r of ROUTES) {
    paths[r.path] = { ...paths[r.path], [r.method.toLowerCase()]: operation(r) };
  }
  return {
    openapi: '3.0.3',
    info: { title: `${model.name} inference API`, version: model.version, description: `Predictions of the ${model.name} model, version ${model.version}.` },
    ...(serverUrl !== undefined ? { servers: [{ url: serverUrl }] } : {}),
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: API_KEY_HEADER } },
      schemas: {
        // One instance of POST /predict as this model takes it (typed features, categorical values).
        ...(model.input ? { Instance: instanceSchema(model as ModelManifest) } : {}),
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string', enum: Object.keys(ERROR_STATUS) }, message: { type: 'string' }, field: { type: 'string' } },
            },
          },
        },
      },
    },
  };
}

function operation(r: RouteSpec): Record<string, unknown> {
  const parameters: unknown[] = [];
  for (const m of r.path.matchAll(/\{(\w+)\}/g)) parameters.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
  for (const q of r.query ?? []) parameters.push({ name: q, in: 'query', required: false, schema: { type: q === 'limit' ? 'integer' : 'string' } });
  if (r.id === 'predict') parameters.push({ name: IDEMPOTENCY_HEADER, in: 'header', required: false, schema: { type: 'string', maxLength: 128 } });
  const errorStatuses = [...new Set(Object.values(ERROR_STATUS))].sort();
  const responses: Record<string, unknown> = { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } } };
  // The dashboard routes answer the page (HTML) or its scripts and styles, not JSON.
  if (r.handler === 'meta' && r.path.startsWith('/dashboard/')) responses['200'] = { description: 'A dashboard file', content: { 'text/javascript': {}, 'text/css': {}, 'application/json': {} } };
  if (r.handler === 'meta' && r.path === '/') responses['200'] = { description: 'The dashboard page', content: { 'text/html': { schema: { type: 'string' } } } };
  for (const s of errorStatuses) responses[String(s)] = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  return {
    operationId: r.id,
    summary: r.summary,
    ...(r.apiKey ? { security: [{ apiKey: [] }] } : { security: [] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(r.method === 'POST'
      ? { requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } }, ...(r.id === 'predict' ? { 'text/csv': { schema: { type: 'string' } } } : {}) } } }
      : {}),
    responses,
  };
}
