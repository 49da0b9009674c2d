/**
 * Loads a model directory (`model.json` + ONNX file) and runs predictions with onnxruntime-node.
 * The server, the batch mode and the local runner all predict through `loadModel`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ApiError, errorMessage } from '../../contract/errors';
import {
  type FeatureValue,
  featureCount,
  type Instance,
  MANIFEST_FILE,
  type ModelManifest,
  packsFloat32,
  type Row,
} from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { type InputPlan, ManifestMismatchError, type ModelPlan, planModel } from '../../contract/model-plan';
import { readOnnx } from '../../contract/onnx-graph';
import type { Prediction } from '../../contract/prediction';
import { decodeImage, PixelBudget } from './image';

export interface LoadModelOptions {
  /**
   * Threads onnxruntime may use inside one `session.run`. Small models run fastest on one thread, and
   * the server already runs one process per core.
   * @default 1
   */
  readonly intraOpThreads?: number;
  /**
   * The directory's `model.json`, already read and checked (a batch run reads it once for all its workers).
   * @default - read from the directory
   */
  readonly manifest?: ModelManifest;
}

export interface LoadedModel {
  readonly manifest: ModelManifest;
  /** Directory the model was loaded from. */
  readonly dir: string;
  /** Values one row feeds the model. */
  readonly featureCount: number;
  /** How the model is fed and read, as checked against its ONNX signature. */
  readonly plan: ModelPlan;
  /** Rows ready for the model (image instances are decoded here; S3 references are refused). */
  toRows(instances: ReadonlyArray<Row | Instance>): Row[];
  /** Predicts rows already in model space with one `session.run` (one per row for a batch-of-one model). */
  run(rows: readonly Row[]): Promise<Prediction[]>;
  /**
   * Predicts `n` rows packed one after another in `values` (float32 features in manifest order) with one
   * `session.run`, and answers in arrays rather than objects: the batch mode's hot path. Throws
   * NON_FINITE_OUTPUT for the first row answered NaN or Infinity, as `run` does.
   */
  runPacked(values: Float32Array, n: number): Promise<PackedAnswers>;
  /** Whether `runPacked` can take this model (float32 tabular features fed as one tensor, batches of any size). */
  readonly takesPacked: boolean;
  /** `toRows` then `run`: one `session.run` for all the given rows or instances. */
  predict(rows: ReadonlyArray<Row | Instance>): Promise<Prediction[]>;
  /** Releases the onnxruntime session. */
  close(): Promise<void>;
}

/**
 * Reads and checks `model.json`, reads the ONNX file it names and checks the manifest against its
 * signature, opens it (with ZipMap probabilities exposed as a tensor) and runs one test prediction, so
 * a model that cannot answer fails here, at start, naming the manifest field.
 */
export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  const manifest = opts.manifest ?? readManifestFile(path.join(dir, MANIFEST_FILE));
  const graph = readOnnx(await readFile(path.join(dir, manifest.file)), manifest.file);
  const plan = planModel(manifest, graph.signature);
  const missing = graph.externalData.filter((f) => !existsSync(path.join(dir, f)));
  if (missing.length > 0)
    throw new Error(
      `${manifest.file} keeps its tensors in ${missing.join(', ')}, not found in ${dir}: copy the file beside ${manifest.file}.`,
    );
  const session = await ort.InferenceSession.create(graph.servable, {
    intraOpNumThreads: opts.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Loaded from bytes, the graph has no folder of its own: external data is read from the model's.
    ...(graph.externalData.length > 0 ? { extra: { session: { model_external_initializers_file_folder_path: path.resolve(dir) } } } : {}),
  });
  const model = new OnnxModel(path.resolve(dir), manifest, plan, session);
  try {
    await model.run([sampleRow(manifest)]);
  } catch (e) {
    // A NaN answer to the all-zero row says nothing about the manifest; anything else does.
    if (!(e instanceof ApiError && e.code === 'NON_FINITE_OUTPUT')) {
      await session.release();
      throw e instanceof ManifestMismatchError ? e : new Error(`A test prediction with ${manifest.file} failed: ${errorMessage(e)}`);
    }
  }
  return model;
}

/** A valid row of neutral values (0, false, the first allowed string), for the start-up test prediction. */
function sampleRow(m: ModelManifest): Row {
  if (packsFloat32(m)) return new Float32Array(featureCount(m));
  if (m.input.kind !== 'tabular') return new Float32Array(featureCount(m));
  return m.input.features.map((f): FeatureValue => (f.type === 'string' ? (f.values?.[0] ?? '') : f.type === 'bool' ? false : 0));
}

