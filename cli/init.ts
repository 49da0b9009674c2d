/**
 * `mlship init MODEL.onnx --out DIR`: writes a ready model directory from a converter's ONNX file. The
 * manifest is inferred from the graph's signature and its ML operators' attributes (class labels, ZipMap,
 * label output), feature names and the drift baseline from a sample CSV, and parity vectors from the
 * training framework's own predictions in a column of that sample. What cannot be inferred is asked for
 * by naming the flag. The result is checked exactly as the model server checks it at start.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../container/src/model';
import { BASELINE_FILE } from '../contract/baseline';
import { type CsvRecord, parseCsv } from '../contract/csv';
import { errorMessage } from '../contract/errors';
import {
  cellValue,
  type FeatureType,
  type FeatureValue,
  MANIFEST_FILE,
  type ModelManifest,
  parseManifest,
  type Row,
} from '../contract/manifest';
import { planModel, suggest } from '../contract/model-plan';
import { type GraphSignature, readOnnx, type ValueSignature } from '../contract/onnx-graph';
import type { Prediction } from '../contract/prediction';
import { GOLDEN_SET_FILE } from '../contract/rollout';

export interface InitOptions {
  /** The ONNX file. */
  readonly model: string;
  /** Model directory to write. */
  readonly out: string;
  /** @default - the ONNX file's name, lower-cased */
  readonly name?: string;
  /** @default '1' */
  readonly version?: string;
  /** A sample CSV with a header row naming the columns. */
  readonly data?: string;
  /** Class labels, in the model's class order. */
  readonly labels?: readonly string[];
  /** Column of the sample holding the training framework's own prediction (label or value). */
  readonly expectedColumn?: string;
}

export interface InitResult {
  readonly dir: string;
  readonly manifest: ModelManifest;
  readonly files: string[];
  /** What was inferred and from where, one line each. */
  readonly notes: string[];
  /** Predictions of up to five sample rows. */
  readonly predictions: { input: FeatureValue[] | string; prediction: Prediction }[];
  /** Rows whose served answer differs from the expected column (parity.json is then not written). */
  readonly parityMismatches: number;
  /** Rows checked against the expected column. */
  readonly parityRows: number;
  /** The first rows that differ, with both answers. */
  readonly parityDiffs: readonly ParityDiff[];
}

/** A sample row whose served answer differs from the training framework's. */
export interface ParityDiff {
  /** Data row of the sample, from 1 (the header row not counted). */
  readonly row: number;
  /** The framework's answer (`--expected-column`), as the model names it. */
  readonly expected: string;
  /** The served model's answer. */
  readonly served: string;
}

/** A problem the user fixes with a flag; the message names it. */
export class InitError extends Error {}

/** Probability tensors come from these ops; any other float [N, C] output is taken as logits. */
const PROBABILITY_OPS = new Set([
  'Softmax',
  'LinearClassifier',
  'TreeEnsembleClassifier',
  'SVMClassifier',
  'Normalizer',
  'ZipMap',
  'Sigmoid',
]);
/** Ops that answer regression values: a [N, k] output of one of them is k targets, not k class scores. */
const REGRESSOR_OPS = new Set(['TreeEnsembleRegressor', 'LinearRegressor', 'SVMRegressor']);
/** skl2onnx's name for a regressor's output. */
const SKL2ONNX_REGRESSION_OUTPUT = 'variable';
const PARITY_ROWS = 50;
/** Differing parity rows named in the result. */
const PARITY_DIFFS_SHOWN = 5;
const BINS = 10;

