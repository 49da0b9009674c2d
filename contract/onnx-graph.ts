/**
 * Reads an ONNX file's signature (inputs, outputs, element types, shapes) and the class labels its ML
 * ops declare, and makes graphs servable by onnxruntime-node, which cannot return non-tensor outputs:
 * a ZipMap's probability tensor (its input) becomes a graph output. The user's file is never changed.
 *
 * This module needs no onnxruntime, so `cdk synth` and `mlship init` read the same signature the model
 * server checks at start.
 */
import { onnx } from 'onnx-proto';
import { errorMessage } from './errors';

/** Tensor element types as onnxruntime-node names them. */
export type ElementType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'string'
  | 'bool'
  | 'other';

const ELEMENT_TYPES: Record<number, ElementType> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
};

/** A graph input or output as declared. */
export interface ValueSignature {
  readonly name: string;
  /** `sequence` and `map` values cannot cross onnxruntime-node's boundary. */
  readonly kind: 'tensor' | 'sequence' | 'map' | 'other';
  readonly elementType?: ElementType;
  /** Dimensions: a size, or null for a free (named or unknown) one. Undefined when the rank is unknown. */
  readonly dims?: readonly (number | null)[];
}

/** A ZipMap node: its output is a sequence of maps built from its input tensor. */
export interface ZipMapInfo {
  /** Graph output name (skl2onnx: `output_probability`). */
  readonly output: string;
  /** The probability tensor [N, C] ZipMap reads. */
  readonly source: string;
  /** Its `classlabels_int64s` or `classlabels_strings`, as text. */
  readonly labels: readonly string[];
}

/** The categories a OneHotEncoder (`cats_strings`) knows for one string column of a graph input. */
export interface InputCategories {
  readonly input: string;
  /** The column of the input ([N, C] inputs are read column by column through Gather). */
  readonly column: number;
  readonly values: readonly string[];
  /** `zeros=1` (scikit-learn's handle_unknown='ignore'): an unknown value encodes as all zeros instead of failing the run. */
  readonly unknownAsZeros: boolean;
}

/** A column of a graph input whose missing values (NaN) the graph itself handles. */
export interface MissingValueColumn {
  readonly input: string;
  /** The column of the input (0 for a [N, 1] input). */
  readonly column: number;
  /** The operator that handles it: `Imputer` (replaced_value NaN), or a tree ensemble that routes missing values. */
  readonly by: string;
}

export interface GraphSignature {
  /** Inputs the caller must feed (initializers excluded). */
  readonly inputs: readonly ValueSignature[];
  readonly outputs: readonly ValueSignature[];
  readonly zipMaps: readonly ZipMapInfo[];
  /** Class labels an ML classifier op declares (TreeEnsembleClassifier, LinearClassifier, SVMClassifier, ZipMap). */
  readonly classLabels?: readonly string[];
  /** Operator types in the graph, for messages and `mlship init`. */
  readonly ops: readonly string[];
  /** The operator that writes each graph output, looking through Identity and Cast. */
  readonly producers: Readonly<Record<string, string>>;
  /** String categories of graph input columns that feed a OneHotEncoder. */
  readonly categories: readonly InputCategories[];
  /** Input columns the graph takes missing (NaN), as an imputing pipeline or a tree model trained with missing values does. */
  readonly missingValues: readonly MissingValueColumn[];
}

/** A parsed ONNX model: its signature and the bytes onnxruntime should load. */
export interface OnnxGraph {
  readonly signature: GraphSignature;
  /**
   * The file's bytes with each ZipMap's input added as a graph output and weights no longer listed as
   * graph inputs, or the file's bytes as they are when there is nothing to change.
   */
  readonly servable: Uint8Array;
  /**
   * Files beside the ONNX file that hold its tensors (external data, as exporters write models over
   * 2 GB or when asked), relative to the ONNX file's folder, sorted; empty when every tensor is inline.
   */
  readonly externalData: readonly string[];
}

const CLASSIFIER_OPS = new Set(['TreeEnsembleClassifier', 'LinearClassifier', 'SVMClassifier', 'ZipMap']);

