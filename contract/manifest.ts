/**
 * The model manifest (`model.json` beside the ONNX file) and the validation of prediction instances
 * against it. The model server, the API handlers, the batch mode and the CDK app all read the manifest
 * through this module, so an instance the API accepts is one the model server accepts.
 */
// zod/mini: the same validator as zod with a functional API that bundles small and loads fast, which
// matters here because every Lambda handler and the model server parse a manifest at cold start.
import * as z from 'zod/mini';
import { type CsvRecord, cellsInFeatureOrder, csvHeader, parseCsv } from './csv';
import { ApiError } from './errors';
import { LIMITS } from './limits';
import { versionSchema } from './model-version';
import { DYNAMODB_NUMBER } from './prediction-log';
import './zod-messages';

const name = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, starting with a letter or digit (max 63)'));
/** Length bounds of a string or an array. */
const between = (min: number, max: number) => [z.minLength(min), z.maxLength(max)] as const;
const text = (min: number, max = 1024) => z.string().check(...between(min, max));

/**
 * A feature's value type. `float` and `int` are numbers the model sees as float32 (int: whole numbers);
 * `double` keeps float64 precision; `string` is a categorical value; `bool` is true/false.
 */
export const FEATURE_TYPES = ['float', 'int', 'double', 'string', 'bool'] as const;
export type FeatureType = (typeof FEATURE_TYPES)[number];

const feature = z.object({
  name: text(1, 128),
  type: z.enum(FEATURE_TYPES),
  description: z.optional(z.string()),
  /** Allowed values of a `string` feature; any string is accepted when absent. */
  values: z.optional(z.array(text(0, 256)).check(...between(1, 10_000))),
  /**
   * ONNX input this feature feeds as an [N, 1] tensor, for graphs with one input per column (a
   * ColumnTransformer pipeline). Used only when the manifest has no `inputTensor`.
   * @default - the feature's name
   */
  tensor: z.optional(text(1)),
  /**
   * The value may be missing (a numeric feature the model imputes: an ONNX `Imputer` on its path, or tree
   * ensembles that route missing values): JSON `null` or `"NaN"`, an empty CSV cell or `NaN` reach the
   * model as NaN. Other features refuse a missing value. `mlship init` sets it from the graph.
   * @default false
   */
  nullable: z.optional(z.boolean()),
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
  /** Names answered for the model's classes, in the model's class order. */
  labels: z.array(text(1, 128)).check(...between(2, 10_000)),
  /**
   * ONNX output holding class scores: a probability tensor [N, labels.length], or a ZipMap output
   * (sequence of maps, as skl2onnx writes by default), which the server reads from the ZipMap's input.
   * With two labels it may hold one score per row ([N] or [N, 1]): the second label's probability (or
   * logit, with `softmax`), the first label's being its complement.
   */
  tensor: text(1),
  /**
   * ONNX output holding the predicted class (int64 or string [N], skl2onnx's `output_label`). When set,
   * it decides the label (as the training framework's `predict` does); otherwise the top score does.
   * @default - the label with the highest score
   */
  labelTensor: z.optional(text(1)),
  /** The scores are logits: apply softmax to get probabilities (a sigmoid, for one score per row). @default false */
  softmax: z._default(z.boolean(), false),
});

const regressionOutput = z.object({
  kind: z.literal('regression'),
  /** ONNX output holding the predicted value, shape [N] or [N, 1]. */
  tensor: text(1),
  unit: z.optional(z.string()),
});

