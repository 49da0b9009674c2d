/**
 * The model manifest (`model.json` beside the ONNX file) and the validation of prediction instances
 * against it. The model server, the API handlers, the batch mode and the CDK app all read the manifest
 * through this module, so an instance the API accepts is one the model server accepts.
 */
// zod/mini: the same validator as zod with a functional API that bundles small and loads fast, which
// matters here because every Lambda handler and the model server parse a manifest at cold start.
import * as z from 'zod/mini';
import { ApiError } from './errors';
import { LIMITS } from './limits';
import './zod-messages';

const name = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, starting with a letter or digit (max 63)'));
/** Length bounds of a string or an array. */
const between = (min: number, max: number) => [z.minLength(min), z.maxLength(max)] as const;
const text = (min: number, max = 1024) => z.string().check(...between(min, max));

const feature = z.object({
  name: text(1, 128),
  type: z.enum(['float', 'int']),
  description: z.optional(z.string()),
});

const tabularInput = z.object({
  kind: z.literal('tabular'),
  features: z.array(feature).check(...between(1, 10_000)),
});

const dimension = z.int().check(z.minimum(1), z.maximum(4096));

const imageInput = z.object({
  kind: z.literal('image'),
  width: dimension,
  height: dimension,
  channels: z.union([z.literal(1), z.literal(3)]),
  /**
   * Pixel preprocessing for encoded images (PNG/JPEG): value = (pixel * scale - mean[c]) / std[c],
   * pixel in 0..255; `invert` first maps pixel to 255 - pixel (dark ink on light paper).
   * Numeric arrays sent as instances are taken as already preprocessed.
   */
  preprocess: z._default(
    z.object({
      scale: z.number().check(z.positive()),
      mean: z.array(z.number()).check(...between(1, 3)),
      std: z.array(z.number().check(z.positive())).check(...between(1, 3)),
      invert: z._default(z.boolean(), false),
    }),
    { scale: 1 / 255, mean: [0], std: [1], invert: false },
  ),
  /** Tensor layout the ONNX model takes: flat rows, or NCHW / NHWC. */
  layout: z._default(z.enum(['flat', 'NCHW', 'NHWC']), 'flat'),
});

const classificationOutput = z.object({
  kind: z.literal('classification'),
  labels: z.array(text(1, 128)).check(...between(2, 10_000)),
  /** ONNX output holding class probabilities, shape [N, labels.length]. */
  tensor: text(1),
});

const regressionOutput = z.object({
  kind: z.literal('regression'),
  /** ONNX output holding the predicted value, shape [N] or [N, 1]. */
  tensor: text(1),
  unit: z.optional(z.string()),
});

export const manifestSchema = z.object({
  name,
  version: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, dots, dashes and underscores (max 64)')),
  description: z.optional(z.string()),
  /** ONNX file name inside the model directory. */
  file: z.string().check(z.regex(/^[A-Za-z0-9._-]+\.onnx$/, 'a file name ending in .onnx')),
  /** ONNX input tensor name. */
  inputTensor: text(1),
  input: z.discriminatedUnion('kind', [tabularInput, imageInput]),
  output: z.discriminatedUnion('kind', [classificationOutput, regressionOutput]),
  /** Optional training facts shown by `GET /model` (data source, metrics). */
  training: z.optional(z.record(z.string(), z.unknown())),
});

export type ModelManifest = z.output<typeof manifestSchema>;
export type TabularInput = z.output<typeof tabularInput>;
export type ImageInput = z.output<typeof imageInput>;

export const MANIFEST_FILE = 'model.json';

/** Parses and checks a manifest; the error lists every problem with its path. */
export function parseManifest(raw: unknown, source = MANIFEST_FILE): ModelManifest {
  const result = manifestSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`Invalid model manifest ${source}:\n  - ${problems.join('\n  - ')}`);
  }
  return result.data;
}

/** Number of values one instance feeds the model. */
export function featureCount(m: ModelManifest): number {
  return m.input.kind === 'tabular' ? m.input.features.length : m.input.width * m.input.height * m.input.channels;
}

/**
 * One instance as the caller sent it, after structural validation:
 * - `values`: numbers ready for the model (tabular rows, or preprocessed image arrays);
 * - `image`: an encoded image (base64 PNG/JPEG) that the model server decodes;
 * - `s3Key`: a reference to an object in the data bucket, resolved by the API before the model call.
 */
export type Instance = { values: Float32Array } | { image: string } | { s3Key: string };

