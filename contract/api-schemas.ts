/**
 * The API's request and response shapes as zod schemas: the response types the handlers use
 * (`contract/prediction.ts`, `contract/prediction-log.ts`) narrowed to the served model (its features and
 * labels), the limits the handlers enforce, and the error codes each route can answer. The OpenAPI
 * document (`lambda/http/openapi.ts`) is generated from them with `z.toJSONSchema`.
 */
import * as z from 'zod/mini';
import { baselineSchema, MODEL_INFO_BASELINE_FIELD } from './baseline';
import { ERROR_STATUS, type ErrorCode } from './errors';
import { BACKENDS, LIMITS } from './limits';
import {
  BASE64,
  FLOAT32_ROUNDS_FINITE_BELOW,
  MAX_STRING_FEATURE,
  type ModelManifest,
  manifestSchema,
  S3_KEY,
  type TabularInput,
} from './manifest';
import { modelRefSchema } from './prediction';
import {
  metricsSummarySchema,
  predictionPageSchema,
  predictionRecordSchema,
  SHADOW_DESCRIPTION,
  shadowOutcomeSchema,
} from './prediction-log';
import { inputMetadata, DATATYPES as OIP_DATATYPES, outputMetadata } from './protocols/open-inference';
import { feedbackRequestSchema, PARAMETERS } from './route-schemas';
import type { RouteSpec } from './routes';

// ---- errors ----------------------------------------------------------------------------------------

export const errorBodySchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    field: z.optional(z.string().check(z.describe('The offending field, header or query parameter.'))),
    details: z.optional(
      z
        .record(z.string(), z.unknown())
        .check(z.describe('Machine-readable facts of some errors (FEEDBACK_EXISTS: the feedback in force).')),
    ),
  }),
});

/** Input errors a tabular or image instance can fail with (in the API or passed on by the model server). */
const INSTANCE_ERRORS: ErrorCode[] = [
  'EMPTY_INSTANCES',
  'TOO_MANY_INSTANCES',
  'WRONG_FEATURE_COUNT',
  'MISSING_FEATURE',
  'UNKNOWN_FEATURE',
  'INVALID_FEATURE_TYPE',
  'UNKNOWN_CATEGORY',
  'NON_FINITE_NUMBER',
  'NUMBER_OUT_OF_RANGE',
  'INVALID_IMAGE',
  'IMAGE_TOO_LARGE',
  'INVALID_CSV',
  'INVALID_S3_KEY',
  'S3_ACCESS_DENIED',
  'S3_OBJECT_NOT_FOUND',
];

/** What `POST /predict` can answer besides 200. */
const PREDICT_ERRORS: ErrorCode[] = [
  'INVALID_JSON',
  'INVALID_BODY',
  ...INSTANCE_ERRORS,
  'INVALID_HEADER',
  'IDEMPOTENCY_CONFLICT',
  'UNKNOWN_MODEL_VERSION',
  'NOT_ACCEPTABLE',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NON_FINITE_OUTPUT',
  'BACKEND_ERROR',
  'BACKEND_UNAVAILABLE',
  'MODEL_LOADING',
  'MODEL_VERSION_MISMATCH',
  'STORAGE_UNAVAILABLE',
  'BACKEND_TIMEOUT',
];

/** The Open Inference Protocol's inference routes: `POST /predict`'s errors (JSON answers only), and 404 for a model not served. */
const INFER_ERRORS: ErrorCode[] = [...PREDICT_ERRORS.filter((c) => c !== 'NOT_ACCEPTABLE'), 'NOT_FOUND'];

/** What each route's function can answer besides 200 (the gateway adds `GATEWAY_ERRORS`). */
export const ROUTE_ERRORS: Readonly<Record<string, readonly ErrorCode[]>> = {
  predict: PREDICT_ERRORS,
  listPredictions: ['INVALID_QUERY', 'INVALID_CURSOR', 'STORAGE_UNAVAILABLE'],
  getPrediction: ['INVALID_ID', 'NOT_FOUND', 'STORAGE_UNAVAILABLE'],
  postFeedback: [
    'INVALID_ID',
    'INVALID_JSON',
    'INVALID_BODY',
    'INVALID_LABEL',
    'NOT_FOUND',
    'FEEDBACK_EXISTS',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
    'STORAGE_UNAVAILABLE',
  ],
  metricsSummary: ['INVALID_QUERY', 'ANALYTICS_OFF', 'STORAGE_UNAVAILABLE', 'ANALYTICS_UNAVAILABLE', 'ANALYTICS_TIMEOUT'],
  getModel: [],
  health: [],
  openapi: [],
  dashboard: ['NOT_FOUND'],
  dashboardFile: ['NOT_FOUND'],
  v2Live: [],
  v2Ready: [],
  v2Model: ['NOT_FOUND'],
  v2ModelVersion: ['NOT_FOUND'],
  v2ModelReady: ['NOT_FOUND'],
  v2ModelVersionReady: ['NOT_FOUND'],
  v2Infer: INFER_ERRORS,
  v2InferVersion: INFER_ERRORS,
};