export const manifestSchema = z
  .object({
    name,
    version: versionSchema,
    description: z.optional(z.string()),
    /** ONNX file name inside the model directory. */
    file: z.string().check(z.regex(/^[A-Za-z0-9._-]+\.onnx$/, 'a file name ending in .onnx')),
    /**
     * ONNX input tensor taking all features ([N, F]) or the image. Without it, a tabular model takes one
     * [N, 1] input per feature (see `features[].tensor`).
     */
    inputTensor: z.optional(text(1)),
    input: z.discriminatedUnion('kind', [tabularInput, imageInput]),
    output: z.discriminatedUnion('kind', [classificationOutput, regressionOutput]),
    /** Optional training facts shown by `GET /model` (data source, metrics). */
    training: z.optional(z.record(z.string(), z.unknown())),
  })
  .check(
    z.superRefine((m, ctx) => {
      const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', input: m, path, message });
      if (m.input.kind === 'image' && m.inputTensor === undefined) issue(['inputTensor'], 'an image model names its input tensor');
      if (m.input.kind !== 'tabular') return;
      const names = new Set<string>();
      m.input.features.forEach((f, i) => {
        if (names.has(f.name)) issue(['input', 'features', i, 'name'], `"${f.name}" is named twice`);
        names.add(f.name);
        if (f.values !== undefined && f.type !== 'string')
          issue(['input', 'features', i, 'values'], 'allowed values are for string features');
        if (f.nullable === true && f.type !== 'float' && f.type !== 'double')
          issue(['input', 'features', i, 'nullable'], 'only float and double features can be missing (they reach the model as NaN)');
        if (f.tensor !== undefined && m.inputTensor !== undefined)
          issue(['input', 'features', i, 'tensor'], 'a feature names its own tensor only when the manifest has no inputTensor');
      });
    }),
  );

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

/** A feature value as the model gets it. */
export type FeatureValue = number | string | boolean;

/**
 * One validated instance in model order: float32 values (images, and models fed all their numeric
 * features through one tensor: the fast path), or one typed value per feature otherwise.
 */
export type Row = Float32Array | FeatureValue[];

/** True when an instance travels as float32 values (see `Row`). */
export function packsFloat32(m: ModelManifest): boolean {
  let packs = PACKS_FLOAT32.get(m);
  if (packs === undefined) {
    packs =
      m.input.kind === 'image' || (m.inputTensor !== undefined && m.input.features.every((f) => f.type === 'float' || f.type === 'int'));
    PACKS_FLOAT32.set(m, packs);
  }
  return packs;
}
/** Per manifest (they are immutable once parsed): asked once per request on the serving path. */
const PACKS_FLOAT32 = new WeakMap<ModelManifest, boolean>();

/** An ONNX input of a tabular model and the features (indices) it takes, in order. */
export interface InputBinding {
  readonly tensor: string;
  readonly features: readonly number[];
}

/** The ONNX inputs a manifest feeds: one tensor for all features (or the image), or one per feature. */
export function inputBindings(m: ModelManifest): InputBinding[] {
  if (m.input.kind === 'image' || m.inputTensor !== undefined) {
    return [{ tensor: m.inputTensor ?? '', features: Array.from({ length: featureCount(m) }, (_v, i) => i) }];
  }
  return m.input.features.map((f, i) => ({ tensor: f.tensor ?? f.name, features: [i] }));
}

/**
 * One instance as the caller sent it, after structural validation:
 * - `values`: a row ready for the model (tabular rows, or preprocessed image arrays);
 * - `image`: an encoded image (base64 PNG/JPEG) that the model server decodes;
 * - `s3Key`: a reference to an object in the data bucket, resolved by the API before the model call.
 */
export type Instance = { values: Row } | { image: string } | { s3Key: string };

export const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/**
 * An s3Key: under datasets/ or predictions/, S3's safe characters, at most 1024 characters (S3's limit),
 * no empty, `.` or `..` segment and none over 255 characters (what a file system — and so s3rver or an
 * `aws s3 sync` to disk — can hold), so a key means the same object on AWS and locally.
 */
