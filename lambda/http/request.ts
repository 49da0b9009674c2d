/** Readers of an API Gateway proxy event: headers, the raw body, its media type and JSON. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ApiError } from '../../contract/errors';
import { parseJsonBounded } from '../../contract/json';

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