/** API Gateway's own answers on any route: throttling, a function that failed or did not answer in time. */
export const GATEWAY_ERRORS: readonly ErrorCode[] = ['THROTTLED', 'INTERNAL', 'BACKEND_TIMEOUT'];

/** Every error code `route` can answer, by HTTP status. */
export function routeErrorsByStatus(route: RouteSpec): Map<number, ErrorCode[]> {
  const codes = new Set<ErrorCode>([
    ...(ROUTE_ERRORS[route.id] ?? []),
    ...GATEWAY_ERRORS,
    ...(route.apiKey ? (['FORBIDDEN'] as const) : []),
  ]);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return new Map([...byStatus].sort((a, b) => a[0] - b[0]));
}

const pattern = (re: RegExp) => z.regex(new RegExp(re.source));

// ---- the served model's instances, predictions and records ------------------------------------------

type Feature = TabularInput['features'][number];

/** The JSON value of one feature, by its manifest type (a new feature type needs its case here). */
export function featureValueSchema(feature: Feature) {
  const type = feature.type;
  switch (type) {
    case 'float':
      // Every number that rounds to a finite float32.
      return z.number().check(z.gt(-FLOAT32_ROUNDS_FINITE_BELOW), z.lt(FLOAT32_ROUNDS_FINITE_BELOW));
    case 'int':
      return z.int();
    case 'double':
      return z.number();
    case 'string':
      return feature.values ? z.enum(feature.values as [string, ...string[]]) : z.string().check(z.maxLength(MAX_STRING_FEATURE));
    case 'bool':
      return z.boolean();
    default: {
      const unknownType: never = type;
      throw new Error(`No JSON Schema for feature type ${String(unknownType)}`);
    }
  }
}

/** A feature's value in a request: a nullable feature also takes a missing value, `null` or `"NaN"` (see `isMissingValue`). */
function sentValueSchema(feature: Feature) {
  const value = featureValueSchema(feature);
  return feature.nullable === true ? z.union([value, z.null(), z.literal('NaN')]) : value;
}

const s3Reference = z.object({
  s3Key: z
    .string()
    .check(pattern(S3_KEY), z.describe('An object under datasets/ or predictions/ in the data bucket holding one instance as JSON.')),
});

/** A tabular instance as an object keyed by feature name. */
function namedInstanceSchema(input: TabularInput) {
  return z.object(
    Object.fromEntries(
      input.features.map((f) => [f.name, f.description ? sentValueSchema(f).check(z.describe(f.description)) : sentValueSchema(f)]),
    ),
  );
}

/** One instance of `POST /predict` for this model: its features (or image), or an S3 reference. */
export function instanceSchema(m: ModelManifest) {
  if (m.input.kind === 'tabular') {
    const features = m.input.features;
    const row = z
      .tuple(features.map(sentValueSchema) as [ReturnType<typeof sentValueSchema>])
      .check(z.describe(`Feature values in manifest order: ${features.map((f) => f.name).join(', ')}.`));
    return z.union([row, namedInstanceSchema(m.input), s3Reference]);
  }
  const { width, height, channels } = m.input;
  const base64 = z.string().check(z.minLength(4), pattern(BASE64), z.describe('A PNG or JPEG file, base64-encoded.'));
  const pixels = z
    .array(z.union([z.number(), z.array(z.union([z.number(), z.array(z.number())]))]))
    .check(
      z.describe(
        `${width * height * channels} preprocessed pixel values, flat or nested as [${height}][${width}]${channels > 1 ? `[${channels}]` : ''}.`,
      ),
    );
  return z.union([base64, z.object({ b64: base64 }), pixels, s3Reference]);
}

/** `{"instances": [...]}` of `instance`s (`instanceSchema(manifest)`). */
export function predictRequestSchema(instance: ReturnType<typeof instanceSchema>) {
  return z.object({ instances: z.array(instance).check(z.minLength(1), z.maxLength(LIMITS.maxInstancesPerRequest)) });
}