export async function initModel(opts: InitOptions): Promise<InitResult> {
  const bytes = readFileSync(opts.model);
  const graph = readOnnx(bytes, path.basename(opts.model));
  const sig = graph.signature;
  const external = graph.externalData.map((f) => {
    const from = path.join(path.dirname(opts.model), f);
    if (!existsSync(from)) throw new InitError(`${path.basename(opts.model)} keeps its tensors in ${f}, which is not beside it (${from}).`);
    return { file: f, from };
  });
  const notes: string[] = [];
  const sample = opts.data !== undefined ? readCsv(opts.data) : undefined;
  const file = /^[A-Za-z0-9._-]+\.onnx$/.test(path.basename(opts.model)) ? path.basename(opts.model) : 'model.onnx';
  const name =
    opts.name ??
    (path
      .basename(opts.model, '.onnx')
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63) ||
      'model');

  const input = inferInput(sig, sample, opts.expectedColumn, notes);
  const output = inferOutput(sig, opts.labels, notes);
  const manifest = parseManifest({ name, version: opts.version ?? '1', file, ...input, output }, 'the inferred model.json');
  // The server's own start-up check, so a directory init writes is one the server starts with.
  planModel(manifest, sig, file);

  mkdirSync(opts.out, { recursive: true });
  copyFileSync(opts.model, path.join(opts.out, file));
  for (const e of external) {
    mkdirSync(path.dirname(path.join(opts.out, e.file)), { recursive: true });
    copyFileSync(e.from, path.join(opts.out, e.file));
  }
  if (external.length > 0) notes.push(`external data: ${external.map((e) => e.file).join(', ')} (copied beside ${file}; deployed with it)`);
  writeJson(path.join(opts.out, MANIFEST_FILE), manifest);
  const files = [file, ...external.map((e) => e.file), MANIFEST_FILE];

  const model = await loadModel(opts.out);
  try {
    const rows = sample ? sampleRows(manifest, sample) : [];
    const predictions = rows.length > 0 ? await model.run(rows.slice(0, Math.max(5, PARITY_ROWS))) : [];
    let parity = { rows: 0, mismatches: 0, diffs: [] as ParityDiff[] };
    if (sample) {
      const all = rows.length > PARITY_ROWS ? await model.run(rows) : predictions;
      writeJson(path.join(opts.out, BASELINE_FILE), baselineOf(manifest, rows, all, sample, opts.expectedColumn));
      files.push(BASELINE_FILE);
      if (opts.expectedColumn !== undefined) {
        const golden = parityOf(manifest, rows, predictions, sample, opts.expectedColumn);
        parity = golden;
        // A parity file the served model fails would fail the deploy's rollout check: none, not even an older one.
        if (golden.mismatches > 0) rmSync(path.join(opts.out, GOLDEN_SET_FILE), { force: true });
        else {
          writeJson(path.join(opts.out, GOLDEN_SET_FILE), golden.set);
          files.push(GOLDEN_SET_FILE);
        }
      }
    } else {
      notes.push(
        'no --data: pass a sample CSV (header row naming the columns) to write baseline.json, which drift monitoring and `cdk deploy` need',
      );
    }
    const shown = rows.length > 0 ? rows.slice(0, 5) : [];
    return {
      dir: opts.out,
      manifest,
      files,
      notes,
      predictions: shown.map((r, i) => ({
        input: Array.from(r as ArrayLike<FeatureValue>),
        prediction: nth(predictions, i, 'prediction'),
      })),
      parityMismatches: parity.mismatches,
      parityRows: parity.rows,
      parityDiffs: parity.diffs,
    };
  } finally {
    await model.close();
  }
}

type ManifestInput = Pick<ModelManifest, 'inputTensor' | 'input'>;