export const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
export const S3_KEY = /^(datasets|predictions)\/[A-Za-z0-9!_.*'()/-]{1,1000}$/;

/**
 * Validates `{"instances": [...]}` against the manifest. Throws ApiError naming the offending field.
 * `allowS3Keys` is true in the API (which fetches the objects) and false in the model server.
 */
export function validateInstances(
  m: ModelManifest,
  body: unknown,
  opts: { maxInstances?: number; allowS3Keys?: boolean } = {},
): Instance[] {
  const maxInstances = opts.maxInstances ?? LIMITS.maxInstancesPerRequest;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('INVALID_BODY', 'The body must be a JSON object like {"instances": [...]}.');
  }
  const instances = (body as { instances?: unknown }).instances;
  if (instances === undefined) throw new ApiError('INVALID_BODY', 'Missing "instances": send {"instances": [...]}.', 'instances');
  for (const key in body) {
    // A misspelt or unsupported option must not pass silently.
    if (key !== 'instances') throw new ApiError('INVALID_BODY', `Unknown field "${key}": the body holds only "instances".`, key);
  }
  if (!Array.isArray(instances)) throw new ApiError('INVALID_BODY', '"instances" must be an array.', 'instances');
  if (instances.length === 0) throw new ApiError('EMPTY_INSTANCES', '"instances" is empty: send at least one instance.', 'instances');
  if (instances.length > maxInstances) {
    throw new ApiError('TOO_MANY_INSTANCES', `${instances.length} instances sent; at most ${maxInstances} per request.`, 'instances');
  }
  const out: Instance[] = new Array(instances.length);
  for (let i = 0; i < instances.length; i++) out[i] = validateInstance(m, instances[i], `instances[${i}]`, opts.allowS3Keys ?? false);
  return out;
}

function validateInstance(m: ModelManifest, inst: unknown, field: string, allowS3Keys: boolean): Instance {
  if (typeof inst === 'object' && inst !== null && !Array.isArray(inst)) {
    const o = inst as Record<string, unknown>;
    if ('s3Key' in o) {
      if (!allowS3Keys) throw new ApiError('INVALID_S3_KEY', 'S3 keys are resolved by the API, not by the model server.', `${field}.s3Key`);
      if (Object.keys(o).length !== 1) throw new ApiError('UNKNOWN_FEATURE', 'An S3 reference holds only "s3Key".', field);
      if (typeof o.s3Key !== 'string' || !S3_KEY.test(o.s3Key) || o.s3Key.includes('..')) {
        throw new ApiError('INVALID_S3_KEY', 's3Key must be an object key under datasets/ or predictions/ in the data bucket.', `${field}.s3Key`);
      }
      return { s3Key: o.s3Key };
    }
  }
  return m.input.kind === 'tabular' ? { values: tabularRow(m.input, inst, field) } : imageInstance(m.input, inst, field);
}

function tabularRow(input: TabularInput, inst: unknown, field: string): Float32Array {
  const features = input.features;
  const row = new Float32Array(features.length);
  if (Array.isArray(inst)) {
    if (inst.length !== features.length) {
      throw new ApiError('WRONG_FEATURE_COUNT', `Expected ${features.length} features, got ${inst.length}.`, field);
    }
    for (let j = 0; j < features.length; j++) {
      const v: unknown = inst[j];
      if (!isFeatureValue(v, features[j].type)) throw featureError(v, features[j].type, `${field}[${j}]`);
      row[j] = v;
    }
    return row;
  }
  if (typeof inst !== 'object' || inst === null) {
    throw new ApiError('INVALID_FEATURE_TYPE', 'An instance is an array of feature values or an object keyed by feature name.', field);
  }
  const o = inst as Record<string, unknown>;
  let seen = 0;
  for (let j = 0; j < features.length; j++) {
    const f = features[j];
    const v = o[f.name];
    if (v === undefined) throw new ApiError('MISSING_FEATURE', `Missing feature "${f.name}".`, `${field}.${f.name}`);
    if (!isFeatureValue(v, f.type)) throw featureError(v, f.type, `${field}.${f.name}`);
    row[j] = v;
    seen++;
  }
  const keys = Object.keys(o);
  if (keys.length !== seen) {
    const known = new Set(features.map((f) => f.name));
    const extra = keys.find((k) => !known.has(k)) ?? keys[0];
    throw new ApiError('UNKNOWN_FEATURE', `Unknown feature "${extra}".`, `${field}.${extra}`);
  }
  return row;
}

/** Beyond float32's range the model would see Infinity. */
const FLOAT32_MAX = 3.4e38;

/** The hot path of validation: a plain check, with no field name built unless there is an error. */
function isFeatureValue(v: unknown, type: 'float' | 'int'): v is number {
  return typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= FLOAT32_MAX && (type === 'float' || Number.isInteger(v));
}

