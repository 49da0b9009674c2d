/**
 * Stable error codes of the HTTP surface (API handlers, local gateway, model server).
 * Every error body is `{"error": {"code", "message", "field"?}}`; clients branch on `code`, never on text.
 */
export const ERROR_STATUS = {
  INVALID_JSON: 400,
  INVALID_BODY: 400,
  EMPTY_INSTANCES: 400,
  TOO_MANY_INSTANCES: 400,
  WRONG_FEATURE_COUNT: 400,
  MISSING_FEATURE: 400,
  UNKNOWN_FEATURE: 400,
  INVALID_FEATURE_TYPE: 400,
  UNKNOWN_CATEGORY: 400,
  NON_FINITE_NUMBER: 400,
  /** A float64 feature the prediction log could not keep exactly (DynamoDB's number range). */
  NUMBER_OUT_OF_RANGE: 400,
  INVALID_IMAGE: 400,
  IMAGE_TOO_LARGE: 400,
  INVALID_CSV: 400,
  INVALID_S3_KEY: 400,
  S3_ACCESS_DENIED: 403,
  S3_OBJECT_NOT_FOUND: 404,
  INVALID_QUERY: 400,
  /** A summary window the log does not cover (over 24 h) on a deployment without the analytics store. */
  ANALYTICS_OFF: 400,
  INVALID_CURSOR: 400,
  INVALID_ID: 400,
  INVALID_LABEL: 400,
  INVALID_HEADER: 400,
  MALFORMED_REQUEST: 400,
  /** No valid bearer token on a route that asks for one (auth mode `jwt`, docs/auth.md). */
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  /** A pinned model version (`x-mlship-model-version`) that is not hosted; `details.versions` lists those that are. */
  UNKNOWN_MODEL_VERSION: 404,
  REQUEST_TIMEOUT: 408,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  /** An `Expect` header other than `100-continue`. */
  EXPECTATION_FAILED: 417,
  IDEMPOTENCY_CONFLICT: 409,
  FEEDBACK_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  THROTTLED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  /** A transfer coding besides `chunked` (`Transfer-Encoding: gzip, chunked`): RFC 9112 asks for 501. */
  UNSUPPORTED_TRANSFER_ENCODING: 501,
  /** The model answered NaN or Infinity for an instance: no prediction is made from it. */
  NON_FINITE_OUTPUT: 500,
  BACKEND_ERROR: 502,
  BACKEND_UNAVAILABLE: 503,
  MODEL_LOADING: 503,
  /** The model server answered as a model version the API was not configured with (a model update is under way). */
  MODEL_VERSION_MISMATCH: 503,
  STORAGE_UNAVAILABLE: 503,
  /** The analytics engine (Athena) refused or failed the query. */
  ANALYTICS_UNAVAILABLE: 503,
  BACKEND_TIMEOUT: 504,
  /** The analytics query did not finish before the caller's deadline (it is stopped). */
  ANALYTICS_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Seconds a caller should wait before retrying, sent as `Retry-After` with these codes. */
export const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = {
  /** About the time the Api stack's update takes to give the predict function the new manifest. */
  MODEL_VERSION_MISMATCH: 30,
};

export interface ErrorBody {
  /** `details`: machine-readable facts of some errors (e.g. FEEDBACK_EXISTS carries the existing feedback). */
  error: { code: ErrorCode; message: string; field?: string; details?: Record<string, unknown> };
}

/** An error meant for the caller: it carries its stable code, HTTP status and the offending field. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field !== undefined ? { field: this.field } : {}),
        ...(this.details !== undefined ? { details: this.details } : {}),
      },
    };
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

/**
 * What was thrown, read as an error when it looks like one. Duck-typed rather than `instanceof Error`:
 * errors from another realm (a worker, a vm context such as jest's) are not instances of this one's Error.
 */
function asError(e: unknown): { message: string; stack?: unknown } | undefined {
  return typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string'
    ? (e as { message: string; stack?: unknown })
    : undefined;
}

/** The message of anything thrown: an error's message, anything else as text. */
export function errorMessage(e: unknown): string {
  return asError(e)?.message ?? String(e);
}

/** The stack of anything thrown (its message when it has none), anything else as text: for logs. */
export function errorStack(e: unknown): string {
  const err = asError(e);
  if (err === undefined) return String(e);
  return typeof err.stack === 'string' ? err.stack : err.message;
}

/** The `code` of a Node system error (`ENOENT`, `EADDRINUSE`, …), or undefined. */
export function errorCode(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
