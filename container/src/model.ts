/**
 * Loads a model directory (`model.json` + ONNX file) and runs predictions with onnxruntime-node.
 * The server, the batch mode and the local runner all predict through `loadModel`.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ApiError } from '../../contract/errors';
import { featureCount, Instance, MANIFEST_FILE, ModelManifest, parseManifest } from '../../contract/manifest';
import { Prediction } from '../../contract/prediction';
import { decodeImage, PixelBudget } from './image';

export interface LoadModelOptions {
  /**
   * Threads onnxruntime may use inside one `session.run`. Small models run fastest on one thread, and
   * the server already runs one process per core.
   * @default 1
   */
  readonly intraOpThreads?: number;
}

export interface LoadedModel {
  readonly manifest: ModelManifest;
  /** Directory the model was loaded from. */
  readonly dir: string;
  /** Values one row feeds the model. */
  readonly featureCount: number;
  /** Rows ready for the model (image instances are decoded here; S3 references are refused). */
  toRows(instances: ReadonlyArray<Float32Array | Instance>): Float32Array[];
  /** Predicts rows already in model space with one `session.run`. */
  run(rows: readonly Float32Array[]): Promise<Prediction[]>;
  /** `toRows` then `run`: one `session.run` for all the given rows or instances. */
  predict(rows: ReadonlyArray<Float32Array | Instance>): Promise<Prediction[]>;
  /** Releases the onnxruntime session. */
  close(): Promise<void>;
}

/** Reads and checks `model.json`, then opens the ONNX file it names. */
export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (e) {
    throw new Error(`Cannot read the model manifest ${manifestPath}: ${(e as Error).message}`);
  }
  const manifest = parseManifest(raw, manifestPath);
  const session = await ort.InferenceSession.create(path.join(dir, manifest.file), {
    intraOpNumThreads: opts.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  checkTensorNames(manifest, session);
  return new OnnxModel(path.resolve(dir), manifest, session);
}

function checkTensorNames(m: ModelManifest, session: ort.InferenceSession): void {
  if (!session.inputNames.includes(m.inputTensor)) {
    throw new Error(`model.json names input tensor "${m.inputTensor}", but ${m.file} has inputs: ${session.inputNames.join(', ')}`);
  }
  if (!session.outputNames.includes(m.output.tensor)) {
    throw new Error(`model.json names output tensor "${m.output.tensor}", but ${m.file} has outputs: ${session.outputNames.join(', ')}`);
  }
}

class OnnxModel implements LoadedModel {
  readonly featureCount: number;
  private readonly inputDims: (n: number) => number[];
  private readonly labels: readonly string[] | undefined;

  constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    private readonly session: ort.InferenceSession,
  ) {
    this.featureCount = featureCount(manifest);
    this.inputDims = tensorShape(manifest);
    this.labels = manifest.output.kind === 'classification' ? manifest.output.labels : undefined;
  }

  toRows(instances: ReadonlyArray<Float32Array | Instance>): Float32Array[] {
    const rows = new Array<Float32Array>(instances.length);
    // One pixel budget for all the images of the call.
    const budget = this.manifest.input.kind === 'image' ? new PixelBudget(this.manifest.input) : undefined;
    for (let i = 0; i < instances.length; i++) rows[i] = this.rowOf(instances[i], i, budget);
    return rows;
  }

  async predict(rows: ReadonlyArray<Float32Array | Instance>): Promise<Prediction[]> {
    return this.run(this.toRows(rows));
  }

  async run(rows: readonly Float32Array[]): Promise<Prediction[]> {
    const n = rows.length;
    if (n === 0) return [];
    const f = this.featureCount;
    let packed: Float32Array;
    if (n === 1 && rows[0].byteOffset === 0 && rows[0].buffer.byteLength === f * 4) {
      packed = rows[0]; // a lone row that owns its buffer goes to onnxruntime as is
    } else {
      packed = new Float32Array(n * f);
      for (let i = 0; i < n; i++) packed.set(rows[i], i * f);
    }
    const feeds = { [this.manifest.inputTensor]: new ort.Tensor('float32', packed, this.inputDims(n)) };
    const out = await this.session.run(feeds, [this.manifest.output.tensor]);
    const data = out[this.manifest.output.tensor].data as Float32Array;
    return this.labels ? classify(data, n, this.labels) : regress(data, n);
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  private rowOf(inst: Float32Array | Instance, i: number, budget: PixelBudget | undefined): Float32Array {
    let row: Float32Array;
    if (inst instanceof Float32Array) row = inst;
    else if ('values' in inst) row = inst.values;
    else if ('image' in inst) {
      if (this.manifest.input.kind !== 'image' || budget === undefined) throw new ApiError('INVALID_FEATURE_TYPE', 'This model takes tabular rows, not images.', `instances[${i}]`);
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

/** The input tensor's dimensions for N rows, from the manifest's layout. */
function tensorShape(m: ModelManifest): (n: number) => number[] {
  const input = m.input;
  if (input.kind === 'tabular' || input.layout === 'flat') {
    const f = featureCount(m);
    return (n) => [n, f];
  }
  const { width: w, height: h, channels: c } = input;
  return input.layout === 'NCHW' ? (n) => [n, c, h, w] : (n) => [n, h, w, c];
}

function classify(data: Float32Array, n: number, labels: readonly string[]): Prediction[] {
  const k = labels.length;
  if (data.length !== n * k) throw new Error(`The model answered ${data.length} values for ${n} rows and ${k} labels.`);
  const out = new Array<Prediction>(n);
  for (let i = 0; i < n; i++) {
    const probabilities: Record<string, number> = {};
    let best = 0;
    for (let j = 0; j < k; j++) {
      const p = data[i * k + j];
      probabilities[labels[j]] = p;
      if (p > data[i * k + best]) best = j;
    }
    out[i] = { label: labels[best], probabilities };
  }
  return out;
}

function regress(data: Float32Array, n: number): Prediction[] {
  if (data.length !== n) throw new Error(`The model answered ${data.length} values for ${n} rows.`);
  const out = new Array<Prediction>(n);
  for (let i = 0; i < n; i++) out[i] = { value: data[i] };
  return out;
}