/** Parses the model and prepares its servable bytes. Throws a plain message on a file that is not ONNX. */
export function readOnnx(bytes: Uint8Array, source = 'model.onnx'): OnnxGraph {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${source} is not an ONNX model: ${errorMessage(e)}`);
  }
  const graph = model.graph;
  if (!graph) throw new Error(`${source} is not an ONNX model: it has no graph.`);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name)).map(valueSignature);
  const outputs = (graph.output ?? []).map(valueSignature);
  const zipMaps: ZipMapInfo[] = [];
  let classLabels: string[] | undefined;
  const ops = new Set<string>();
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    ops.add(op);
    if (!CLASSIFIER_OPS.has(op)) continue;
    const labels = labelsOf(node);
    if (labels && !classLabels) classLabels = labels;
    const [input] = node.input ?? [];
    const [output] = node.output ?? [];
    if (op === 'ZipMap' && labels && input && output) zipMaps.push({ output, source: input, labels });
  }
  const writer = new Map<string, onnx.INodeProto>();
  for (const node of graph.node ?? []) for (const o of node.output ?? []) writer.set(o, node);
  const producers: Record<string, string> = {};
  for (const o of outputs) {
    let node = writer.get(o.name);
    for (let hops = 0; node && (node.opType === 'Identity' || node.opType === 'Cast') && hops < 16; hops++)
      node = writer.get(node.input?.[0] ?? '');
    if (node?.opType) producers[o.name] = node.opType;
  }
  const categories = inputCategories(graph, writer, new Set(inputs.map((v) => v.name)));
  const missingValues = missingValueColumns(graph, writer, new Map(inputs.map((v) => [v.name, v])));
  const signature: GraphSignature = {
    inputs,
    outputs,
    zipMaps,
    ...(classLabels ? { classLabels } : {}),
    ops: [...ops],
    producers,
    categories,
    missingValues,
  };
  const outputNames = new Set(outputs.map((o) => o.name));
  const exposed = zipMaps.filter((z) => outputNames.has(z.output) && !outputNames.has(z.source)).map((z) => z.source);
  // Old exporters (torch's keep_initializers_as_inputs, opset < 9) list every weight as a graph input too:
  // onnxruntime then treats weights as overridable and skips constant folding, warning on stderr.
  const weightsAsInputs = (graph.input ?? []).some((v) => initializers.has(v.name));
  const base = weightsAsInputs
    ? onnx.ModelProto.encode({
        ...model,
        graph: { ...graph, input: (graph.input ?? []).filter((v) => !initializers.has(v.name)) },
      }).finish()
    : bytes;
  return {
    signature,
    servable: exposed.length === 0 ? base : withOutputs(base, exposed),
    externalData: externalDataFiles(graph, source),
  };
}

/**
 * The files a graph's tensors are kept in (initializers, Constant nodes' tensors, subgraphs'), each a
 * relative path inside the model's folder: onnxruntime refuses others, and the model package holds only
 * what is inside that folder.
 */
function externalDataFiles(graph: onnx.IGraphProto, source: string): string[] {
  const files = new Set<string>();
  const tensor = (t: onnx.ITensorProto | null | undefined) => {
    if (t?.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return;
    const location = (t.externalData ?? []).find((e) => e.key === 'location')?.value;
    if (!location) throw new Error(`${source}: tensor "${t.name}" is kept in external data that names no file.`);
    const normal = location.replace(/\\/g, '/');
    if (normal.startsWith('/') || /^[A-Za-z]:/.test(normal) || normal.split('/').includes('..'))
      throw new Error(
        `${source}: tensor "${t.name}" is kept in "${location}", outside the model's folder; keep external data beside the ONNX file.`,
      );
    files.add(normal.replace(/^(\.\/)+/, ''));
  };
  const walk = (g: onnx.IGraphProto | null | undefined) => {
    if (!g) return;
    for (const t of g.initializer ?? []) tensor(t);
    for (const t of g.sparseInitializer ?? []) {
      tensor(t.values);
      tensor(t.indices);
    }
    for (const node of g.node ?? [])
      for (const a of node.attribute ?? []) {
        tensor(a.t);
        for (const t of a.tensors ?? []) tensor(t);
        walk(a.g);
        for (const sub of a.graphs ?? []) walk(sub);
      }
  };
  walk(graph);
  return [...files].sort();
}

/**
 * The string categories each OneHotEncoder reads from a graph input column, as skl2onnx writes them: the
 * input itself for a [N, 1] column, or `Gather(input, [i], axis=1)` for column i of a wider input.
 */