function inferInput(sig: GraphSignature, sample: Csv | undefined, expected: string | undefined, notes: string[]): ManifestInput {
  const inputs = sig.inputs;
  const [v] = inputs;
  if (v === undefined) throw new InitError('The ONNX graph has no inputs to feed.');
  const columns = sample?.header.filter((h) => h !== expected);
  if (inputs.length > 1 || (v.dims?.length === 2 && v.dims[1] === 1 && columns?.length !== 1 && columns?.includes(v.name))) {
    // One input per column, as skl2onnx writes a ColumnTransformer pipeline.
    const typed = inputs.map((v) => ({ name: v.name, type: featureType(v) }));
    notes.push(`inputs: one [N, 1] tensor per feature (${typed.map((f) => `${f.name}: ${f.type}`).join(', ')})`);
    const features = withMissing(
      typed.map((f) => withCategories(f, sig, f.name, 0, notes)),
      typed.map((f) => ({ input: f.name, column: 0 })),
      sig,
      notes,
    );
    return { input: { kind: 'tabular', features } };
  }
  const dims = v.dims;
  if (dims !== undefined && dims.length === 4) {
    const [, a, b, c] = dims;
    const nchw = a === 1 || a === 3;
    const [channels, height, width] = nchw ? [a, b, c] : [c, a, b];
    if ((channels !== 1 && channels !== 3) || !height || !width) {
      throw new InitError(
        `Input "${v.name}" has shape [${dims.map((d) => d ?? 'N').join(', ')}]: mlship serves images [N, C, H, W] or [N, H, W, C] with C = 1 or 3 and fixed H and W.`,
      );
    }
    notes.push(
      `input "${v.name}": ${nchw ? 'NCHW' : 'NHWC'} image ${width}x${height}, ${channels} channel(s); preprocessing defaults to pixel / 255 (edit input.preprocess to match training)`,
    );
    return {
      inputTensor: v.name,
      input: {
        kind: 'image',
        width,
        height,
        channels: channels as 1 | 3,
        layout: nchw ? 'NCHW' : 'NHWC',
        preprocess: { scale: 1 / 255, mean: [0], std: [1], invert: false },
      },
    };
  }
  const width = dims?.[1] ?? null;
  const type = featureType(v);
  let names: string[];
  if (columns !== undefined && (width === null || columns.length === width)) {
    names = columns;
    notes.push(`features: ${names.length} named by the sample's header, type ${type} (input "${v.name}")`);
  } else if (width !== null) {
    if (columns !== undefined)
      throw new InitError(
        `Input "${v.name}" takes ${width} features but the --data header has ${columns.length} columns besides --expected-column.`,
      );
    names = Array.from({ length: width }, (_x, i) => `${v.name}_${i}`);
    notes.push(
      `features: ${width} named ${names[0]}…${names[width - 1]} after input "${v.name}" (pass --data SAMPLE.csv with a header row to name them)`,
    );
  } else {
    throw new InitError(`Input "${v.name}" has no fixed feature count: pass --data SAMPLE.csv with a header row naming the features.`);
  }
  const features = withMissing(
    names.map((n, column) => withCategories({ name: n, type }, sig, v.name, column, notes)),
    names.map((_n, column) => ({ input: v.name, column })),
    sig,
    notes,
  );
  return { inputTensor: v.name, input: { kind: 'tabular', features } };
}

/** Features named in a note, at most this many. */
const NAMED_IN_NOTE = 8;

/**
 * Marks nullable the numeric features whose missing values the graph handles (an Imputer replacing NaN,
 * or trees routing missing values: `GraphSignature.missingValues`), so the API lets them be missing
 * instead of refusing null; one note per operator says which and why. `at[i]` is feature i's input column.
 */
function withMissing(
  features: TabularFeature[],
  at: readonly { input: string; column: number }[],
  sig: GraphSignature,
  notes: string[],
): TabularFeature[] {
  const byOp = new Map<string, string[]>();
  const out = features.map((f, i) => {
    const where = at[i];
    const handled = sig.missingValues.find((m) => m.input === where?.input && m.column === where.column);
    if (handled === undefined || (f.type !== 'float' && f.type !== 'double')) return f;
    byOp.set(handled.by, [...(byOp.get(handled.by) ?? []), f.name]);
    return { ...f, nullable: true };
  });
  for (const [op, names] of byOp) {
    const why = op === 'Imputer' ? 'an Imputer replaces NaN' : `${op} routes missing values (nodes_missing_value_tracks_true)`;
    const shown = names.slice(0, NAMED_IN_NOTE).join(', ') + (names.length > NAMED_IN_NOTE ? `, … (${names.length} in all)` : '');
    notes.push(`nullable: ${shown} may be missing (JSON null or "NaN", an empty CSV cell), sent to the model as NaN: ${why} in the graph`);
  }
  return out;
}

type TabularFeature = Extract<ModelManifest['input'], { kind: 'tabular' }>['features'][number];

/**
 * A string feature's allowed values from the OneHotEncoder that reads its column: with `zeros=0`
 * (scikit-learn's default handle_unknown='error') an unknown value would fail the model run, so the API
 * refuses it first (400 UNKNOWN_CATEGORY); with `zeros=1` any string is served, as the model does.
 */
function withCategories(f: TabularFeature, sig: GraphSignature, input: string, column: number, notes: string[]): TabularFeature {
  if (f.type !== 'string') return f;
  const found = sig.categories.find((c) => c.input === input && c.column === column);
  if (!found) return f;
  if (found.unknownAsZeros) {
    notes.push(
      `feature "${f.name}": the model one-hot encodes ${found.values.length} categories and reads any other value as none of them`,
    );
    return f;
  }
  notes.push(
    `feature "${f.name}": allowed values ${found.values.map((v) => JSON.stringify(v)).join(', ')} (the model's OneHotEncoder categories)`,
  );
  return { ...f, values: [...found.values] };
}

