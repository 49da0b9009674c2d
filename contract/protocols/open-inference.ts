/**
 * The Open Inference Protocol (V2, REST) as KServe, Triton and Seldon MLServer speak it, mapped onto
 * the served model: its metadata (tensor names, datatypes and shapes, from the manifest), an inference
 * request's tensors read into the API's instances (then checked by the one validator), and the API's
 * predictions written back as output tensors.
 *
 * Inputs: one tensor holding every feature ([N, F]; an image model's [N, …] with F values a row, or its
 * encoded images as BYTES [N]), or one tensor per feature ([N] or [N, 1], named by the feature or its
 * `tensor`). `data` is row-major, flat or nested. Outputs: `label` (BYTES [N]) and `probabilities`
 * (FP32 [N, C], the manifest's label order) for a classifier, `value` (FP64 [N]) for a regressor.
 */
import { ApiError } from '../errors';
import { featureCount, type ModelManifest, packsFloat32 } from '../manifest';
import type { PredictResponse } from '../prediction';
import { isObject } from './scoring-formats';

/** The datatypes a request tensor may have, with the JSON type of each element. */
export const DATATYPES: Record<string, 'number' | 'string' | 'boolean'> = {
  BOOL: 'boolean',
  UINT8: 'number',
  UINT16: 'number',
  UINT32: 'number',
  UINT64: 'number',
  INT8: 'number',
  INT16: 'number',
  INT32: 'number',
  INT64: 'number',
  FP16: 'number',
  FP32: 'number',
  FP64: 'number',
  BYTES: 'string',
};

/** The path's model name and version, as the routes of the protocol carry them. */
export interface ModelAddress {
  readonly name: string;
  readonly version?: string;
}

/** NOT_FOUND unless the address names the served model (and, when it names one, its version). */
export function checkModelAddress(m: ModelManifest, address: ModelAddress): void {
  if (address.name !== m.name) throw new ApiError('NOT_FOUND', `No model "${address.name}" here; this API serves "${m.name}".`, 'name');
  if (address.version !== undefined && address.version !== m.version)
    throw new ApiError('NOT_FOUND', `Model "${m.name}" has no version "${address.version}"; it serves version ${m.version}.`, 'version');
}

// ---- metadata --------------------------------------------------------------------------------------

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  /** -1 marks the batch dimension. */
  readonly shape: number[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions: string[];
  readonly platform: string;
  readonly inputs: TensorMetadata[];
  readonly outputs: TensorMetadata[];
}

const FEATURE_DATATYPES = { float: 'FP32', int: 'INT64', double: 'FP64', string: 'BYTES', bool: 'BOOL' } as const;

/** The tensors a client sends: the model's input tensor (all features) or one per feature. */
export function inputMetadata(m: ModelManifest): TensorMetadata[] {
  if (m.input.kind === 'image') {
    const { height, width, channels, layout } = m.input;
    const dims = layout === 'NCHW' ? [channels, height, width] : layout === 'NHWC' ? [height, width, channels] : [featureCount(m)];
    return [{ name: m.inputTensor ?? 'input', datatype: 'FP32', shape: [-1, ...dims] }];
  }
  const features = m.input.features;
  if (m.inputTensor !== undefined) {
    const numeric = features.every((f) => f.type === 'float' || f.type === 'int' || f.type === 'double');
    const datatype = packsFloat32(m) ? 'FP32' : numeric ? 'FP64' : 'BYTES';
    return [{ name: m.inputTensor, datatype, shape: [-1, features.length] }];
  }
  return features.map((f) => ({ name: f.tensor ?? f.name, datatype: FEATURE_DATATYPES[f.type], shape: [-1, 1] }));
}

export function outputMetadata(m: ModelManifest): TensorMetadata[] {
  return m.output.kind === 'classification'
    ? [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, m.output.labels.length] },
      ]
    : [{ name: 'value', datatype: 'FP64', shape: [-1] }];
}

export function modelMetadata(m: ModelManifest): ModelMetadata {
  return { name: m.name, versions: [m.version], platform: 'onnx', inputs: inputMetadata(m), outputs: outputMetadata(m) };
}

// ---- inference request -----------------------------------------------------------------------------

/** What an inference request asks besides its instances. */
export interface InferenceAsk {
  readonly id?: string;
  /** Output tensor names asked for; undefined: all of them. */
  readonly outputs?: string[];
}

interface Tensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  /** Row-major, flattened. */
  readonly data: unknown[];
  /** Where it is in the body, for error fields. */
  readonly at: string;
}

const REQUEST_FIELDS = new Set(['id', 'parameters', 'inputs', 'outputs']);
const INPUT_FIELDS = new Set(['name', 'shape', 'datatype', 'parameters', 'data']);

