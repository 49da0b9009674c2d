/**
 * The Fargate backend: HTTP `POST /invocations` to the service's internal load balancer over kept-alive
 * connections. Each attempt is bounded in time; only failures where the model surely did not answer
 * (connection refused/reset, 503) are retried, so a slow prediction is never run twice.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { ApiError, errorMessage } from '../../contract/errors';
import { LIMITS } from '../../contract/limits';
import { DEADLINE_HEADER } from '../../contract/prediction';
import { MODEL_VERSION_REQUEST_HEADER, SHADOW_VERSION_REQUEST_HEADER } from '../../contract/versions';
import { type Backend, isConnectionError, modelAnswerError, modelTimeLeft, parseInvocationResponse, unavailable } from './backend';

export interface FargateBackendOptions {
  /** Base URL of the model server, e.g. `http://internal-alb:80`. */
  url: string;
  attemptTimeoutMs?: number;
  maxAttempts?: number;
}

const NAME = 'model server';

export function fargateBackend(opts: FargateBackendOptions): Backend {
  const target = new URL('invocations', opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
  const lib = target.protocol === 'https:' ? https : http;
  const agent = new lib.Agent({ keepAlive: true, maxSockets: 64 });
  const timeoutMs = opts.attemptTimeoutMs ?? LIMITS.backendAttemptTimeoutMs;
  const maxAttempts = opts.maxAttempts ?? LIMITS.backendMaxAttempts;

  async function attempt(
    body: string,
    timeoutMs: number,
    left: number | undefined,
    version?: string,
    shadow?: string,
  ): Promise<{ status: number; text: string }> {
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json',
      accept: 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    // The model server stops working on the request when the caller will no longer wait for it.
    if (left !== undefined) headers[DEADLINE_HEADER] = String(Math.min(timeoutMs, left));
    if (version !== undefined) headers[MODEL_VERSION_REQUEST_HEADER] = version;
    if (shadow !== undefined) headers[SHADOW_VERSION_REQUEST_HEADER] = shadow;
    return new Promise((resolve, reject) => {
      const req = lib.request(target, { method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new TimeoutError(timeoutMs)));
      req.on('error', reject);
      req.end(body);
    });
  }

  return {
    kind: 'fargate',
    async invoke(body, expected, deadline, version, shadow) {
      let last: ApiError | undefined;
      for (let i = 1; i <= maxAttempts; i++) {
        const left = modelTimeLeft(deadline);
        if (left !== undefined && left <= 1 && i > 1) break;
        const attemptMs = Math.min(timeoutMs, left ?? timeoutMs);
        let res: { status: number; text: string };
        try {
          res = await attempt(body, attemptMs, left, version, shadow);
        } catch (e) {
          if (e instanceof TimeoutError) throw new ApiError('BACKEND_TIMEOUT', `The ${NAME} did not answer within ${attemptMs} ms.`);
          if (!isConnectionError(e)) throw new ApiError('BACKEND_ERROR', `Calling the ${NAME} failed: ${errorMessage(e)}`);
          last = new ApiError('BACKEND_UNAVAILABLE', `The ${NAME} cannot be reached (${(e as { code?: string }).code}); retry shortly.`);
          continue;
        }
        if (res.status >= 200 && res.status < 300) return parseInvocationResponse(res.text, expected, NAME, shadow);
        if (res.status === 503) {
          last = unavailable(res.status, res.text, NAME);
          continue;
        }
        throw modelAnswerError(res.status, res.text, NAME);
      }
      throw last ?? new ApiError('BACKEND_UNAVAILABLE', `The ${NAME} is unavailable.`);
    },
  };
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}