function featureType(v: ValueSignature): FeatureType {
  if (v.kind !== 'tensor' || v.elementType === undefined)
    throw new InitError(`Input "${v.name}" is not a tensor: mlship feeds tensors only (sequence and map inputs cannot be served).`);
  return suggest(v.elementType);
}

function inferOutput(sig: GraphSignature, given: readonly string[] | undefined, notes: string[]): ModelManifest['output'] {
  const zip = sig.zipMaps.find((z) => sig.outputs.some((o) => o.name === z.output));
  const labelOut = sig.outputs.find(
    (o) =>
      o.kind === 'tensor' && (o.elementType === 'int64' || o.elementType === 'string') && (o.dims === undefined || o.dims.length === 1),
  );
  const floats = sig.outputs.filter((o) => o.kind === 'tensor' && (o.elementType === 'float32' || o.elementType === 'float64'));
  let tensor: string;
  let graphLabels = sig.classLabels;
  if (zip) {
    tensor = zip.output;
    graphLabels = zip.labels;
    notes.push(`output "${zip.output}": ZipMap probabilities (served from its input tensor "${zip.source}")`);
  } else {
    const scores = floats.find((o) => o.dims?.length === 2 && (o.dims[1] ?? 2) > 1) ?? (graphLabels ? floats[0] : undefined);
    if (!scores) {
      const value = floats[0];
      if (!value)
        throw new InitError(
          `No float output to read: outputs are ${sig.outputs.map((o) => `${o.name} (${o.kind}${o.elementType ? ` ${o.elementType}` : ''})`).join(', ')}.`,
        );
      return oneScoreOutput(value, sig.producers[value.name], given, notes);
    }
    tensor = scores.name;
    const width = scores.dims?.[1];
    const producer = sig.producers[scores.name];
    if (!graphLabels && !given && (REGRESSOR_OPS.has(producer ?? '') || scores.name === SKL2ONNX_REGRESSION_OUTPUT)) {
      throw new InitError(
        `Output "${scores.name}" answers ${width ?? 'several'} values per row, as a regressor with several targets does; mlship serves one value per row (a regression output [N] or [N, 1]): export one model per target. If these are class scores, pass --labels a,b,… in the model's class order.`,
      );
    }
    const softmax = !graphLabels && producer !== undefined && !PROBABILITY_OPS.has(producer);
    notes.push(
      `output "${scores.name}": class ${softmax ? `logits (written by ${producer}; softmax applied)` : 'probabilities'}${width ? `, ${width} classes` : ''}`,
    );
    if (!graphLabels && !given) {
      throw new InitError(
        `Output "${scores.name}" holds ${width ?? 'several'} class scores but the model does not name its classes: pass --labels a,b,… in the model's class order.`,
      );
    }
    if (softmax) {
      const labels = labelsOf(given, graphLabels, width);
      notes.push(`labels: ${labels.join(', ')}${given ? ' (from --labels)' : ' (from the model)'}`);
      return { kind: 'classification', labels, tensor, softmax: true };
    }
  }
  const labels = labelsOf(given, graphLabels, undefined);
  notes.push(`labels: ${labels.join(', ')}${given ? ' (from --labels)' : ' (from the model)'}`);
  if (labelOut) notes.push(`output "${labelOut.name}": predicted label (decides the answer, as predict() does)`);
  return { kind: 'classification', labels, tensor, ...(labelOut ? { labelTensor: labelOut.name } : {}), softmax: false };
}

/**
 * One float per row: a regression value, or — with two --labels, or when a Sigmoid writes it — a binary
 * classifier's score for the second label (a logit unless a probability op writes it).
 */
