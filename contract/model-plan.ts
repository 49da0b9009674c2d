/**
 * Checks a manifest against the ONNX signature and says how to feed and read the model. The model
 * server, `mlship init` and `cdk synth` run this same check, so a manifest that does not fit its model
 * stops the start (or the synth) with one message naming the field, never a 500 on every request.
 */
import { type FeatureType, inputBindings, type ModelManifest } from './manifest';
import type { ElementType, GraphSignature, ValueSignature } from './onnx-graph';

/** How one ONNX input is fed. */
export interface InputPlan {
  readonly tensor: string;
  readonly elementType: FeedType;
  /** Feature indices (or image value positions) in tensor order. */
  readonly features: readonly number[];
  /** The tensor's dimensions for N rows. */
  readonly dims: (n: number) => number[];
}

export type FeedType = 'float32' | 'float64' | 'int64' | 'int32' | 'string' | 'bool';

export interface ModelPlan {
  readonly inputs: readonly InputPlan[];
  /** The batch dimension is fixed to 1: run rows one at a time. */
  readonly batchOfOne: boolean;
  /** The output to fetch for scores or values (a ZipMap's input tensor for a ZipMap output). */
  readonly scoreTensor: string;
  /** The label tensor to fetch, when the manifest names one. */
  readonly labelTensor?: string;
  /** The graph's own class labels (ZipMap or classifier op), in score order, when it declares them. */
  readonly graphLabels?: readonly string[];
}

/** A manifest that does not fit its ONNX file: the message names the manifest field. */
export class ManifestMismatchError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`model.json ${field}: ${message}`);
    this.name = 'ManifestMismatchError';
  }
}

const FEEDABLE: ReadonlySet<ElementType> = new Set(['float32', 'float64', 'int64', 'int32', 'string', 'bool']);

/** Which tensor element types each feature type may feed. */
const ACCEPTS: Record<FeatureType, ReadonlySet<ElementType>> = {
  float: new Set(['float32', 'float64']),
  double: new Set(['float64']),
  int: new Set(['float32', 'float64', 'int64', 'int32']),
  string: new Set(['string']),
  bool: new Set(['bool']),
};

export function planModel(m: ModelManifest, sig: GraphSignature, file = m.file): ModelPlan {
  const byName = new Map(sig.inputs.map((v) => [v.name, v]));
  const inputs: InputPlan[] = [];
  const bindings = inputBindings(m);
  const fed = new Set<string>();
  bindings.forEach((b, i) => {
    const field = m.inputTensor !== undefined ? 'inputTensor' : `input.features[${i}].tensor`;
    const v = byName.get(b.tensor);
    if (!v) throw new ManifestMismatchError(field, `names input "${b.tensor}", but ${file} has inputs: ${names(sig.inputs)}.`);
    if (fed.has(b.tensor)) throw new ManifestMismatchError(field, `input "${b.tensor}" is fed twice.`);
    fed.add(b.tensor);
    inputs.push(inputPlan(m, b.tensor, b.features, v, field, file));
  });
  const unfed = sig.inputs.find((v) => !fed.has(v.name));
  if (unfed) {
    const field = m.inputTensor !== undefined ? 'inputTensor' : 'input.features';
    throw new ManifestMismatchError(
      field,
      `${file} also takes input "${unfed.name}", which nothing in model.json feeds (inputs: ${names(sig.inputs)}).`,
    );
  }
  const batchOfOne = sig.inputs.some((v) => v.dims !== undefined && v.dims[0] === 1);
  return { inputs, batchOfOne, ...outputPlan(m, sig, file) };
}

function inputPlan(
  m: ModelManifest,
  tensor: string,
  features: readonly number[],
  v: ValueSignature,
  field: string,
  file: string,
): InputPlan {
  const t = v.elementType;
  if (v.kind !== 'tensor' || t === undefined || !FEEDABLE.has(t)) {
    throw new ManifestMismatchError(
      field,
      `input "${tensor}" of ${file} is ${describe(v)}; mlship feeds float, double, int64, int32, string and bool tensors.`,
    );
  }
  const elementType = t as FeedType;
  const dims = v.dims;
  if (m.input.kind === 'image') {
    if (t !== 'float32' && t !== 'float64')
      throw new ManifestMismatchError('inputTensor', `input "${tensor}" takes ${t}; an image model takes float or double pixels.`);
    const { width: w, height: h, channels: c, layout } = m.input;
    const want = layout === 'NCHW' ? [c, h, w] : layout === 'NHWC' ? [h, w, c] : [w * h * c];
    checkDims(dims, want, 'input.layout', `input "${tensor}"`, `${layout} ${want.join('x')}`);
    return { tensor, elementType, features, dims: (n) => [n, ...want] };
  }
  const all = m.input.features;
  for (const j of features) {
    const f = all[j];
    if (f === undefined)
      throw new ManifestMismatchError('input.features', `input "${tensor}" is fed feature ${j}, but there are ${all.length}.`);
    if (!ACCEPTS[f.type].has(t)) {
      throw new ManifestMismatchError(
        `input.features[${j}].type`,
        `feature "${f.name}" is ${f.type}, but input "${tensor}" takes ${t} (declare it ${suggest(t)}).`,
      );
    }
  }
  const width = features.length;
  if (dims !== undefined && dims.length === 1 && width === 1) return { tensor, elementType, features, dims: (n) => [n] };
  const field2 = m.inputTensor !== undefined ? 'input.features' : `input.features[${features[0]}]`;
  checkDims(dims, [width], field2, `input "${tensor}"`, `${width} feature${width === 1 ? '' : 's'}`);
  return { tensor, elementType, features, dims: (n) => [n, width] };
}