/** The error naming why `v` is not a feature value of `type` (call only when `isFeatureValue` is false). */
function featureError(v: unknown, type: 'float' | 'int', field: string): ApiError {
  if (typeof v !== 'number') return new ApiError('INVALID_FEATURE_TYPE', `Expected a number (${type}), got ${describe(v)}.`, field);
  if (!Number.isFinite(v)) return new ApiError('NON_FINITE_NUMBER', 'NaN and Infinity are not valid feature values.', field);
  if (type === 'int' && !Number.isInteger(v)) return new ApiError('INVALID_FEATURE_TYPE', `Expected an integer, got ${v}.`, field);
  return new ApiError('NON_FINITE_NUMBER', `${v} is outside the float32 range.`, field);
}

function imageInstance(input: ImageInput, inst: unknown, field: string): Instance {
  const size = input.width * input.height * input.channels;
  let encoded: unknown = inst;
  if (typeof inst === 'object' && inst !== null && !Array.isArray(inst)) {
    const o = inst as Record<string, unknown>;
    if (!('b64' in o) || Object.keys(o).length !== 1) {
      throw new ApiError('INVALID_IMAGE', 'An image instance is {"b64": "<base64 PNG or JPEG>"}, a base64 string, an array of pixel values or {"s3Key": "datasets/..."}.', field);
    }
    encoded = o.b64;
    field = `${field}.b64`;
  }
  if (typeof encoded === 'string') {
    if (encoded.length === 0 || encoded.length % 4 !== 0 || !BASE64.test(encoded)) {
      throw new ApiError('INVALID_IMAGE', 'Not valid base64.', field);
    }
    return { image: encoded };
  }
  if (Array.isArray(encoded)) {
    const flat = (encoded as unknown[]).flat(2);
    if (flat.length !== size) {
      throw new ApiError('WRONG_FEATURE_COUNT', `Expected ${size} pixel values (${input.height}x${input.width}x${input.channels}), got ${flat.length}.`, field);
    }
    const values = new Float32Array(size);
    for (let j = 0; j < size; j++) {
      const v: unknown = flat[j];
      if (!isFeatureValue(v, 'float')) throw featureError(v, 'float', `${field}[${j}]`);
      values[j] = v;
    }
    return { values };
  }
  throw new ApiError('INVALID_IMAGE', `Expected an image, got ${describe(encoded)}.`, field);
}

/**
 * Parses `text/csv` rows (no header; one instance per line) for tabular models. Lines may end in
 * CRLF; blank lines are skipped. Throws INVALID_CSV / feature errors naming `rows[i]`.
 */
export function parseCsvRows(m: ModelManifest, text: string, maxRows: number = LIMITS.maxRowsPerInvocation): Float32Array[] {
  if (m.input.kind !== 'tabular') throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'text/csv is accepted for tabular models only.');
  const features = m.input.features;
  const rows: Float32Array[] = [];
  let start = 0;
  let line = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let s = text.slice(start, end);
    if (s.endsWith('\r')) s = s.slice(0, -1);
    start = end + 1;
    if (s.trim() !== '') {
      if (rows.length >= maxRows) throw new ApiError('TOO_MANY_INSTANCES', `More than ${maxRows} rows in one request.`, 'rows');
      rows.push(csvRow(features, s, `rows[${line}]`));
    }
    line++;
  }
  if (rows.length === 0) throw new ApiError('EMPTY_INSTANCES', 'The CSV body has no rows.', 'rows');
  return rows;
}

/** One CSV line of feature values (no quoting: features are numbers). */
export function csvRow(features: TabularInput['features'], line: string, field: string): Float32Array {
  const cells = line.split(',');
  if (cells.length !== features.length) {
    throw new ApiError('WRONG_FEATURE_COUNT', `Expected ${features.length} values, got ${cells.length}.`, field);
  }
  const row = new Float32Array(features.length);
  for (let j = 0; j < cells.length; j++) {
    const cell = cells[j].trim();
    // Number('') is 0 and Number('0x10') is 16: accept plain decimal notation only.
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cell)) {
      throw new ApiError(/^[-+]?(nan|inf(inity)?)$/i.test(cell) ? 'NON_FINITE_NUMBER' : 'INVALID_FEATURE_TYPE', `"${cell.slice(0, 40)}" is not a number.`, `${field}[${j}]`);
    }
    const v = Number(cell);
    if (!isFeatureValue(v, features[j].type)) throw featureError(v, features[j].type, `${field}[${j}]`);
    row[j] = v;
  }
  return row;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? 'a string' : typeof v;
}