function oneScoreOutput(
  value: GraphSignature['outputs'][number],
  producer: string | undefined,
  given: readonly string[] | undefined,
  notes: string[],
): ModelManifest['output'] {
  const shape = value.dims === undefined ? undefined : value.dims.map((d) => d ?? 'N').join(', ');
  const probability = producer !== undefined && PROBABILITY_OPS.has(producer);
  if (given === undefined) {
    if (producer === 'Sigmoid')
      throw new InitError(
        `Output "${value.name}" holds one probability per row (written by Sigmoid): a binary classifier. Pass --labels negative,positive (the second is the class it scores).`,
      );
    notes.push(`output "${value.name}": regression value (a binary classifier's logit? pass --labels negative,positive)`);
    return { kind: 'regression', tensor: value.name };
  }
  if (given.length !== 2)
    throw new InitError(
      `Output "${value.name}" holds one score per row${shape ? ` [${shape}]` : ''}: --labels then names the two classes of a binary classifier (negative,positive), not ${given.length}.`,
    );
  notes.push(
    `output "${value.name}": one ${probability ? `probability (written by ${producer})` : `logit (written by ${producer ?? 'the graph'}; sigmoid applied)`} per row for "${given[1]}"; "${given[0]}" gets the rest`,
  );
  notes.push(`labels: ${given.join(', ')} (from --labels)`);
  return { kind: 'classification', labels: [...given], tensor: value.name, softmax: !probability };
}

function labelsOf(given: readonly string[] | undefined, graph: readonly string[] | undefined, width: number | null | undefined): string[] {
  const n = graph?.length ?? width ?? given?.length;
  if (given) {
    if (n !== undefined && n !== null && given.length !== n)
      throw new InitError(`--labels lists ${given.length} labels but the model has ${n} classes${graph ? ` (${graph.join(', ')})` : ''}.`);
    return [...given];
  }
  return [...(graph ?? [])];
}

interface Csv {
  header: string[];
  rows: string[][];
}

/** A small CSV reader for the sample: a header row, then rows; double-quoted cells may hold commas. */
/** The sample CSV, read by the same RFC 4180 parser as the API (quoted commas and line breaks; cells trimmed, a byte order mark too). */
function readCsv(file: string): Csv {
  const text = readFileSync(file, 'utf8');
  let records: CsvRecord[];
  try {
    records = parseCsv(text, Number.MAX_SAFE_INTEGER);
  } catch (e) {
    throw new InitError(`--data ${file}: ${errorMessage(e)}`);
  }
  const [first, ...rest] = records;
  if (first === undefined || rest.length === 0) throw new InitError(`--data ${file} needs a header row and at least one data row.`);
  return { header: first.cells, rows: rest.map((r) => r.cells) };
}

/** The sample's rows as model rows, cells converted by the contract's rules. */
function sampleRows(m: ModelManifest, csv: Csv): Row[] {
  if (m.input.kind !== 'tabular') return [];
  const features = m.input.features;
  const columns = features.map((f) => {
    const i = csv.header.indexOf(f.name);
    if (i === -1) throw new InitError(`--data has no column "${f.name}" (its header: ${csv.header.slice(0, 8).join(', ')}…).`);
    return { f, i };
  });
  return csv.rows.map((cells, r) => columns.map(({ f, i }) => cellValue(f, cells[i] ?? '', `--data row ${r + 1}, column ${f.name}`)));
}

function baselineOf(m: ModelManifest, rows: Row[], predictions: Prediction[], csv: Csv, expected: string | undefined): unknown {
  if (m.input.kind !== 'tabular')
    throw new InitError('--data describes tabular models; image baselines are written by the training script.');
  const features = m.input.features.map((f, j) => {
    const column = rows.map((r) => r[j]);
    if (f.type === 'string' || f.type === 'bool') {
      const text = column.map((v) => String(v));
      const categories = [...new Set(text)].sort();
      return {
        name: f.name,
        kind: 'categorical',
        categories,
        proportions: [...categories.map((c) => text.filter((t) => t === c).length / text.length), 0],
      };
    }
    // Missing values (a nullable feature's NaN) are no part of the distribution.
    const present = (column as number[]).filter((v) => !Number.isNaN(v));
    if (present.length === 0)
      throw new InitError(`--data holds no value of feature "${f.name}" (every one is missing): the baseline needs some.`);
    return numericBaseline(f.name, present);
  });
  const out: Record<string, unknown> = { rows: rows.length, bins: BINS, features };
  if (m.output.kind === 'classification') {
    const labels = m.output.labels;
    const e = expected !== undefined ? csv.header.indexOf(expected) : -1;
    const seen = e >= 0 ? csv.rows.map((c) => c[e]) : predictions.map((p) => ('label' in p ? p.label : ''));
    out.classPriors = Object.fromEntries(labels.map((l, i) => [l, seen.filter((s) => s === l || s === String(i)).length / seen.length]));
  }
  return out;
}