/**
 * An inference request read into rows for the validator (`{"instances": rows}`) and what else it asks.
 * Structure errors are INVALID_BODY; the values are the validator's to check, with its codes.
 */
export function readInferenceRequest(m: ModelManifest, body: unknown): { instances: unknown[]; ask: InferenceAsk } {
  if (!isObject(body)) throw new ApiError('INVALID_BODY', 'An inference request is a JSON object with "inputs".');
  for (const key in body) if (!REQUEST_FIELDS.has(key)) throw new ApiError('INVALID_BODY', `Unknown field "${key}".`, key);
  const { id, parameters, inputs, outputs } = body;
  if (id !== undefined && typeof id !== 'string') throw new ApiError('INVALID_BODY', '"id" must be a string.', 'id');
  if (parameters !== undefined && !isObject(parameters))
    throw new ApiError('INVALID_BODY', '"parameters" must be an object.', 'parameters');
  if (!Array.isArray(inputs) || inputs.length === 0)
    throw new ApiError('INVALID_BODY', '"inputs" must be a non-empty array of tensors.', 'inputs');
  const tensors = inputs.map((t, i) => readTensor(t, `inputs[${i}]`));
  const perFeature = tensors.length > 1 || (featureCount(m) > 1 && featureTensors(m).has(tensors[0]?.name ?? ''));
  return {
    instances: m.input.kind === 'tabular' && perFeature ? perFeatureRows(m, tensors) : oneTensorRows(m, tensors),
    ask: { ...(id !== undefined ? { id } : {}), ...(outputs !== undefined ? { outputs: requestedOutputs(m, outputs) } : {}) },
  };
}

function readTensor(t: unknown, at: string): Tensor {
  if (!isObject(t)) throw new ApiError('INVALID_BODY', 'A tensor is {"name", "shape", "datatype", "data"}.', at);
  for (const key in t)
    if (!INPUT_FIELDS.has(key)) throw new ApiError('INVALID_BODY', `Unknown field "${key}" of a tensor.`, `${at}.${key}`);
  const { name, shape, datatype, parameters, data } = t;
  if (typeof name !== 'string') throw new ApiError('INVALID_BODY', 'A tensor needs a "name".', `${at}.name`);
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new ApiError('INVALID_BODY', '"shape" must be a non-empty array of sizes.', `${at}.shape`);
  const element = typeof datatype === 'string' ? DATATYPES[datatype] : undefined;
  if (element === undefined)
    throw new ApiError('INVALID_BODY', `"datatype" must be one of ${Object.keys(DATATYPES).join(', ')}.`, `${at}.datatype`);
  if (parameters !== undefined && !isObject(parameters))
    throw new ApiError('INVALID_BODY', '"parameters" must be an object.', `${at}.parameters`);
  if (!Array.isArray(data)) throw new ApiError('INVALID_BODY', '"data" must be an array (flat or nested, row-major).', `${at}.data`);
  const flat = data.flat(Number.POSITIVE_INFINITY) as unknown[];
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  if (flat.length !== size)
    throw new ApiError('INVALID_BODY', `"data" holds ${flat.length} values; shape [${shape.join(', ')}] holds ${size}.`, `${at}.data`);
  const wrong = flat.findIndex((v) => typeof v !== element);
  if (wrong >= 0)
    throw new ApiError('INVALID_FEATURE_TYPE', `A ${datatype} tensor holds ${element}s; value ${wrong} is not one.`, `${at}.data`);
  return { name, datatype: datatype as string, shape: shape as number[], data: flat, at };
}

/** One tensor for every feature (or the image): a row per instance. */
function oneTensorRows(m: ModelManifest, tensors: Tensor[]): unknown[] {
  const [t] = tensors;
  if (t === undefined || tensors.length !== 1) throw new ApiError('INVALID_BODY', 'Send one input tensor.', 'inputs');
  const n = t.shape[0] ?? 0;
  // An image model's encoded images: BYTES [N] of base64 PNG or JPEG.
  if (m.input.kind === 'image' && t.datatype === 'BYTES' && t.shape.length === 1) return t.data;
  const perRow = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const f = featureCount(m);
  if (m.input.kind === 'tabular' && f === 1 && t.shape.length === 1) return t.data.map((v) => [v]);
  if (t.shape.length < 2 || perRow !== f) {
    const tensors = m.input.kind === 'tabular' && m.inputTensor === undefined ? ` or one tensor per feature ([N] or [N, 1])` : '';
    throw new ApiError('WRONG_FEATURE_COUNT', `Shape [${t.shape.join(', ')}]: expected [N, ${f}]${tensors}.`, `${t.at}.shape`);
  }
  return Array.from({ length: n }, (_v, i) => t.data.slice(i * f, (i + 1) * f));
}