/** MLflow's and TF-Serving's `{"inputs": …}`: rows like `instances`, or (tabular) one array of values per feature. */
export function inputsRequestSchema(m: ModelManifest, instance: ReturnType<typeof instanceSchema>) {
  const rows = z.array(instance).check(z.minLength(1), z.maxLength(LIMITS.maxInstancesPerRequest));
  if (m.input.kind !== 'tabular') return z.object({ inputs: rows });
  const columns = z
    .object(
      Object.fromEntries(
        m.input.features.map((f) => [
          f.name,
          z.array(featureValueSchema(f)).check(z.minLength(1), z.maxLength(LIMITS.maxInstancesPerRequest)),
        ]),
      ),
    )
    .check(z.describe('Columns: one array per feature, all of one length (an instance per position).'));
  return z.object({ inputs: z.union([rows, columns]) });
}

/** pandas' split orient (`dataframe_split`), as MLflow clients send a DataFrame: columns in any order. */
export function dataframeSplitRequestSchema(input: TabularInput) {
  const names = input.features.map((f) => f.name) as [string, ...string[]];
  const cell = z.union(input.features.map(featureValueSchema) as [ReturnType<typeof featureValueSchema>]);
  return z.object({
    dataframe_split: z.object({
      columns: z.array(z.enum(names)).check(z.describe('Every feature name once, in any order.')),
      data: z
        .array(z.array(cell).check(z.describe('One value per column, in the order of `columns`.')))
        .check(z.minLength(1), z.maxLength(LIMITS.maxInstancesPerRequest)),
      index: z.optional(z.array(z.union([z.string(), z.number()])).check(z.describe('Row labels (not used).'))),
    }),
  });
}

/** pandas' records orient (`dataframe_records`): one object per instance, keyed by feature name. */
export function dataframeRecordsRequestSchema(named: z.core.$ZodType) {
  return z.object({ dataframe_records: z.array(named).check(z.minLength(1), z.maxLength(LIMITS.maxInstancesPerRequest)) });
}

/** The model's answer for one instance, with this model's labels. */
export function modelPredictionSchema(m: ModelManifest) {
  if (m.output.kind === 'classification') {
    const labels = m.output.labels as [string, ...string[]];
    return z.object({
      label: z.enum(labels),
      probabilities: z.object(Object.fromEntries(labels.map((l) => [l, z.number().check(z.minimum(0), z.maximum(1))]))),
    });
  }
  return z.object({ value: z.number() });
}

export function predictResponseSchema(m: ModelManifest) {
  return z.object({ predictions: z.array(z.extend(modelPredictionSchema(m), { id: PARAMETERS.id })), model: modelRefSchema });
}

/** A logged prediction of this model: the log's record with the model's own labels and feature types. */
export function modelPredictionRecordSchema(m: ModelManifest) {
  const classifier = m.output.kind === 'classification';
  const label = classifier
    ? z.enum((m.output as { labels: string[] }).labels as [string, ...string[]])
    : z
        .union([z.number(), z.string()])
        .check(z.describe('The true value sent (predictions fed back before numeric feedback hold it as decimal text).'));
  const feedback = z.object({ label, givenAt: z.string(), apiKeyId: z.optional(z.string()) });
  // A missing value of a nullable feature is logged as null.
  type Value = ReturnType<typeof featureValueSchema> | z.ZodMiniNull;
  const values =
    m.input.kind === 'tabular'
      ? z.array(
          z.union([
            ...m.input.features.map(featureValueSchema),
            ...(m.input.features.some((f) => f.nullable === true) ? [z.null()] : []),
          ] as [Value, ...Value[]]),
        )
      : z.array(z.number());
  return z.extend(predictionRecordSchema, {
    inputValues: z.optional(values),
    ...(classifier ? { label: z.optional(label) } : {}),
    // A challenger stands beside the model only with the same labels (synth checks it).
    ...(classifier
      ? { shadow: z.optional(z.extend(shadowOutcomeSchema, { label: z.optional(label) }).check(z.describe(SHADOW_DESCRIPTION))) }
      : {}),
    feedback: z.optional(feedback),
    feedbackHistory: z.optional(z.array(feedback)),
  });
}

/** A page of `GET /predictions` holding `record`s. */
export function modelPredictionPageSchema(record: ReturnType<typeof modelPredictionRecordSchema>) {
  return z.extend(predictionPageSchema, { items: z.array(record) });
}

export { metricsSummarySchema };

// ---- the Open Inference Protocol (V2) ----------------------------------------------------------------

