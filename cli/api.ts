/** A small client of the inference API for the CLI: JSON in and out, errors with their stable code. */

import { AUTH_TOKEN_ENV, authModeOf } from '../contract/auth';
import { errorMessage } from '../contract/errors';
import { API_KEY_HEADER, IDEMPOTENCY_HEADER, matchRoute } from '../contract/routes';
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
  const method = opts.method ?? 'GET';
  const url = `${target.apiUrl}${path}`;
  Object.assign(headers, await authHeaders(target, method, path, { url, headers, body: opts.body }));
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: opts.body });
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
    const hint =
      res.status === 403 && !target.apiKey
        ? ' Pass --api-key or set MLSHIP_API_KEY.'
        : res.status === 401
          ? ` Set ${AUTH_TOKEN_ENV} to a valid token (docs/auth.md).`
          : '';
    throw new ApiCallError(
      res.status,
      err?.code ?? 'HTTP_ERROR',
      `${err?.message ?? text.slice(0, 200)}${err?.field ? ` [${err.field}]` : ''}${hint}`,
    );
  }
  return parsed as T;
}

/**
 * What the route asks for besides the key (docs/auth.md): a bearer token from MLSHIP_AUTH_TOKEN, or a SigV4
 * signature by the target's credentials (the default AWS chain for a stack).
 */
async function authHeaders(
  target: Target,
  method: 'GET' | 'POST',
  path: string,
  call: { url: string; headers: Record<string, string>; body?: string },
): Promise<Record<string, string>> {
  if (target.auth === undefined) return {};
  const route = matchRoute(method, path.split('?')[0] ?? path);
  const mode = route === undefined || 'methodNotAllowed' in route ? 'none' : authModeOf(route.route, target.auth.modes);
  if (mode === 'jwt') {
    const token = process.env[AUTH_TOKEN_ENV];
    if (token === undefined || token === '')
      throw new Error(`The ${target.label} asks for a bearer token on ${method} ${path}: set ${AUTH_TOKEN_ENV} (docs/auth.md).`);
    return { authorization: `Bearer ${token}` };
  }
  if (mode !== 'iam') return {};
  const [{ signCall }, credentials] = await Promise.all([import('../local/auth/sigv4'), credentialsOf(target.auth)]);
  return signCall({ method, url: call.url, headers: call.headers, body: call.body }, credentials, target.auth.region);
}

/** The target's own credentials (the local system's), else the default AWS chain (environment, profile, SSO, role). */
async function credentialsOf(auth: NonNullable<Target['auth']>) {
  if (auth.credentials) return auth.credentials;
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  return defaultProvider();
}