/** Checks [N, ...want] against the declared dims (free dims match anything). */
function checkDims(dims: readonly (number | null)[] | undefined, want: number[], field: string, what: string, declared: string): void {
  if (dims === undefined) return;
  const shown = `[${dims.map((d) => d ?? 'N').join(', ')}]`;
  if (dims.length !== want.length + 1)
    throw new ManifestMismatchError(field, `${what} has shape ${shown}, but model.json declares ${declared}.`);
  want.forEach((w, i) => {
    const d = dims[i + 1];
    if (d !== null && d !== w) throw new ManifestMismatchError(field, `${what} has shape ${shown}, but model.json declares ${declared}.`);
  });
}

/**
 * [N] or [N, 1]: one score per row. For two labels it is the second label's score — a sigmoid's
 * probability (Keras `Dense(1, activation="sigmoid")`), or with `softmax` a logit (a PyTorch BCE head).
 */
function oneScorePerRow(dims: readonly (number | null)[]): boolean {
  return dims.length === 1 || (dims.length === 2 && dims[1] === 1);
}

function outputPlan(m: ModelManifest, sig: GraphSignature, file: string): Pick<ModelPlan, 'scoreTensor' | 'labelTensor' | 'graphLabels'> {
  const out = m.output;
  const v = sig.outputs.find((o) => o.name === out.tensor);
  if (!v) throw new ManifestMismatchError('output.tensor', `names output "${out.tensor}", but ${file} has outputs: ${names(sig.outputs)}.`);
  if (out.kind === 'regression') {
    if (v.kind !== 'tensor' || (v.elementType !== 'float32' && v.elementType !== 'float64')) {
      throw new ManifestMismatchError(
        'output.tensor',
        `output "${v.name}" is ${describe(v)}; a regression output is a float or double tensor [N] or [N, 1].`,
      );
    }
    if (v.dims !== undefined && (v.dims.length > 2 || (v.dims.length === 2 && v.dims[1] !== null && v.dims[1] !== 1))) {
      throw new ManifestMismatchError(
        'output.tensor',
        `output "${v.name}" has shape [${v.dims.map((d) => d ?? 'N').join(', ')}]; a regression output is [N] or [N, 1].`,
      );
    }
    return { scoreTensor: v.name };
  }
  let scoreTensor = v.name;
  let graphLabels = sig.classLabels;
  if (v.kind !== 'tensor') {
    const zip = sig.zipMaps.find((z) => z.output === v.name);
    if (!zip)
      throw new ManifestMismatchError(
        'output.tensor',
        `output "${v.name}" is ${describe(v)} not made by a ZipMap; mlship reads tensor outputs and ZipMap outputs.`,
      );
    scoreTensor = zip.source;
    graphLabels = zip.labels;
  } else {
    if (v.elementType !== 'float32' && v.elementType !== 'float64') {
      throw new ManifestMismatchError(
        'output.tensor',
        `output "${v.name}" is ${describe(v)}; class scores are a float or double tensor [N, ${out.labels.length}].`,
      );
    }
    const d = v.dims;
    if (
      d !== undefined &&
      !(out.labels.length === 2 && oneScorePerRow(d)) &&
      (d.length !== 2 || (d[1] !== null && d[1] !== out.labels.length))
    ) {
      const binary = out.labels.length === 2 ? ' (a binary classifier may also answer one score per row, [N] or [N, 1])' : '';
      throw new ManifestMismatchError(
        'output.labels',
        `model.json lists ${out.labels.length} labels, but output "${v.name}" has shape [${d.map((x) => x ?? 'N').join(', ')}]${binary}.`,
      );
    }
  }
  if (graphLabels !== undefined && graphLabels.length !== out.labels.length) {
    throw new ManifestMismatchError(
      'output.labels',
      `model.json lists ${out.labels.length} labels, but ${file} declares ${graphLabels.length} classes (${graphLabels.slice(0, 10).join(', ')}).`,
    );
  }
  let labelTensor: string | undefined;
  if (out.labelTensor !== undefined) {
    const l = sig.outputs.find((o) => o.name === out.labelTensor);
    if (!l)
      throw new ManifestMismatchError(
        'output.labelTensor',
        `names output "${out.labelTensor}", but ${file} has outputs: ${names(sig.outputs)}.`,
      );
    if (l.kind !== 'tensor' || !['int64', 'int32', 'string'].includes(l.elementType ?? '')) {
      throw new ManifestMismatchError(
        'output.labelTensor',
        `output "${l.name}" is ${describe(l)}; a label output is an int64 or string tensor [N].`,
      );
    }
    labelTensor = l.name;
  }
  return { scoreTensor, ...(labelTensor ? { labelTensor } : {}), ...(graphLabels ? { graphLabels } : {}) };
}

function names(vs: readonly ValueSignature[]): string {
  return vs.map((v) => v.name).join(', ') || '(none)';
}

function describe(v: ValueSignature): string {
  if (v.kind === 'sequence') return 'a sequence';
  if (v.kind === 'map') return 'a map';
  if (v.kind !== 'tensor') return 'not a tensor';
  return `a ${v.elementType} tensor`;
}

/** The feature type to declare for a tensor element type. */
export function suggest(t: ElementType): FeatureType {
  switch (t) {
    case 'string':
      return 'string';
    case 'bool':
      return 'bool';
    case 'float64':
      return 'double';
    case 'float32':
    case 'float16':
      return 'float';
    default:
      return 'int';
  }
}
