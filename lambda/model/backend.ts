/**
 * The model backends behind `POST /predict`. Both speak the model server's protocol: a JSON body
 * `{"instances": [...]}` in, an `InvocationResponse` out. Failures become the API's stable codes in one
 * place: the model server's 4xx is passed on as is, an unreachable or overloaded backend is 503, a slow
 * one 504, anything else 502.
 */
import { ApiError, ERROR_STATUS, type ErrorBody, type ErrorCode } from '../../contract/errors';
import type { InvocationResponse } from '../../contract/prediction';
import type { ShadowAnswer } from '../../contract/versions';

/** The model's answer, with the shadow version's outcome when one was asked for. */
export interface BackendAnswer extends InvocationResponse {
  readonly shadow?: ShadowAnswer;
}

export interface Backend {
  readonly kind: string;
  /**
   * Sends the serialized `{"instances": [...]}` body; resolves with the parsed answer. `deadline`
   * (epoch ms) is when the caller stops waiting: the model server is told, and abandons work past it.
   * `version` names the hosted model version that must answer (docs/versions.md); without it the
   * server's champion does. `shadow` names a version the model server runs on the same instances: its
   * outcome comes back as `shadow` (predictions, or an error code such as SHADOW_TIMEOUT), never as a
   * failed call.
   */
  invoke(body: string, expectedPredictions: number, deadline?: number, version?: string, shadow?: string): Promise<BackendAnswer>;
}

/** Time the predict handler keeps after the model call to log the predictions and answer. */
export const LOG_RESERVE_MS = 1000;

/** Milliseconds the model may still take before `deadline` (less the log reserve); at least 1. */
export function modelTimeLeft(deadline: number | undefined, now = Date.now()): number | undefined {
  return deadline === undefined ? undefined : Math.max(1, deadline - LOG_RESERVE_MS - now);
}

/** Connection failures: nothing reached the model, so another attempt is safe. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code !== undefined && CONNECTION_ERRORS.has(code);
}

/** A model server 4xx body, passed on under the same code when it is one of ours. */
export function passOnClientError(status: number, body: string, backendName: string): ApiError {
  try {
    const parsed = JSON.parse(body) as Partial<ErrorBody>;
    const err = parsed.error;
    if (err !== undefined && typeof err.code === 'string' && err.code in ERROR_STATUS && typeof err.message === 'string') {
      const code = err.code as ErrorCode;
      if (ERROR_STATUS[code] === status || (status >= 400 && status < 500 && ERROR_STATUS[code] < 500)) {
        const details = typeof err.details === 'object' && err.details !== null ? err.details : undefined;
        return new ApiError(code, err.message, typeof err.field === 'string' ? err.field : undefined, details);
      }
    }
  } catch {
    // Not our error shape: reported as a backend error below.
  }
  return new ApiError('BACKEND_ERROR', `The ${backendName} answered ${status} with an unexpected body.`);
}

/**
 * A model server 5xx other than 503: its own code when it names what went wrong with the model's answer
 * (NON_FINITE_OUTPUT), BACKEND_ERROR otherwise.
 */
export function serverError(status: number, body: string, backendName: string): ApiError {
  const passed = passOnClientError(status, body, backendName);
  if (passed.code === 'NON_FINITE_OUTPUT') return passed;
  return new ApiError('BACKEND_ERROR', `The ${backendName} answered ${status}.`);
}

/** A 503 from the model server: still loading the model, or overloaded. */
export function unavailable(status: number, body: string, backendName: string): ApiError {
  const passed = passOnClientError(status, body, backendName);
  if (passed.code === 'MODEL_LOADING') return passed;
  return new ApiError('BACKEND_UNAVAILABLE', `The ${backendName} is unavailable (${status}); retry shortly.`);
}

/**
 * The error for the model server's non-2xx answer, whichever backend carried it (SageMaker wraps the
 * container's answer in a ModelError with the original status and body).
 */
export function modelAnswerError(status: number, body: string, backendName: string): ApiError {
  if (status === 503) return unavailable(status, body, backendName);
  // The model server gave up at the deadline it was given.
  if (status === 504) return new ApiError('BACKEND_TIMEOUT', `The ${backendName} did not answer before the request deadline.`);
  if (status >= 400 && status < 500) return passOnClientError(status, body, backendName);
  return serverError(status, body, backendName);
}

/**
 * Checks the model's answer has the shape and count the API promises its callers, and the shadow
 * version's outcome when `shadow` named one: a missing or malformed one becomes that shadow's
 * BACKEND_ERROR, never a failed request.
 */
export function parseInvocationResponse(raw: string, expected: number, backendName: string, shadow?: string): BackendAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ApiError('BACKEND_ERROR', `The ${backendName} answered with a body that is not JSON.`);
  }
  const r = parsed as Partial<BackendAnswer>;
  if (!Array.isArray(r.predictions) || typeof r.model?.name !== 'string' || typeof r.model?.version !== 'string') {
    throw new ApiError('BACKEND_ERROR', `The ${backendName} answered without "predictions" and "model".`);
  }
  if (r.predictions.length !== expected) {
    throw new ApiError('BACKEND_ERROR', `The ${backendName} answered ${r.predictions.length} predictions for ${expected} instances.`);
  }
  const answer = { predictions: r.predictions, model: r.model };
  return shadow === undefined ? answer : { ...answer, shadow: shadowOf(r.shadow, shadow, expected) };
}

/** The shadow's outcome as answered when it has the shape and count asked for, else its BACKEND_ERROR. */
function shadowOf(raw: unknown, version: string, expected: number): ShadowAnswer {
  const s = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<'version' | 'ms' | 'predictions' | 'error', unknown>>;
  const ms = typeof s.ms === 'number' && Number.isFinite(s.ms) && s.ms >= 0 ? s.ms : undefined;
  if (s.version === version && ms !== undefined) {
    if (s.error === undefined && Array.isArray(s.predictions) && s.predictions.length === expected)
      return { version, ms, predictions: s.predictions };
    if (s.predictions === undefined && typeof s.error === 'string' && s.error !== '') return { version, ms, error: s.error };
  }
  return { version, ms: ms ?? 0, error: 'BACKEND_ERROR' };
}