type ScoreData = Float32Array | Float64Array;

/**
 * Predictions of a run as arrays: for classifiers the label index of each row and its probabilities in
 * the manifest's label order (`k` per row); for regression one value per row. `run` builds its objects
 * from these, so both carry exactly the same numbers.
 */
export type PackedAnswers =
  | { readonly kind: 'classification'; readonly n: number; readonly label: Uint32Array; readonly probabilities: Float64Array }
  | { readonly kind: 'regression'; readonly n: number; readonly values: ScoreData };

class OnnxModel implements LoadedModel {
  readonly featureCount: number;
  private readonly labels: readonly string[] | undefined;
  /** Graph label (as text) → index into the manifest's labels. */
  private readonly labelIndex: Map<string, number> | undefined;
  private readonly fetches: string[];
  private readonly softmax: boolean;

  constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly plan: ModelPlan,
    private readonly session: ort.InferenceSession,
  ) {
    this.featureCount = featureCount(manifest);
    const out = manifest.output;
    this.labels = out.kind === 'classification' ? out.labels : undefined;
    this.softmax = out.kind === 'classification' && out.softmax;
    this.fetches = plan.labelTensor ? [plan.scoreTensor, plan.labelTensor] : [plan.scoreTensor];
    if (this.labels && plan.labelTensor) {
      // Class labels the label tensor answers: the graph's own, or indices (int) / the manifest's names (string).
      this.labelIndex = plan.graphLabels
        ? new Map(plan.graphLabels.map((l, i) => [l, i]))
        : new Map(
            this.labels.flatMap((l, i): [string, number][] => [
              [String(i), i],
              [l, i],
            ]),
          );
    }
  }

  toRows(instances: ReadonlyArray<Row | Instance>): Row[] {
    // One pixel budget for all the images of the call.
    const budget = this.manifest.input.kind === 'image' ? new PixelBudget(this.manifest.input) : undefined;
    return instances.map((inst, i) => this.rowOf(inst, i, budget));
  }

  async predict(rows: ReadonlyArray<Row | Instance>): Promise<Prediction[]> {
    return this.run(this.toRows(rows));
  }

  async run(rows: readonly Row[]): Promise<Prediction[]> {
    const n = rows.length;
    if (n === 0) return [];
    if (this.plan.batchOfOne && n > 1) {
      // The graph's batch dimension is fixed to 1: one run per row, in order.
      const out: Prediction[] = [];
      for (const [i, row] of rows.entries()) {
        try {
          out.push(...(await this.runBatch([row])));
        } catch (e) {
          throw e instanceof ApiError && e.code === 'NON_FINITE_OUTPUT' ? nonFinite(i) : e;
        }
      }
      return out;
    }
    return this.runBatch(rows);
  }

  get takesPacked(): boolean {
    const only = this.plan.inputs.length === 1 ? this.plan.inputs[0] : undefined;
    return (
      only !== undefined &&
      !this.plan.batchOfOne &&
      only.elementType === 'float32' &&
      only.features.length === this.featureCount &&
      only.features.every((f, i) => f === i)
    );
  }

  async runPacked(values: Float32Array, n: number): Promise<PackedAnswers> {
    if (n === 0)
      return this.labels
        ? { kind: 'classification', n, label: new Uint32Array(0), probabilities: new Float64Array(0) }
        : { kind: 'regression', n, values: new Float64Array(0) };
    const only = this.plan.inputs[0];
    if (!this.takesPacked || only === undefined) throw new Error('This model cannot take packed rows: predict with run().');
    // onnxruntime reads the tensor from the start of its buffer: a view into a larger one is copied.
    const data =
      values.byteOffset === 0 && values.buffer.byteLength === n * this.featureCount * 4 ? values : values.slice(0, n * this.featureCount);
    return this.answer(await this.session.run({ [only.tensor]: new ort.Tensor('float32', data, only.dims(n)) }, this.fetches), n);
  }

  private async runBatch(rows: readonly Row[]): Promise<Prediction[]> {
    const n = rows.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of this.plan.inputs) feeds[input.tensor] = feed(input, rows, n);
    const a = this.answer(await this.session.run(feeds, this.fetches), n);
    const out = new Array<Prediction>(n);
    if (a.kind === 'regression') {
      for (let i = 0; i < n; i++) out[i] = { value: a.values[i] as number }; // i < n = values.length
      return out;
    }
    const labels = this.labels as readonly string[];
    const k = labels.length;
    for (let i = 0; i < n; i++) {
      const probabilities: Record<string, number> = {};
      for (let j = 0; j < k; j++) probabilities[labels[j] as string] = a.probabilities[i * k + j] as number; // j < k, i < n
      out[i] = { label: labels[a.label[i] as number] as string, probabilities }; // label[i] < k, checked by classify
    }
    return out;
  }

  private answer(out: ort.InferenceSession.OnnxValueMapType, n: number): PackedAnswers {
    const scores = fetched(out, this.plan.scoreTensor).data as ScoreData;
    if (!this.labels) return { kind: 'regression', n, values: regress(scores, n) };
    const labelData = this.plan.labelTensor ? (fetched(out, this.plan.labelTensor).data as ArrayLike<bigint | number | string>) : undefined;
    return this.classify(scores, labelData, n);
  }

  private classify(data: ScoreData, labelData: ArrayLike<bigint | number | string> | undefined, n: number): PackedAnswers {
    const labels = this.labels as readonly string[];
    const k = labels.length;
    if (k === 2 && data.length === n) return this.classifyOneScore(data, labelData, n);
    if (data.length !== n * k)
      throw new ManifestMismatchError(
        'output.labels',
        `model.json lists ${k} labels, but the model answered ${data.length / n} scores per row.`,
      );
    const label = new Uint32Array(n);
    const probabilities = new Float64Array(n * k);
    this.pickLabels(data, labelData, n, label, probabilities, new Float64Array(k));
    return { kind: 'classification', n, label, probabilities };
  }

  /**
   * Fills each row's label index and probabilities (softmax applied when the manifest says so; `row`, of
   * one score per label, is room to work in). A loop with nothing before or after it: V8 optimizes it while it runs, and code around such a loop, not yet run at
   * that point, would have the optimized code thrown away as soon as it is reached.
   */
  private pickLabels(
    data: ScoreData,
    labelData: ArrayLike<bigint | number | string> | undefined,
    n: number,
    label: Uint32Array,
    probabilities: Float64Array,
    row: Float64Array,
  ): void {
    const k = row.length;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestScore = -Infinity;
      for (let j = 0; j < k; j++) {
        const v = data[i * k + j] as number; // i * k + j < n * k = data.length
        if (!Number.isFinite(v)) throw nonFinite(i);
        row[j] = v;
        if (v > bestScore) {
          best = j;
          bestScore = v;
        }
      }
      if (this.softmax) softmaxInPlace(row);
      // A loop, not `probabilities.set(row, i * k)`: a builtin call per row costs more than k copies.
      for (let j = 0; j < k; j++) probabilities[i * k + j] = row[j] as number; // j < k = row.length
      if (labelData) best = this.labelAt(labelData[i], k);
      // best < k: an index of the scores, or of the graph's labels, which the plan checked are k too
      label[i] = best;
    }
  }

  /**
   * A binary classifier answering one score per row: the second label's probability, or its logit when
   * the manifest says softmax (softmax over [0, z] is the sigmoid of z).
   */
  private classifyOneScore(data: ScoreData, labelData: ArrayLike<bigint | number | string> | undefined, n: number): PackedAnswers {
    const label = new Uint32Array(n);
    const probabilities = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      const score = data[i] as number; // i < n = data.length
      if (!Number.isFinite(score)) throw nonFinite(i);
      const p = this.softmax ? 1 / (1 + Math.exp(-score)) : score;
      probabilities[2 * i] = 1 - p;
      probabilities[2 * i + 1] = p;
      // Ties go to the first label, as the highest score does over two equal scores.
      label[i] = labelData ? this.labelAt(labelData[i], 2) : p > 0.5 ? 1 : 0;
    }
    return { kind: 'classification', n, label, probabilities };
  }

  /** Index into the manifest's labels of what the label output answered. */
  private labelAt(given: bigint | number | string | undefined, k: number): number {
    const text = String(given);
    const at = this.labelIndex?.get(text);
    if (at === undefined)
      throw new Error(`The label output answered "${text.slice(0, 40)}", which is not one of the model's ${k} classes.`);
    return at;
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  private rowOf(inst: Row | Instance, i: number, budget: PixelBudget | undefined): Row {
    let row: Row;
    if (inst instanceof Float32Array || Array.isArray(inst)) row = inst;
    else if ('values' in inst) row = inst.values;
    else if ('image' in inst) {
      if (this.manifest.input.kind !== 'image' || budget === undefined)
        throw new ApiError('INVALID_FEATURE_TYPE', 'This model takes tabular rows, not images.', `instances[${i}]`);
      row = decodeImage(this.manifest.input, inst.image, `instances[${i}]`, budget);
    } else {
      throw new ApiError('INVALID_S3_KEY', 'S3 keys are resolved by the API, not by the model server.', `instances[${i}].s3Key`);
    }
    if (row.length !== this.featureCount) {
      throw new ApiError('WRONG_FEATURE_COUNT', `Expected ${this.featureCount} values, got ${row.length}.`, `instances[${i}]`);
    }
    return row;
  }
}

