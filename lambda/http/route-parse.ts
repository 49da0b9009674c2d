/**
 * Parses a request with its route's schemas (`contract/route-schemas.ts`) before the route runs: path
 * parameters, query string, and a JSON body when the route leaves it to the handler. Every failure becomes
 * the refusal its schema names, so the routes receive typed values and never check input by hand.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { ApiError } from '../../contract/errors';
import type { ModelManifest } from '../../contract/manifest';
import { type BodySpec, isAcrossFields, refusalOf } from '../../contract/route-schemas';
import type { ParsedRequest, RouteSpec } from '../../contract/routes';
import { bodyBytes, mediaType, parseJsonBody } from './request';

/**
 * The parser of `route`'s requests: its path parameters, then its query string, then its body when the
 * handler reads it (against the served model's schemas, so `manifest` is then required).
 */
export function requestParser(route: RouteSpec, manifest: ModelManifest | undefined): (event: APIGatewayProxyEvent) => ParsedRequest {
  const readBody = route.body?.parsedBy === 'handler' ? jsonBodyReader(route, route.body, manifest) : undefined;
  return (event) =>
    // The values passed the route's own schemas: they are what ParsedRequest says of this route.
    ({
      params: route.params === undefined ? {} : parseWith(route.params, event.pathParameters ?? {}),
      query: route.query === undefined ? {} : parseWith(route.query, event.queryStringParameters ?? {}),
      body: readBody?.(event),
    }) as ParsedRequest;
}

/** A JSON body: media type (415), size (413), syntax (400 INVALID_JSON), then the model's schema. */
function jsonBodyReader(
  route: RouteSpec,
  body: Extract<BodySpec, { parsedBy: 'handler' }>,
  manifest: ModelManifest | undefined,
): (event: APIGatewayProxyEvent) => unknown {
  if (manifest === undefined) throw new Error(`Route ${route.id} parses its body against the model: give apiHandler the manifest.`);
  const schema = body.schema(manifest);
  return (event) => {
    const type = mediaType(event) ?? 'application/json';
    if (type !== 'application/json')
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type} is not accepted; send application/json.`, 'Content-Type');
    const bytes = bodyBytes(event);
    if (bytes.length > body.maxBytes)
      throw new ApiError('PAYLOAD_TOO_LARGE', `Bodies of ${route.path} are at most ${body.maxBytes} bytes.`);
    return parseWith(schema, parseJsonBody(bytes));
  };
}

/** `input` parsed by `schema` (an object of fields), or the refusal of its first problem. */
function parseWith(schema: z.core.$ZodType, input: unknown): unknown {
  const result = z.safeParse(schema, input);
  if (result.success) return result.data;
  throw refusal(schema, result.error.issues, input);
}

/**
 * The one answer to a failed parse. A problem of the whole value (not an object, an unknown field) comes
 * first, as the caller would fix it first; then the first field in the schema's order.
 */
function refusal(schema: z.core.$ZodType, issues: readonly z.core.$ZodIssue[], input: unknown): ApiError {
  const whole = refusalOf(schema);
  if (whole === undefined) throw new Error('A route schema without a refusal: wrap it in refusing().');
  const issue = issues.find((i) => i.path.length === 0) ?? issues[0];
  const key = issue?.path[0];
  if (issue?.code === 'unrecognized_keys') {
    const [unknown] = issue.keys;
    return new ApiError(whole.code, `Unknown field "${unknown}". ${whole.message}`, unknown);
  }
  if (issue === undefined || key === undefined) return new ApiError(whole.code, whole.message);
  const field = String(key);
  if (isAcrossFields(issue)) return new ApiError(whole.code, issue.message, field);
  const value = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[field] : undefined;
  if (value === undefined) return new ApiError(whole.code, `Missing "${field}".`, field);
  const own = refusalOf(fieldSchema(schema, field) ?? schema) ?? whole;
  return new ApiError(own.code, own.message, field);
}

function fieldSchema(object: z.core.$ZodType, field: string): z.core.$ZodType | undefined {
  return (object._zod.def as { shape?: Record<string, z.core.$ZodType> }).shape?.[field];
}