function inputCategories(graph: onnx.IGraphProto, writer: Map<string, onnx.INodeProto>, inputNames: Set<string>): InputCategories[] {
  const constants = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const out: InputCategories[] = [];
  for (const node of graph.node ?? []) {
    if (node.opType !== 'OneHotEncoder') continue;
    const attr = (name: string) => (node.attribute ?? []).find((a) => a.name === name);
    const cats = attr('cats_strings')?.strings;
    if (!cats || cats.length === 0) continue;
    let name = node.input?.[0] ?? '';
    let column = 0;
    for (let hops = 0; !inputNames.has(name) && hops < 16; hops++) {
      const w = writer.get(name);
      if (w?.opType === 'Identity') name = w.input?.[0] ?? '';
      else if (w?.opType === 'Gather' && Number((w.attribute ?? []).find((a) => a.name === 'axis')?.i ?? 0) === 1) {
        const index = scalarInt(constants.get(w.input?.[1] ?? ''));
        if (index === undefined) break;
        column = index;
        name = w.input?.[0] ?? '';
      } else break;
    }
    if (!inputNames.has(name)) continue;
    const values = cats.map((c) => Buffer.from(c).toString('utf8'));
    out.push({ input: name, column, values, unknownAsZeros: Number(attr('zeros')?.i ?? 1) === 1 });
  }
  return out;
}

const TREE_ENSEMBLES = new Set(['TreeEnsembleRegressor', 'TreeEnsembleClassifier']);
/** Ops that keep each column where it is and a NaN a NaN (a missing value passes through them). */
const COLUMNWISE = new Set(['Identity', 'Cast', 'Scaler']);

/**
 * The graph input columns that may be missing: those an ai.onnx.ml `Imputer` replaces when NaN
 * (`replaced_value_float` NaN, as skl2onnx writes SimpleImputer(missing_values=np.nan)), and the features
 * on which a tree ensemble routes missing values (`nodes_missing_value_tracks_true`, as XGBoost,
 * LightGBM and HistGradientBoosting converters write trees that learnt where missing values go). Columns
 * are followed back through Identity, Cast, Scaler, Gather (one column) and Concat (axis 1).
 */
function missingValueColumns(
  graph: onnx.IGraphProto,
  writer: Map<string, onnx.INodeProto>,
  inputs: Map<string, ValueSignature>,
): MissingValueColumn[] {
  const constants = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const attr = (node: onnx.INodeProto, name: string) => (node.attribute ?? []).find((a) => a.name === name);
  const axis = (node: onnx.INodeProto) => Number(attr(node, 'axis')?.i ?? 0);
  // Column selection by constant indices: Gather on axis 1, or ai.onnx.ml ArrayFeatureExtractor (skl2onnx's ColumnTransformer).
  const picksColumns = (node: onnx.INodeProto) => (node.opType === 'Gather' && axis(node) === 1) || node.opType === 'ArrayFeatureExtractor';
  /** How many columns a tensor has, when the graph says. */
  const width = (name: string, depth = 0): number | undefined => {
    const v = inputs.get(name);
    if (v !== undefined) return v.dims?.length === 2 ? (v.dims[1] ?? undefined) : v.dims?.length === 1 ? 1 : undefined;
    const w = writer.get(name);
    if (w === undefined || depth > 32) return undefined;
    if (COLUMNWISE.has(w.opType ?? '') || w.opType === 'Imputer') return width(w.input?.[0] ?? '', depth + 1);
    if (picksColumns(w)) return constantInts(constants.get(w.input?.[1] ?? ''))?.length;
    if (w.opType === 'Concat' && axis(w) === 1) {
      let sum = 0;
      for (const part of w.input ?? []) {
        const p = width(part, depth + 1);
        if (p === undefined) return undefined;
        sum += p;
      }
      return sum;
    }
    return undefined;
  };
  /** The graph input column that column `col` of tensor `name` holds, when it is one. */
  const source = (name: string, col: number, depth = 0): { input: string; column: number } | undefined => {
    if (inputs.has(name)) return { input: name, column: col };
    const w = writer.get(name);
    if (w === undefined || depth > 32) return undefined;
    const [first = ''] = w.input ?? [];
    if (COLUMNWISE.has(w.opType ?? '') || w.opType === 'Imputer') return source(first, col, depth + 1);
    if (picksColumns(w)) {
      const index = constantInts(constants.get(w.input?.[1] ?? ''))?.[col];
      return index === undefined ? undefined : source(first, index, depth + 1);
    }
    if (w.opType === 'Concat' && axis(w) === 1) {
      let at = col;
      for (const part of w.input ?? []) {
        const p = width(part, depth + 1);
        if (p === undefined) return undefined;
        if (at < p) return source(part, at, depth + 1);
        at -= p;
      }
    }
    return undefined;
  };
  const found = new Map<string, MissingValueColumn>();
  const add = (tensor: string, col: number, by: string) => {
    const s = source(tensor, col);
    const key = s && `${s.input}\u0000${s.column}`;
    if (s !== undefined && key !== undefined && !found.has(key)) found.set(key, { ...s, by });
  };
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const [input = ''] = node.input ?? [];
    if (op === 'Imputer') {
      const replaced = attr(node, 'replaced_value_float');
      if (replaced === undefined || !Number.isNaN(replaced.f)) continue;
      const columns = width(input) ?? attr(node, 'imputed_value_floats')?.floats?.length ?? 0;
      for (let c = 0; c < columns; c++) add(input, c, op);
    } else if (TREE_ENSEMBLES.has(op)) {
      const tracks = attr(node, 'nodes_missing_value_tracks_true')?.ints ?? [];
      const features = attr(node, 'nodes_featureids')?.ints ?? [];
      const modes = attr(node, 'nodes_modes')?.strings ?? [];
      tracks.forEach((t, i) => {
        const mode = modes[i];
        if (Number(t) !== 1 || mode === undefined || Buffer.from(mode).toString() === 'LEAF') return;
        add(input, Number(features[i] ?? -1), op);
      });
    }
  }
  return [...found.values()].sort((a, b) => a.input.localeCompare(b.input) || a.column - b.column);
}