/** Deciles as numpy computes them (linear interpolation), binned with searchsorted(side="left"). */
function numericBaseline(name: string, values: number[]): unknown {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const q = (p: number) => {
    const pos = p * (n - 1);
    const lo = Math.floor(pos);
    const below = nth(sorted, lo, 'value');
    const above = sorted[lo + 1];
    return above === undefined ? below : below + (pos - lo) * (above - below);
  };
  const edges = Array.from({ length: BINS - 1 }, (_x, i) => q((i + 1) / BINS));
  const counts = new Array<number>(BINS).fill(0);
  for (const v of values) {
    const bin = edges.filter((e) => e < v).length;
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return { name, mean, std, min: sorted[0], max: sorted[n - 1], edges, proportions: counts.map((c) => c / n) };
}

function parityOf(
  m: ModelManifest,
  rows: Row[],
  predictions: Prediction[],
  csv: Csv,
  expected: string,
): { set: unknown; rows: number; mismatches: number; diffs: ParityDiff[] } {
  const e = csv.header.indexOf(expected);
  if (e === -1) throw new InitError(`--expected-column "${expected}" is not in the --data header.`);
  const n = Math.min(PARITY_ROWS, rows.length);
  let mismatches = 0;
  const diffs: ParityDiff[] = [];
  const differs = (row: number, want: string, served: string) => {
    mismatches++;
    if (diffs.length < PARITY_DIFFS_SHOWN) diffs.push({ row, expected: want, served });
  };
  const out = [];
  for (let i = 0; i < n; i++) {
    const cell = nth(csv.rows, i, 'sample row')[e] ?? '';
    const p = nth(predictions, i, 'prediction');
    const input = Array.from(nth(rows, i, 'row') as ArrayLike<FeatureValue>);
    if (m.output.kind === 'regression') {
      const value = Number(cell);
      if ('value' in p && !(Math.abs(p.value - value) <= 1e-4 * Math.max(1, Math.abs(value)))) differs(i + 1, cell, String(p.value));
      out.push({ input, value });
    } else {
      // The framework's label as the model names it (a class index or the label itself).
      const labels = m.output.labels;
      const label = labels.includes(cell) ? cell : (labels[Number(cell)] ?? cell);
      if (!('label' in p) || p.label !== label) differs(i + 1, label, 'label' in p ? p.label : JSON.stringify(p));
      out.push({ input, label, probabilities: 'label' in p ? labels.map((l) => p.probabilities[l]) : [] });
    }
  }
  return { set: m.output.kind === 'classification' ? { labels: m.output.labels, rows: out } : { rows: out }, rows: n, mismatches, diffs };
}

/** Item `i` of one of the parallel lists (sample rows, model rows, predictions), which all hold it. */
function nth<T>(items: readonly T[], i: number, what: string): T {
  const item = items[i];
  if (item === undefined) throw new Error(`No ${what} ${i}: there are ${items.length}.`);
  return item;
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 1)}\n`);
}

/** What init prints: the inferred model, five predictions, and the next commands, or the rows that failed the parity check. */
export function formatInit(r: InitResult): string {
  const lines = [`wrote ${r.dir}: ${r.files.join(', ')}`, ...r.notes.map((n) => `  ${n}`)];
  if (r.predictions.length > 0) {
    lines.push('sample predictions:');
    for (const p of r.predictions) lines.push(`  ${JSON.stringify(p.input).slice(0, 80)} → ${JSON.stringify(p.prediction).slice(0, 120)}`);
  }
  if (r.parityMismatches > 0) {
    // A failed check is the last word: the folder is not ready for the next step.
    lines.push(
      `${r.parityMismatches} of ${r.parityRows} parity rows differ from --expected-column: the served model does not reproduce the training framework, so ${GOLDEN_SET_FILE} was not written.`,
      ...r.parityDiffs.map((d) => `  row ${d.row}: expected ${JSON.stringify(d.expected)}, served ${JSON.stringify(d.served)}`),
    );
    if (r.parityMismatches > r.parityDiffs.length) lines.push(`  … and ${r.parityMismatches - r.parityDiffs.length} more`);
    return lines.join('\n');
  }
  lines.push('next:', `  npm start -- --model ${r.dir}`, `  npx cdk deploy --all -c modelDir=${r.dir}`);
  return lines.join('\n');
}