const parametersSchema = z.record(z.string(), z.unknown()).check(z.describe('Protocol parameters (not used).'));
const tensorMetadataSchema = z.object({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.int()).check(z.describe('Dimensions; -1 is the batch (instances).')),
});

/** An inference request to model `m`: its tensors (`contract/protocols/open-inference.ts` reads them). */
export function inferenceRequestSchema(m: ModelManifest) {
  const inputs = inputMetadata(m);
  return z.object({
    id: z.optional(z.string().check(z.describe('Echoed in the answer.'))),
    parameters: z.optional(parametersSchema),
    inputs: z
      .array(
        z.object({
          name: z
            .string()
            .check(z.describe(`The input tensor: ${inputs.map((i) => `${i.name} ${i.datatype} [${i.shape.join(', ')}]`).join('; ')}.`)),
          shape: z.array(z.int().check(z.minimum(0))).check(z.minLength(1)),
          datatype: z.enum(Object.keys(OIP_DATATYPES) as [string, ...string[]]),
          parameters: z.optional(parametersSchema),
          data: z.array(z.unknown()).check(z.describe('Values in row-major order, flat or nested.')),
        }),
      )
      .check(z.minLength(1)),
    outputs: z.optional(
      z.array(
        z.object({ name: z.enum(outputMetadata(m).map((o) => o.name) as [string, ...string[]]), parameters: z.optional(parametersSchema) }),
      ),
    ),
  });
}

export const inferenceResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.optional(z.string()),
  parameters: z.object({ prediction_ids: z.array(PARAMETERS.id).check(z.describe('The id each instance is logged under, in order.')) }),
  outputs: z.array(
    z.extend(tensorMetadataSchema, { data: z.array(z.union([z.number(), z.string()])), parameters: z.optional(parametersSchema) }),
  ),
});

export const modelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.literal('onnx'),
  inputs: z.array(tensorMetadataSchema),
  outputs: z.array(tensorMetadataSchema),
});

/** The protocol's error body, with the API's stable code and field beside its message. */
export const inferenceErrorSchema = z.object({
  error: z.string(),
  code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
  field: z.optional(z.string()),
});

export const serverLiveSchema = z.object({ live: z.literal(true) });
export const readySchema = z.object({ ready: z.literal(true), name: z.optional(z.string()), version: z.optional(z.string()) });

export const healthSchema = z.object({ status: z.literal('ok'), model: modelRefSchema, backend: z.enum(BACKENDS) });

/** `GET /model`: the manifest, the backend, and the drift baseline when the model has one. */
export const modelInfoSchema = z.extend(manifestSchema, {
  backend: z.enum(BACKENDS),
  [MODEL_INFO_BASELINE_FIELD]: z.optional(baselineSchema),
});

/**
 * The request and answer schemas of model `m`, by the name the OpenAPI document gives them, built together
 * so that one refers to another as the same object (a reference in the document, not a copy).
 */
export function modelSchemas(m: ModelManifest) {
  const instance = instanceSchema(m);
  const record = modelPredictionRecordSchema(m);
  return {
    Error: errorBodySchema,
    Instance: instance,
    PredictRequest: predictRequestSchema(instance),
    InputsRequest: inputsRequestSchema(m, instance),
    ...(m.input.kind === 'tabular'
      ? {
          DataframeSplitRequest: dataframeSplitRequestSchema(m.input),
          DataframeRecordsRequest: dataframeRecordsRequestSchema(namedInstanceSchema(m.input)),
        }
      : {}),
    PredictResponse: predictResponseSchema(m),
    PredictionRecord: record,
    PredictionPage: modelPredictionPageSchema(record),
    Feedback: feedbackRequestSchema(m),
    MetricsSummary: metricsSummarySchema,
    InferenceRequest: inferenceRequestSchema(m),
    InferenceResponse: inferenceResponseSchema,
    InferenceError: inferenceErrorSchema,
    ModelMetadata: modelMetadataSchema,
    ServerLive: serverLiveSchema,
    Ready: readySchema,
    ModelInfo: modelInfoSchema,
    Health: healthSchema,
  } as const;
}

export type ModelSchemas = ReturnType<typeof modelSchemas>;

/** The bodies `POST /predict` takes as JSON for model `m`, by component name (one of them per request). */
export function predictBodyComponents(m: ModelManifest): (keyof ModelSchemas)[] {
  return m.input.kind === 'tabular'
    ? ['PredictRequest', 'InputsRequest', 'DataframeSplitRequest', 'DataframeRecordsRequest']
    : ['PredictRequest', 'InputsRequest'];
}
