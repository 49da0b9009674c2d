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
  const model =
    backend === 'sagemaker-serverless' ? SERVICE_LIMITS.sagemakerServerlessPayloadBytes : SERVICE_LIMITS.sagemakerRealtimePayloadBytes;
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
  /**
   * Every attempt of one model call together (a serverless endpoint's cold start may use all of it in one
   * attempt): API Gateway's 29 s less the time validation, the log write and the answer need.
   */
  backendBudgetMs: 25_000,
  /** Prediction log writes: attempts and first backoff before the record goes to the dead-letter queue. */
  logWriteMaxAttempts: 4,
  logWriteBaseDelayMs: 50,
  /**
   * Deliveries of one dead-lettered record after which replay stops retrying and parks it in the bucket
   * (below the queue's own redrive count, which stays a backstop for when parking fails).
   */
  replayMaxReceives: 4,
  /** The log dead-letter queue's redrive count to its own dead-letter queue. */
  logDlqMaxReceives: 6,
  /** `POST /predictions/{id}/feedback` bodies are one small object. */
  maxFeedbackBodyBytes: 4096,
  /** `GET /predictions` page size. */
  defaultPageSize: 50,
  maxPageSize: 200,
  /** Model server micro-batching defaults. */
  defaultMaxBatchSize: 64,
  defaultMaxBatchDelayUs: 500,
  /** Idempotency keys: printable ASCII, bounded. */
  maxIdempotencyKeyLength: 128,
  /**
   * Deepest JSON nesting accepted (checked before parsing): `{"instances": [[[[v]]]]}` needs 5, so
   * anything near this is an attack, and refusing it early keeps the parser and validators bounded.
   */
  maxJsonDepth: 32,
  /**
   * Content codings one request body may list (identity aside): API Gateway decompresses one supported
   * coding, so a stack of them (`gzip, gzip, …`) is refused with 415 before any is decoded.
   */
  maxContentCodings: 1,
  /**
   * Analytics queries of the summary's long windows: the first wait before asking whether the query is
   * done, growing by half each time up to the last, and the time kept before the caller's deadline to
   * stop the query and answer 504 instead of letting API Gateway cut the connection.
   */
  analyticsPollFirstMs: 100,
  analyticsPollMaxMs: 1_000,
  analyticsAnswerMarginMs: 1_500,
  /**
   * How long the query function reuses a long window's answer (per window start day): the dashboard
   * refreshes every 10 s, and the store itself trails the log by up to the stream's 60 s batching window,
   * so a minute-old answer is about as fresh, at a sixth of the Athena queries.
   */
  analyticsAnswerCacheMs: 60_000,
} as const;

/**
 * Decoded-image budgets, derived from the model's own input size so that a request's decoding work is
 * bounded by what the model needs, not by what the file claims:
 * - one image may have up to `sideMargin` times the model's width and height (so up to sideMargin²
 *   times its pixels), but never less than `floorPixels` (a phone photo of an 8×8 digit model still
 *   decodes) and never a side above `maxSide`;
 * - all images of one request together may decode `requestImages` images of that size.
 * A PNG is inflated to at most the bytes its header implies for that budget, and a JPEG decoder gets a
 * memory cap of `jpegBytesPerPixel` per budgeted pixel.
 */
export const IMAGE_LIMITS = {
  sideMargin: 16,
  floorPixels: 1024 * 1024,
  maxSide: 4096,
  requestImages: 4,
  jpegBytesPerPixel: 24,
  /** Scans in one progressive JPEG (each is a pass over the whole image). */
  maxJpegScans: 64,
} as const;

/** Most pixels one decoded image may have, for a model taking `width`×`height` images. */
export function maxImagePixels(width: number, height: number): number {
  const m = IMAGE_LIMITS.sideMargin;
  const side = IMAGE_LIMITS.maxSide;
  return Math.min(side * side, Math.max(IMAGE_LIMITS.floorPixels, width * m * height * m));
}

/** Most pixels all images of one request may decode together. */
export function maxRequestPixels(width: number, height: number): number {
  return maxImagePixels(width, height) * IMAGE_LIMITS.requestImages;
}

/**
 * Formats the API checks, written once for the handlers and the OpenAPI document (JSON Schema patterns
 * use the same regular expressions).
 */
export const FORMATS = {
  /** Prediction ids: 26 characters of Crockford base32 (the ULID layout). */
  predictionId: /^[0-9A-HJKMNP-TV-Z]{26}$/,
  /** `GET /metrics/summary?window=`: a count of minutes, hours or days, at most `maxSummaryWindowDays`. */
  summaryWindow: /^([1-9]\d{0,3})(m|h|d)$/,
  maxSummaryWindowDays: 90,
  /**
   * Windows up to this many hours are summarized from the prediction log (a bounded read of its index);
   * longer ones from the analytics store, over whole UTC days.
   */
  maxLogSummaryWindowHours: 24,
  /** `from` / `to` of `GET /predictions`: an ISO 8601 date, or date and time with a zone. */
  isoTime: /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/,
  /** `Idempotency-Key`: printable ASCII without spaces, 1 to `LIMITS.maxIdempotencyKeyLength` characters. */
  idempotencyKey: /^[\x21-\x7e]+$/,
  /** `GET /predictions?version=`: 1 to 64 characters. */
  maxVersionLength: 64,
} as const;