/** The integers of an int64/int32 initializer. */
function constantInts(t: onnx.ITensorProto | undefined): number[] | undefined {
  if (!t) return undefined;
  if (t.int64Data && t.int64Data.length > 0) return t.int64Data.map(Number);
  if (t.int32Data && t.int32Data.length > 0) return [...t.int32Data];
  const raw = t.rawData;
  if (!raw || raw.length === 0) return undefined;
  const view = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  if (t.dataType === onnx.TensorProto.DataType.INT64 && raw.length % 8 === 0)
    return Array.from({ length: raw.length / 8 }, (_v, i) => Number(view.readBigInt64LE(8 * i)));
  if (t.dataType === onnx.TensorProto.DataType.INT32 && raw.length % 4 === 0)
    return Array.from({ length: raw.length / 4 }, (_v, i) => view.readInt32LE(4 * i));
  return undefined;
}

/** The single integer of a one-element int64/int32 initializer. */
function scalarInt(t: onnx.ITensorProto | undefined): number | undefined {
  const ints = constantInts(t);
  return ints?.length === 1 ? ints[0] : undefined;
}

/**
 * Adds float tensors as graph outputs by appending a second ModelProto record: protobuf merges a repeated
 * embedded message field, so the parser sees the original graph with extra outputs. Nothing of the
 * original is re-encoded, so fields this package's schema does not know survive.
 */
function withOutputs(bytes: Uint8Array, names: readonly string[]): Uint8Array {
  const patch = onnx.ModelProto.encode({
    graph: { output: names.map((name) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } })) },
  }).finish();
  const out = new Uint8Array(bytes.length + patch.length);
  out.set(bytes, 0);
  out.set(patch, bytes.length);
  return out;
}

function valueSignature(v: onnx.IValueInfoProto): ValueSignature {
  const name = v.name ?? '';
  const t = v.type;
  if (t?.tensorType) {
    const shape = t.tensorType.shape;
    return {
      name,
      kind: 'tensor',
      elementType: ELEMENT_TYPES[t.tensorType.elemType ?? 0] ?? 'other',
      ...(shape ? { dims: (shape.dim ?? []).map((d) => (d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : null)) } : {}),
    };
  }
  if (t?.sequenceType) return { name, kind: 'sequence' };
  if (t?.mapType) return { name, kind: 'map' };
  return { name, kind: 'other' };
}

function labelsOf(node: onnx.INodeProto): string[] | undefined {
  for (const a of node.attribute ?? []) {
    // ZipMap and TreeEnsembleClassifier say classlabels_int64s; LinearClassifier and SVMClassifier classlabels_ints.
    if ((a.name === 'classlabels_int64s' || a.name === 'classlabels_ints') && a.ints && a.ints.length > 0)
      return a.ints.map((i) => String(i));
    if (a.name === 'classlabels_strings' && a.strings && a.strings.length > 0) return a.strings.map((s) => Buffer.from(s).toString('utf8'));
  }
  return undefined;
}

/** Reads an ONNX file from disk. */
export async function readOnnxFile(file: string): Promise<OnnxGraph> {
  const { readFile } = await import('node:fs/promises');
  return readOnnx(await readFile(file), file);
}
