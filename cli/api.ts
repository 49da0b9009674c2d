/** A small client of the inference API for the CLI: JSON in and out, errors with their stable code. */

import { errorMessage } from '../contract/errors';
import { API_KEY_HEADER, IDEMPOTENCY_HEADER } from '../contract/routes';
import type { Target } from './target';

/** An error answer of the API, shown as `CODE: message`. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    /** The API's message, without the code. */
    readonly reason: string,
  ) {
    super(`${code} (${status}): ${reason}`);
    this.name = 'ApiCallError';
  }
}

export interface CallOptions {
  method?: 'GET' | 'POST';
  body?: string;
  contentType?: string;
  idempotencyKey?: string;
}

export async function callApi<T>(target: Target, path: string, opts: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (target.apiKey) headers[API_KEY_HEADER] = target.apiKey;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  if (opts.idempotencyKey) headers[IDEMPOTENCY_HEADER] = opts.idempotencyKey;
  let res: Response;
  try {
    res = await fetch(`${target.apiUrl}${path}`, { method: opts.method ?? 'GET', headers, body: opts.body });
  } catch (e) {
    throw new Error(`Cannot reach the ${target.label}: ${errorMessage((e as { cause?: unknown } | undefined)?.cause ?? e)}`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new ApiCallError(res.status, 'INVALID_RESPONSE', `The API answered something that is not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const err = (parsed as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    const hint = res.status === 403 && !target.apiKey ? ' Pass --api-key or set MLSHIP_API_KEY.' : '';
    throw new ApiCallError(
      res.status,
      err?.code ?? 'HTTP_ERROR',
      `${err?.message ?? text.slice(0, 200)}${err?.field ? ` [${err.field}]` : ''}${hint}`,
    );
  }
  return parsed as T;
}