/** The NaN/Infinity answer for row `i` of a run: a 5xx for the request that sent it, never a label. */
function nonFinite(i: number): ApiError {
  return new ApiError(
    'NON_FINITE_OUTPUT',
    `The model answered NaN or Infinity for instances[${i}]; no prediction was made from it.`,
    `instances[${i}]`,
  );
}

/** An output `session.run` was asked to fetch. */
function fetched(out: ort.InferenceSession.OnnxValueMapType, name: string): ort.OnnxValue {
  const t = out[name];
  if (t === undefined) throw new Error(`The model run gave no "${name}" output.`);
  return t;
}

/** One input tensor for N rows, in the element type the graph declares. */
function feed(input: InputPlan, rows: readonly Row[], n: number): ort.Tensor {
  const cols = input.features;
  const w = cols.length;
  const dims = input.dims(n);
  const first = rows[0];
  if (input.elementType === 'float32' && first instanceof Float32Array && first.length === w && cols[w - 1] === w - 1) {
    // Float32 rows straight into the tensor: the hot path of single-tensor models and images.
    if (n === 1 && first.byteOffset === 0 && first.buffer.byteLength === w * 4) return new ort.Tensor('float32', first, dims);
    const packed = new Float32Array(n * w);
    for (let i = 0; i < n; i++) packed.set(rows[i] as Float32Array, i * w);
    return new ort.Tensor('float32', packed, dims);
  }
  const size = n * w;
  switch (input.elementType) {
    case 'float32':
    case 'float64':
    case 'int32': {
      const data =
        input.elementType === 'float32'
          ? new Float32Array(size)
          : input.elementType === 'float64'
            ? new Float64Array(size)
            : new Int32Array(size);
      for (let i = 0; i < n; i++) {
        const row = rows[i] as Row; // i < n = rows.length
        for (let j = 0; j < w; j++) data[i * w + j] = row[cols[j] as number] as number; // j < w = cols.length
      }
      return new ort.Tensor(input.elementType, data, dims);
    }
    case 'int64': {
      const data = new BigInt64Array(size);
      for (let i = 0; i < n; i++) {
        const row = rows[i] as Row; // i < n = rows.length
        for (let j = 0; j < w; j++) data[i * w + j] = BigInt(row[cols[j] as number] as number); // j < w = cols.length
      }
      return new ort.Tensor('int64', data, dims);
    }
    case 'bool': {
      const data = new Uint8Array(size);
      for (let i = 0; i < n; i++) {
        const row = rows[i] as Row; // i < n = rows.length
        for (let j = 0; j < w; j++) data[i * w + j] = row[cols[j] as number] ? 1 : 0; // j < w = cols.length
      }
      return new ort.Tensor('bool', data, dims);
    }
    case 'string': {
      const data = new Array<string>(size);
      for (let i = 0; i < n; i++) {
        const row = rows[i] as Row; // i < n = rows.length
        for (let j = 0; j < w; j++) data[i * w + j] = String(row[cols[j] as number]); // j < w = cols.length
      }
      return new ort.Tensor('string', data, dims);
    }
  }
}

function softmaxInPlace(row: Float64Array): void {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  // j < row.length in both loops
  for (let j = 0; j < row.length; j++) {
    const e = Math.exp((row[j] as number) - max);
    row[j] = e;
    sum += e;
  }
  for (let j = 0; j < row.length; j++) row[j] = (row[j] as number) / sum;
}

function regress(data: ScoreData, n: number): ScoreData {
  if (data.length !== n)
    throw new ManifestMismatchError(
      'output.tensor',
      `The model answered ${data.length} values for ${n} rows; a regression output is [N] or [N, 1].`,
    );
  for (let i = 0; i < n; i++) if (!Number.isFinite(data[i] as number)) throw nonFinite(i); // i < n = data.length
  return data;
}