export const S3_KEY = /^(datasets|predictions)(\/[A-Za-z0-9!_.*'()-]{1,255}){1,100}$/;
const MAX_S3_KEY_LENGTH = 1024;

function isS3Key(v: unknown): v is string {
  return (
    typeof v === 'string' && v.length <= MAX_S3_KEY_LENGTH && S3_KEY.test(v) && !v.split('/').some((seg) => seg === '.' || seg === '..')
  );
}

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
  if (instances === undefined) {
    if ('s3Key' in body) {
      throw new ApiError(
        'INVALID_BODY',
        'Missing "instances": an S3 input is one instance, sent as {"instances": [{"s3Key": "datasets/..."}]}.',
        'instances',
      );
    }
    throw new ApiError('INVALID_BODY', 'Missing "instances": send {"instances": [...]}.', 'instances');
  }
  for (const key in body) {
    // A misspelt or unsupported option must not pass silently.
    if (key !== 'instances') throw new ApiError('INVALID_BODY', `Unknown field "${key}": the body holds only "instances".`, key);
  }
  if (!Array.isArray(instances)) throw new ApiError('INVALID_BODY', '"instances" must be an array.', 'instances');
  if (instances.length === 0) throw new ApiError('EMPTY_INSTANCES', '"instances" is empty: send at least one instance.', 'instances');
  if (instances.length > maxInstances) {
    throw new ApiError('TOO_MANY_INSTANCES', `${instances.length} instances sent; at most ${maxInstances} per request.`, 'instances');
  }
  const float32 = packsFloat32(m);
  const out: Instance[] = new Array(instances.length);
  for (let i = 0; i < instances.length; i++)
    out[i] = validateInstance(m, instances[i], `instances[${i}]`, opts.allowS3Keys ?? false, float32);
  return out;
}

function validateInstance(m: ModelManifest, inst: unknown, field: string, allowS3Keys: boolean, float32: boolean): Instance {
  if (typeof inst === 'object' && inst !== null && !Array.isArray(inst)) {
    const o = inst as Record<string, unknown>;
    if ('s3Key' in o) {
      if (!allowS3Keys) throw new ApiError('INVALID_S3_KEY', 'S3 keys are resolved by the API, not by the model server.', `${field}.s3Key`);
      if (Object.keys(o).length !== 1) throw new ApiError('UNKNOWN_FEATURE', 'An S3 reference holds only "s3Key".', field);
      if (!isS3Key(o.s3Key)) {
        throw new ApiError(
          'INVALID_S3_KEY',
          "s3Key must be an object key under datasets/ or predictions/ in the data bucket: at most 1024 characters of letters, digits and !_.*'()-, in non-empty segments of at most 255 between slashes.",
          `${field}.s3Key`,
        );
      }
      return { s3Key: o.s3Key };
    }
  }
  return m.input.kind === 'tabular' ? { values: tabularRow(m.input, inst, field, float32) } : imageInstance(m.input, inst, field);
}

function tabularRow(input: TabularInput, inst: unknown, field: string, float32: boolean): Row {
  const features = input.features;
  // The common case, a float32 model sent an array: a monomorphic loop into a Float32Array.
  if (float32 && Array.isArray(inst) && inst.length === features.length) return float32Row(features, inst, field);
  const row: Row = float32 ? new Float32Array(features.length) : new Array<FeatureValue>(features.length);
  if (Array.isArray(inst)) {
    if (inst.length !== features.length) {
      throw new ApiError('WRONG_FEATURE_COUNT', `Expected ${features.length} features, got ${inst.length}.`, field);
    }
    for (let j = 0; j < features.length; j++) {
      const v: unknown = inst[j];
      const f = features[j] as Feature; // j < features.length
      row[j] = isFeatureValue(v, f) ? v : nanIfMissing(v, f, `${field}[${j}]`);
    }
    return row;
  }
  if (typeof inst !== 'object' || inst === null) {
    throw new ApiError('INVALID_FEATURE_TYPE', 'An instance is an array of feature values or an object keyed by feature name.', field);
  }
  const o = inst as Record<string, unknown>;
  let seen = 0;
  for (let j = 0; j < features.length; j++) {
    const f = features[j] as Feature; // j < features.length
    const v = o[f.name];
    if (v === undefined) throw new ApiError('MISSING_FEATURE', `Missing feature "${f.name}".`, `${field}.${f.name}`);
    row[j] = isFeatureValue(v, f) ? v : nanIfMissing(v, f, `${field}.${f.name}`);
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

/** A row of a model whose features are all `float` or `int` (packed as float32), from an array of the right length. */
function float32Row(features: readonly Feature[], inst: unknown[], field: string): Float32Array {
  const n = features.length;
  const row = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const v = inst[j];
    const f = features[j] as Feature; // j < n = features.length
    // `!(|v| < bound)` is also true for NaN and ±Infinity.
    if (typeof v !== 'number' || !(Math.abs(v) < FLOAT32_ROUNDS_FINITE_BELOW) || (f.type === 'int' && !Number.isSafeInteger(v))) {
      row[j] = nanIfMissing(v, f, `${field}[${j}]`);
    } else row[j] = v;
  }
  return row;
}

/**
 * Numbers of smaller magnitude round to a finite float32 (at most FLT_MAX, 3.4028234663852886e38); from
 * here on (FLT_MAX plus half a unit in the last place) they round to Infinity, which the model must never see.
 */
export const FLOAT32_ROUNDS_FINITE_BELOW = 2 ** 128 - 2 ** 103;

/**
 * How a missing value is written: JSON `null`, or the text `"NaN"` (JSON has no NaN token; Python's
 * `json.dumps` writes a bare `NaN`, which is not JSON). A NaN number counts too, for in-process callers.
 */
export function isMissingValue(v: unknown): boolean {
  return v === null || v === 'NaN' || (typeof v === 'number' && Number.isNaN(v));
}

/**
 * A value that is not of feature `f`'s type: NaN when the feature is nullable and the value is a missing
 * one (`isMissingValue`), else the error naming why (call only when `isFeatureValue` is false).
 */
function nanIfMissing(v: unknown, f: Feature, field: string): number {
  if (f.nullable === true && isMissingValue(v)) return Number.NaN;
  throw featureError(v, f, field);
}
/** Longest categorical value accepted. */
export const MAX_STRING_FEATURE = 1024;

type Feature = TabularInput['features'][number];

/** The hot path of validation: a plain check, with no field name built unless there is an error. */
function isFeatureValue(v: unknown, f: Feature): v is FeatureValue {
  switch (f.type) {
    case 'float':
      return typeof v === 'number' && Math.abs(v) < FLOAT32_ROUNDS_FINITE_BELOW;
    case 'int':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'double':
      return typeof v === 'number' && Number.isFinite(v) && storableMagnitude(v);
    case 'string':
      return typeof v === 'string' && v.length <= MAX_STRING_FEATURE && (f.values === undefined || f.values.includes(v));
    case 'bool':
      return typeof v === 'boolean';
  }
}

/** The error naming why `v` is not a value of feature `f` (call only when `isFeatureValue` is false). */
function featureError(v: unknown, f: Feature, field: string): ApiError {
  const type = f.type;
  if (type === 'string') {
    if (typeof v !== 'string') return new ApiError('INVALID_FEATURE_TYPE', `Expected a string, got ${describe(v)}.`, field);
    if (v.length > MAX_STRING_FEATURE) return new ApiError('INVALID_FEATURE_TYPE', `At most ${MAX_STRING_FEATURE} characters.`, field);
    const allowed = f.values ?? [];
    return new ApiError(
      'UNKNOWN_CATEGORY',
      `"${v.slice(0, 40)}" is not one of ${allowed
        .slice(0, 10)
        .map((a) => JSON.stringify(a))
        .join(', ')}${allowed.length > 10 ? ', …' : ''}.`,
      field,
    );
  }
  if (type === 'bool') return new ApiError('INVALID_FEATURE_TYPE', `Expected true or false, got ${describe(v)}.`, field);
  if (typeof v !== 'number') return new ApiError('INVALID_FEATURE_TYPE', `Expected a number (${type}), got ${describe(v)}.`, field);
  if (!Number.isFinite(v)) return new ApiError('NON_FINITE_NUMBER', 'NaN and Infinity are not valid feature values.', field);
  if (type === 'int' && !Number.isInteger(v)) return new ApiError('INVALID_FEATURE_TYPE', `Expected an integer, got ${v}.`, field);
  if (type === 'int' && !Number.isSafeInteger(v))
    return new ApiError('INVALID_FEATURE_TYPE', `${v} is beyond the exact integer range (±2^53).`, field);
  if (type === 'double')
    return new ApiError(
      'NUMBER_OUT_OF_RANGE',
      `${v} is outside what the prediction log stores exactly (magnitude 1e-130 to below 1e126, or 0).`,
      field,
    );
  return new ApiError('NON_FINITE_NUMBER', `${v} is outside the float32 range.`, field);
}

/** Whether a float64 value fits DynamoDB's number range, so the log can keep what the model saw. */
function storableMagnitude(v: number): boolean {
  const a = Math.abs(v);
  return a === 0 || (a >= DYNAMODB_NUMBER.minMagnitude && a < DYNAMODB_NUMBER.magnitudeBelow);
}

function imageInstance(input: ImageInput, inst: unknown, field: string): Instance {
  let encoded: unknown = inst;
  if (typeof inst === 'object' && inst !== null && !Array.isArray(inst)) {
    const o = inst as Record<string, unknown>;
    if (!('b64' in o) || Object.keys(o).length !== 1) {
      throw new ApiError(
        'INVALID_IMAGE',
        'An image instance is {"b64": "<base64 PNG or JPEG>"}, a base64 string or data: URL, an array of pixel values or {"s3Key": "datasets/..."}.',
        field,
      );
    }
    encoded = o.b64;
    field = `${field}.b64`;
  }
  if (typeof encoded === 'string') return { image: base64Image(encoded, field) };
  if (Array.isArray(encoded)) return { values: pixelValues(input, encoded, field) };
  throw new ApiError('INVALID_IMAGE', `Expected an image, got ${describe(encoded)}.`, field);
}

/** `data:image/png;base64,` and `data:image/jpeg;base64,` (what browsers' canvas and FileReader give). */
const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),/i;
const DATA_URL_TYPES = new Set(['image/png', 'image/jpeg', 'image/jpg']);

/** The base64 text of an image given as base64 or as a base64 data: URL. */
function base64Image(encoded: string, field: string): string {
  let b64 = encoded;
  if (encoded.startsWith('data:')) {
    const [prefix, type, params] = DATA_URL.exec(encoded.slice(0, 256)) ?? [];
    if (
      prefix === undefined ||
      !DATA_URL_TYPES.has(type?.toLowerCase() ?? '') ||
      !(params ?? '').toLowerCase().split(';').includes('base64')
    ) {
      throw new ApiError('INVALID_IMAGE', 'A data: URL must be data:image/png;base64,… or data:image/jpeg;base64,….', field);
    }
    b64 = encoded.slice(prefix.length);
  }
  if (b64.length === 0 || b64.length % 4 !== 0 || !BASE64.test(b64)) {
    throw new ApiError('INVALID_IMAGE', 'Not valid base64.', field);
  }
  return b64;
}

/**
 * Pixel values sent as numbers: flat in tensor order, or nested in the layout's own shape —
 * [H][W][C] for flat and NHWC models, [C][H][W] for NCHW — and [H][W] for one channel.
 */
function pixelValues(input: ImageInput, encoded: unknown[], field: string): Float32Array {
  const { width: w, height: h, channels: c } = input;
  const size = w * h * c;
  const shapes: number[][] = [[size], input.layout === 'NCHW' ? [c, h, w] : [h, w, c]];
  if (c === 1) shapes.push([h, w]);
  const shape = shapeOf(encoded);
  if (!shapes.some((s) => s.length === shape.length && s.every((d, i) => d === shape[i]))) {
    const wanted = shapes.map((s) => (s.length === 1 ? `a flat array of ${size}` : s.map((d) => `[${d}]`).join(''))).join(', ');
    throw new ApiError(
      'WRONG_FEATURE_COUNT',
      `Expected pixel values as ${wanted}; got ${shape.map((d) => `[${d}]`).join('') || 'a value'}.`,
      field,
    );
  }
  const values = new Float32Array(size);
  let at = 0;
  // Walks the nested arrays in order, checking each is as long as the shape says (no ragged rows).
  const walk = (a: unknown[], depth: number, path: string): void => {
    if (a.length !== shape[depth])
      throw new ApiError(
        'WRONG_FEATURE_COUNT',
        `Expected ${shape[depth]} values at ${path}, got ${a.length} (rows must all be the same length).`,
        path,
      );
    for (let j = 0; j < a.length; j++) {
      const v: unknown = a[j];
      if (depth + 1 < shape.length) {
        if (!Array.isArray(v))
          throw new ApiError(
            'WRONG_FEATURE_COUNT',
            `Expected an array of ${shape[depth + 1]} values, got ${describe(v)}.`,
            `${path}[${j}]`,
          );
        walk(v, depth + 1, `${path}[${j}]`);
      } else {
        if (!isFeatureValue(v, PIXEL)) throw featureError(v, PIXEL, `${path}[${j}]`);
        values[at++] = v as number;
      }
    }
  };
  walk(encoded, 0, field);
  return values;
}

/** The shape of nested arrays, read along their first elements (at most 4 levels). */
function shapeOf(a: unknown[]): number[] {
  const shape: number[] = [];
  let cur: unknown = a;
  while (Array.isArray(cur) && shape.length < 4) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

/**
 * Parses a `text/csv` body for tabular models (rules in contract/csv.ts: RFC 4180 quoting, optional
 * header matched by feature names). Stops reading at `maxRows` rows. Throws INVALID_CSV / INVALID_HEADER
 * / feature errors naming `rows[i]`.
 */
export function parseCsvRows(m: ModelManifest, text: string, maxRows: number = LIMITS.maxRowsPerInvocation): Row[] {
  const float32 = packsFloat32(m);
  return csvRecords(m, text, maxRows).map((r) => csvRow(tabular(m).features, r.cells, `rows[${r.line}]`, float32));
}

/** The data rows of a CSV body as string cells in feature order (header, if any, applied and dropped). */
export function csvRecords(m: ModelManifest, text: string, maxRows: number = LIMITS.maxRowsPerInvocation): CsvRecord[] {
  const features = tabular(m).features;
  // One more record than the rows allowed: the first may be a header.
  let records: CsvRecord[];
  try {
    // A row holds the features and perhaps an id: anything longer is refused before it is split into cells.
    records = parseCsv(text, maxRows + 1, (features.length + 1) * (MAX_STRING_FEATURE + 3));
  } catch (e) {
    if (e instanceof ApiError && e.code === 'TOO_MANY_INSTANCES')
      throw new ApiError('TOO_MANY_INSTANCES', `More than ${maxRows} rows in one request.`, 'rows');
    throw e;
  }
  const first = records[0];
  const columns =
    first !== undefined
      ? csvHeader(
          first.cells,
          features.map((f) => f.name),
        )
      : undefined;
  const data = columns ? records.slice(1) : records;
  if (data.length > maxRows) throw new ApiError('TOO_MANY_INSTANCES', `More than ${maxRows} rows in one request.`, 'rows');
  if (data.length === 0)
    throw new ApiError('EMPTY_INSTANCES', columns ? 'The CSV body has a header but no rows.' : 'The CSV body has no rows.', 'rows');
  return data.map((r) => ({ line: r.line, cells: [...cellsInFeatureOrder(r.cells, columns, `rows[${r.line}]`)] }));
}

function tabular(m: ModelManifest): TabularInput {
  if (m.input.kind !== 'tabular') throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'text/csv is accepted for tabular models only.');
  return m.input;
}

const PIXEL: Feature = { name: 'pixel', type: 'float' };

/**
 * One CSV record's cells (in feature order, already unquoted) as feature values. `float32` packs the row
 * as float32 values (see `Row`); by default when every feature is a float32 number.
 */
export function csvRow(
  features: TabularInput['features'],
  cells: readonly string[],
  field: string,
  float32 = features.every((f) => f.type === 'float' || f.type === 'int'),
): Row {
  if (cells.length !== features.length) {
    throw new ApiError('WRONG_FEATURE_COUNT', `Expected ${features.length} values, got ${cells.length}.`, field);
  }
  const row: Row = float32 ? new Float32Array(features.length) : new Array<FeatureValue>(features.length);
  // j < cells.length = features.length
  for (let j = 0; j < cells.length; j++) row[j] = cellValue(features[j] as Feature, cells[j] as string, `${field}[${j}]`) as number;
  return row;
}

/**
 * A CSV cell (already unquoted) as the typed value of feature `f`, checked as a JSON value would be.
 * Numbers in plain decimal notation; bool as true/false or 1/0; strings as they are. For a nullable
 * feature, an empty cell (what pandas writes for a missing value) or `NaN` in any case (numpy's `nan`) is NaN.
 */
export function cellValue(f: Feature, raw: string, field: string): FeatureValue {
  let v: FeatureValue;
  if (f.type === 'string') v = raw;
  else {
    const cell = raw.trim();
    if (f.nullable === true && (cell === '' || /^nan$/i.test(cell))) return Number.NaN;
    if (f.type === 'bool') {
      const b = /^(true|1)$/i.test(cell) ? true : /^(false|0)$/i.test(cell) ? false : undefined;
      if (b === undefined) throw new ApiError('INVALID_FEATURE_TYPE', `"${cell.slice(0, 40)}" is not true, false, 1 or 0.`, field);
      v = b;
    } else {
      // Number('') is 0 and Number('0x10') is 16: accept plain decimal notation only.
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cell)) {
        throw new ApiError(
          /^[-+]?(nan|inf(inity)?)$/i.test(cell) ? 'NON_FINITE_NUMBER' : 'INVALID_FEATURE_TYPE',
          `"${cell.slice(0, 40)}" is not a number.`,
          field,
        );
      }
      v = Number(cell);
    }
  }
  if (!isFeatureValue(v, f)) throw featureError(v, f, field);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? 'a string' : typeof v;
}
