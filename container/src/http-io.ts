/**
 * What the model server reads from a request and writes to a response, apart from routing: body
 * limits, content negotiation, the caller's deadline and Batch Transform's CSV lines.
 */
import type * as http from 'node:http';
import { ApiError } from '../../contract/errors';
import { LIMITS } from '../../contract/limits';
import {
  DEADLINE_ATTRIBUTE,
  DEADLINE_HEADER,
  MODEL_VERSION_HEADER,
  type Prediction,
  SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER,
} from '../../contract/prediction';

export const JSON_TYPE = 'application/json';
export const CSV_TYPE = 'text/csv';
export type Format = 'json' | 'csv';

/** Content-Type → input format; a missing one is taken as JSON (SageMaker's default). */
export function contentFormat(header: string | undefined): Format {
  if (header === undefined) return 'json';
  const type = mediaType(header);
  if (type === JSON_TYPE) return 'json';
  if (type === CSV_TYPE) return 'csv';
  throw new ApiError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Type ${header.slice(0, 100)} is not supported: send application/json or text/csv.`,
    'content-type',
  );
}

/**
 * Content-Encoding: bodies are read as sent, so a compressed one is refused by name (RFC 7694: 415) rather
 * than parsed as bytes that are not JSON or CSV.
 */
export function checkContentEncoding(header: string | undefined): void {
  if (header === undefined || header === '' || header.trim().toLowerCase() === 'identity') return;
  throw new ApiError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Encoding ${header.slice(0, 100)} is not supported: send the body uncompressed.`,
    'content-encoding',
  );
}

/** Accept → output format: the first of application/json, text/csv or a wildcard listed. */
export function acceptFormat(header: string | undefined): Format {
  if (header === undefined || header === '' || header === JSON_TYPE) return 'json';
  for (const part of header.split(',')) {
    const type = mediaType(part);
    if (type === JSON_TYPE || type === '*/*' || type === 'application/*') return 'json';
    if (type === CSV_TYPE || type === 'text/*') return 'csv';
  }
  throw new ApiError('NOT_ACCEPTABLE', `Accept ${header.slice(0, 100)} is not supported: ask for application/json or text/csv.`, 'accept');
}

function mediaType(header: string): string {
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

const DEADLINE_ATTRIBUTE_PATTERN = new RegExp(`(?:^|[;,\\s])${DEADLINE_ATTRIBUTE}=([^;,\\s]*)`);

/**
 * The time the caller will still wait, from the deadline header or SageMaker's custom attributes
 * (`mlship-deadline-ms=12000`); undefined when neither says. A malformed value is INVALID_HEADER.
 */
export function callerDeadlineMs(req: http.IncomingMessage): number | undefined {
  let raw = req.headers[DEADLINE_HEADER];
  if (raw === undefined) {
    const attrs = req.headers[SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER];
    const m = typeof attrs === 'string' ? DEADLINE_ATTRIBUTE_PATTERN.exec(attrs) : null;
    raw = m?.[1];
  }
  if (raw === undefined) return undefined;
  const ms = Number(raw);
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw) || ms < 1) {
    throw new ApiError('INVALID_HEADER', `${DEADLINE_HEADER} must be a whole number of milliseconds (1 or more).`, DEADLINE_HEADER);
  }
  return ms;
}

/** The body as text, refusing more than the SageMaker payload limit without reading it all. */
export function readBody(req: http.IncomingMessage): Promise<string> {
  const limit = LIMITS.maxInvocationBodyBytes;
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      const only = chunks.length === 1 ? chunks[0] : undefined;
      resolve(only ? only.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
    });
    req.once('error', reject);
  });
}

function tooLarge(limit: number): ApiError {
  return new ApiError('PAYLOAD_TOO_LARGE', `The body is larger than ${limit} bytes.`);
}

/** Writes a whole answer with its length; `closeAfter` asks keep-alive clients to reconnect (the server is stopping). */
export function send(res: http.ServerResponse, status: number, type: string, body: string, model: string, closeAfter: boolean): void {
  const headers: http.OutgoingHttpHeaders = { 'content-type': type, 'content-length': Buffer.byteLength(body) };
  if (model) headers[MODEL_VERSION_HEADER] = model;
  if (closeAfter) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

/** Batch Transform output: one line per row, `label,p(label 1),p(label 2),…` or the regression value. */
export function toCsv(predictions: Prediction[]): string {
  let out = '';
  for (const p of predictions) {
    if ('value' in p) out += `${p.value}\n`;
    else {
      out += p.label;
      for (const k in p.probabilities) out += `,${p.probabilities[k]}`;
      out += '\n';
    }
  }
  return out;
}