/** One tensor per feature, named by the feature (or its ONNX tensor): rows as objects keyed by feature name. */
function perFeatureRows(m: ModelManifest, tensors: Tensor[]): Record<string, unknown>[] {
  const features = m.input.kind === 'tabular' ? m.input.features : [];
  const byName = featureTensors(m);
  const columns = new Map<string, Tensor>();
  let n: number | undefined;
  for (const t of tensors) {
    const feature = byName.get(t.name);
    if (feature === undefined) throw new ApiError('UNKNOWN_FEATURE', `No feature or input tensor "${t.name}".`, `${t.at}.name`);
    if (columns.has(feature)) throw new ApiError('INVALID_BODY', `Feature "${feature}" is sent twice.`, `${t.at}.name`);
    if (t.shape.length > 2 || (t.shape.length === 2 && t.shape[1] !== 1))
      throw new ApiError('INVALID_BODY', `A feature's tensor has shape [N] or [N, 1], not [${t.shape.join(', ')}].`, `${t.at}.shape`);
    if (n !== undefined && t.shape[0] !== n)
      throw new ApiError(
        'INVALID_BODY',
        `Tensor "${t.name}" holds ${t.shape[0]} instances; the tensors before it hold ${n}.`,
        `${t.at}.shape`,
      );
    n = t.shape[0];
    columns.set(feature, t);
  }
  const missing = features.find((f) => !columns.has(f.name));
  if (missing !== undefined)
    throw new ApiError('MISSING_FEATURE', `Missing the tensor of feature "${missing.name}".`, `inputs.${missing.tensor ?? missing.name}`);
  return Array.from({ length: n ?? 0 }, (_v, i) => Object.fromEntries(features.map((f) => [f.name, columns.get(f.name)?.data[i]])));
}

/** The feature each per-feature tensor name stands for: the feature's own name, and its ONNX tensor's. */
function featureTensors(m: ModelManifest): Map<string, string> {
  const byName = new Map<string, string>();
  for (const f of m.input.kind === 'tabular' ? m.input.features : []) {
    byName.set(f.name, f.name);
    if (f.tensor !== undefined) byName.set(f.tensor, f.name);
  }
  return byName;
}

function requestedOutputs(m: ModelManifest, outputs: unknown): string[] {
  const known = outputMetadata(m).map((o) => o.name);
  if (!Array.isArray(outputs)) throw new ApiError('INVALID_BODY', '"outputs" must be an array of {"name"}.', 'outputs');
  return outputs.map((o, i) => {
    const name = isObject(o) ? o.name : undefined;
    if (typeof name !== 'string' || !known.includes(name))
      throw new ApiError('INVALID_BODY', `Outputs are ${known.map((k) => `"${k}"`).join(', ')}.`, `outputs[${i}].name`);
    return name;
  });
}

// ---- inference response ----------------------------------------------------------------------------

export interface ResponseTensor extends TensorMetadata {
  readonly data: (number | string)[];
  readonly parameters?: Record<string, unknown>;
}

export interface InferenceResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  /** `prediction_ids`: the id each instance is logged under (for feedback), in order. */
  readonly parameters: { readonly prediction_ids: string[] };
  readonly outputs: ResponseTensor[];
}

/** The API's predictions as output tensors (those asked for, in the order asked). */
export function inferenceResponse(m: ModelManifest, answer: PredictResponse, ask: InferenceAsk): InferenceResponse {
  const n = answer.predictions.length;
  const tensors: ResponseTensor[] = [];
  if (m.output.kind === 'classification') {
    const labels = m.output.labels;
    tensors.push({ name: 'label', datatype: 'BYTES', shape: [n], data: answer.predictions.map((p) => ('label' in p ? p.label : '')) });
    tensors.push({
      name: 'probabilities',
      datatype: 'FP32',
      shape: [n, labels.length],
      data: answer.predictions.flatMap((p) => labels.map((l) => ('probabilities' in p ? (p.probabilities[l] ?? 0) : 0))),
      parameters: { labels },
    });
  } else {
    tensors.push({ name: 'value', datatype: 'FP64', shape: [n], data: answer.predictions.map((p) => ('value' in p ? p.value : 0)) });
  }
  const outputs = ask.outputs === undefined ? tensors : ask.outputs.map((name) => tensors.find((t) => t.name === name) as ResponseTensor);
  return {
    model_name: answer.model.name,
    model_version: answer.model.version,
    ...(ask.id !== undefined ? { id: ask.id } : {}),
    parameters: { prediction_ids: answer.predictions.map((p) => p.id) },
    outputs,
  };
}

/** The protocol's error body, `{"error": "<message>"}`, keeping the API's stable code and field beside it. */
export function inferenceError(e: ApiError): { error: string; code: string; field?: string } {
  return { error: e.message, code: e.code, ...(e.field !== undefined ? { field: e.field } : {}) };
}
