/** Payload, batch and timing limits, in one place for the API, the model server and the local gateway. */
const MB = 1024 * 1024;

/** Backends the kit deploys a model to. */
export const BACKENDS = ['fargate', 'sagemaker', 'sagemaker-serverless'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Hard limits of the AWS services on the request path. */
export const SERVICE_LIMITS = {
  apiGatewayPayloadBytes: 10 * MB,
  apiGatewayIntegrationTimeoutMs: 29_000,
  lambdaSyncPayloadBytes: 6 * MB,
  sagemakerRealtimePayloadBytes: 6 * MB,
  sagemakerServerlessPayloadBytes: 4 * MB,
  sagemakerInvocationTimeoutMs: 60_000,
  dynamoItemBytes: 400 * 1024,
} as const;

/** Room kept for the API Gateway event envelope (headers, request context) inside Lambda's 6 MB. */
const LAMBDA_ENVELOPE_BYTES = 256 * 1024;

/** Largest `POST /predict` body accepted for a backend: above it the API answers 413 before calling the model. */
export function maxPredictBodyBytes(backend: Backend): number {
  const lambda = SERVICE_LIMITS.lambdaSyncPayloadBytes - LAMBDA_ENVELOPE_BYTES;
  const model = backend === 'sagemaker-serverless' ? SERVICE_LIMITS.sagemakerServerlessPayloadBytes : SERVICE_LIMITS.sagemakerRealtimePayloadBytes;
  return Math.min(lambda, model);
}

export const LIMITS = {
  /** Instances in one `POST /predict` (each is logged as its own item). */
  maxInstancesPerRequest: 100,
  /** Rows in one `POST /invocations` to the model server (batch transform sends many lines at once). */
  maxRowsPerInvocation: 100_000,
  /** Model server body limit: SageMaker real-time's own payload limit. */
  maxInvocationBodyBytes: SERVICE_LIMITS.sagemakerRealtimePayloadBytes,
  /** Inputs larger than this (serialized JSON) are stored under `predictions/` and the log keeps the key. */
  maxInlineInputBytes: 4 * 1024,
  /** One backend attempt; two attempts plus backoff stay under API Gateway's 29 s. */
  backendAttemptTimeoutMs: 12_000,
  backendMaxAttempts: 2,
  /** Prediction log writes: attempts and first backoff before the record goes to the dead-letter queue. */
  logWriteMaxAttempts: 4,
  logWriteBaseDelayMs: 50,
  /** `GET /predictions` page size. */
  defaultPageSize: 50,
  maxPageSize: 200,
  /** Model server micro-batching defaults. */
  defaultMaxBatchSize: 64,
  defaultMaxBatchDelayUs: 500,
  /** Idempotency keys: printable ASCII, bounded. */
  maxIdempotencyKeyLength: 128,
} as const;

/**
 * Formats the API checks, written once for the handlers and the OpenAPI document (JSON Schema patterns
 * use the same regular expressions).
 */
export const FORMATS = {
  /** Prediction ids: 26 characters of Crockford base32 (the ULID layout). */
  predictionId: /^[0-9A-HJKMNP-TV-Z]{26}$/,
  /** `GET /metrics/summary?window=`: a count of minutes, hours or days, at most `maxSummaryWindowDays`. */
  summaryWindow: /^([1-9]\d{0,3})(m|h|d)$/,
  maxSummaryWindowDays: 30,
  /** `from` / `to` of `GET /predictions`: an ISO 8601 date, or date and time with a zone. */
  isoTime: /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/,
  /** `Idempotency-Key`: printable ASCII without spaces, 1 to `LIMITS.maxIdempotencyKeyLength` characters. */
  idempotencyKey: /^[\x21-\x7e]+$/,
  /** `GET /predictions?version=`: 1 to 64 characters. */
  maxVersionLength: 64,
} as const;
