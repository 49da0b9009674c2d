/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * The example models' training scripts under SageMaker's script-mode contract, run with Debian's Python
 * as a training job runs them: data from SM_CHANNEL_TRAIN (the committed dataset.csv), output into
 * SM_MODEL_DIR. What they write must be a model mlship serves: a manifest that parses, an ONNX file that
 * fits it and reproduces the written parity.json, a baseline for its kind and metrics.json. The committed
 * dataset.csv must train the very model the bundled data set trains.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../../container/src/model';
import { checkBaselineMatches, type ModelBaseline, parseBaseline } from '../../contract/baseline';
import { type ModelManifest, validateInstances } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import type { Prediction } from '../../contract/prediction';
import { maxProbabilityDiff, ROOT } from '../container/helpers';
import { describeWithTools, PYTHON } from '../support/external-tools';

const MODELS = path.join(ROOT, 'models');
const SM_FILES = ['baseline.json', 'metrics.json', 'model.json', 'model.onnx', 'parity.json'];

/** The example models and the name of the answer column of their training CSV. */
const EXAMPLES = [
  { name: 'breast-cancer', answer: 'label' },
  { name: 'digits', answer: 'label' },
  { name: 'diabetes-risk', answer: 'label' },
  { name: 'diabetes-progression', answer: 'target' },
];

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a training script with the given script-mode variables (and none inherited). One BLAS thread:
 * the machine's cores are shared, and every comparison here is between runs made the same way.
 */
function runScript(script: string, vars: Record<string, string>, args: string[] = []): Promise<Run> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SM_')));
  const env = { ...inherited, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1', ...vars };
  return new Promise((resolve) => {
    execFile(PYTHON, [script, ...args], { env, timeout: 120_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ status, stdout, stderr });
    });
  });
}

const train = (model: string, vars: Record<string, string>, args: string[] = []) =>
  runScript(path.join(MODELS, model, 'train.py'), vars, args);

/** A channel folder holding the given CSV files. */
function channel(parent: string, name: string, files: Record<string, string>): string {
  const dir = path.join(parent, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  return dir;
}

const committed = (model: string, file: string) => readFileSync(path.join(MODELS, model, file));
const json = (dir: string, file: string): unknown => JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
const baselineIn = (dir: string): ModelBaseline => parseBaseline(json(dir, 'baseline.json'));

interface ParityRow {
  input: unknown[];
  label?: string;
  probabilities?: number[];
  value?: number;
}

/** Loads a model folder the way the server does and checks it against its own parity.json. */
async function expectServedParity(dir: string): Promise<number> {
  const par = json(dir, 'parity.json') as { labels?: string[]; rows: ParityRow[] };
  const model = await loadModel(dir);
  try {
    const served: Prediction[] = await model.predict(validateInstances(model.manifest, { instances: par.rows.map((r) => r.input) }));
    par.rows.forEach((want, i) => {
      const got = served[i];
      if ('value' in got) {
        const expected = want.value as number;
        expect(Math.abs(got.value - expected) / Math.max(1, Math.abs(expected))).toBeLessThan(1e-5);
      } else {
        expect(got.label).toBe(want.label);
        expect(maxProbabilityDiff(got.probabilities, want.probabilities as number[], par.labels as string[])).toBeLessThan(1e-5);
      }
    });
    return par.rows.length;
  } finally {
    await model.close();
  }
}

/** The manifest without its training facts, which say where the data came from. */
function servedPart(m: ModelManifest): Omit<ModelManifest, 'training'> {
  const { training: _training, ...rest } = m;
  return rest;
}

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'mlship-script-mode-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describeWithTools(['python3-sklearn'], "the example models' train.py under script mode", () => {
  describe.each(EXAMPLES)('$name train.py', ({ name, answer }) => {
    let bundledOut: string;
    let channelOut: string;
    let bundledRun: Run;
    let channelRun: Run;

    beforeAll(async () => {
      const work = path.join(scratch, name);
      bundledOut = path.join(work, 'bundled-out');
      channelOut = path.join(work, 'channel-out');
      // WHEN the script trains on scikit-learn's bundled data, then on the committed dataset.csv through the training channel
      bundledRun = await train(name, { SM_MODEL_DIR: bundledOut });
      const trainDir = channel(work, 'train', { 'dataset.csv': committed(name, 'dataset.csv').toString('utf8') });
      channelRun = await train(name, { SM_CHANNEL_TRAIN: trainDir, SM_MODEL_DIR: channelOut });
    }, 240_000);

    test('writes the model files and metrics.json into SM_MODEL_DIR', () => {
      expect(bundledRun).toMatchObject({ status: 0, stderr: '' });
      expect(channelRun).toMatchObject({ status: 0, stderr: '' });
      expect(readdirSync(channelOut).sort()).toEqual(SM_FILES);
      expect(readdirSync(bundledOut).sort()).toEqual(SM_FILES);
    });

    test('the committed dataset.csv trains the same model as the bundled data set', () => {
      for (const file of ['model.onnx', 'parity.json', 'baseline.json', 'metrics.json'])
        expect(readFileSync(path.join(channelOut, file)).equals(readFileSync(path.join(bundledOut, file)))).toBe(true);
      const fromChannel = readManifestFile(path.join(channelOut, 'model.json'));
      const fromBundled = readManifestFile(path.join(bundledOut, 'model.json'));
      expect(fromChannel).toEqual({ ...fromBundled, training: { ...fromBundled.training, dataset: fromChannel.training?.dataset } });
      expect(fromChannel.training?.dataset).toMatch(/^training channel: \d+ rows of CSV \(dataset\.csv\)$/);
    });

    test('the manifest describes the committed model, and its ONNX file serves and reproduces the written parity.json', async () => {
      const manifest = readManifestFile(path.join(channelOut, 'model.json'));
      expect(servedPart(manifest)).toEqual(servedPart(readManifestFile(path.join(MODELS, name, 'model.json'))));
      expect(await expectServedParity(channelOut)).toBe(50);
    });

    test("metrics.json holds the held-out metrics, the same as the baseline's evaluation", () => {
      const manifest = readManifestFile(path.join(channelOut, 'model.json'));
      const baseline = baselineIn(channelOut);
      checkBaselineMatches(manifest, baseline);
      const metrics = json(channelOut, 'metrics.json') as Record<string, number>;
      expect(metrics).toEqual(baseline.evaluation);
      expect(metrics.rows).toBe(manifest.training?.testRows);
      if (manifest.output.kind === 'classification') {
        expect(Object.keys(metrics)).toEqual(['rows', 'accuracy', 'macroF1']);
        expect(manifest.training?.metrics).toMatchObject({ accuracy: metrics.accuracy });
        expect(metrics.macroF1).toBeGreaterThan(0.5);
        expect(metrics.macroF1).toBeLessThanOrEqual(1);
      } else {
        expect(Object.keys(metrics)).toEqual(['rows', 'mae', 'rmse']);
        expect(metrics.mae).toBeGreaterThan(0);
        expect(metrics.rmse).toBeGreaterThanOrEqual(metrics.mae);
        expect(baseline.prediction?.proportions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      }
    });

    test('--export-dataset writes the committed dataset.csv: the baseline features, then the answer column', async () => {
      const out = path.join(scratch, name, 'export', 'dataset.csv');
      const run = await train(name, {}, ['--export-dataset', out]);
      expect(run.status).toBe(0);
      expect(readFileSync(out).equals(committed(name, 'dataset.csv'))).toBe(true);
      const header = readFileSync(out, 'utf8').split('\n', 1)[0].split(',');
      expect(header).toEqual([...baselineIn(bundledOut).features.map((f) => f.name), answer]);
    });
  });

  describe('script mode in detail', () => {
    // The fastest model to train, and a regressor.
    const MODEL = 'diabetes-progression';
    const [header, ...rows] = committed(MODEL, 'dataset.csv').toString('utf8').trimEnd().split('\n');
    const csv = (lines: string[]) => `${lines.join('\n')}\n`;
    /** The same rows with the columns in reverse order. */
    const reversed = (lines: string[]) => lines.map((l) => l.split(',').reverse().join(','));

    test('hyperparameters are arguments; the validation channel holds out its rows; a channel reads every CSV file, columns by name', async () => {
      const work = path.join(scratch, 'detail');
      const args = ['--n-estimators', '20', '--learning-rate', '0.1', '--model-version', '2.0.0'];
      const validation = channel(work, 'validation', { 'held-out.csv': csv([header, ...rows.slice(400)]) });
      // GIVEN the first 400 rows in one file, and the same rows split over two files, the second with its columns reversed
      const oneFile = channel(work, 'one-file', { 'rows.csv': csv([header, ...rows.slice(0, 400)]) });
      const twoFiles = channel(work, 'two-files', {
        'part-1.csv': csv([header, ...rows.slice(0, 250)]),
        'part-2.csv': csv(reversed([header, ...rows.slice(250, 400)])),
        'notes.txt': 'not a CSV file: ignored',
      });
      // WHEN both train with the validation channel
      const outOne = path.join(work, 'out-one');
      const outTwo = path.join(work, 'out-two');
      expect(
        await train(MODEL, { SM_CHANNEL_TRAIN: oneFile, SM_CHANNEL_VALIDATION: validation, SM_MODEL_DIR: outOne }, args),
      ).toMatchObject({
        status: 0,
      });
      expect(
        await train(MODEL, { SM_CHANNEL_TRAIN: twoFiles, SM_CHANNEL_VALIDATION: validation, SM_MODEL_DIR: outTwo }, args),
      ).toMatchObject({
        status: 0,
      });
      // THEN they train the same model, on 400 rows, evaluated on the 42 validation rows, with the given hyperparameters
      expect(readFileSync(path.join(outTwo, 'model.onnx')).equals(readFileSync(path.join(outOne, 'model.onnx')))).toBe(true);
      const manifest = readManifestFile(path.join(outTwo, 'model.json'));
      expect(manifest.version).toBe('2.0.0');
      expect(manifest.training).toMatchObject({
        dataset: 'training channel: 400 rows of CSV (part-1.csv, part-2.csv)',
        algorithm: 'GradientBoostingRegressor(n_estimators=20, learning_rate=0.1, max_depth=2)',
        trainRows: 400,
        testRows: 42,
        split: 'validation channel: 42 rows of CSV (held-out.csv)',
      });
      expect(json(outTwo, 'metrics.json')).toMatchObject({ rows: 42 });
      expect(baselineIn(outTwo).rows).toBe(400);
      expect(readFileSync(path.join(outTwo, 'model.onnx')).equals(committed(MODEL, 'model.onnx'))).toBe(false);
      expect(await expectServedParity(outTwo)).toBe(42);
    }, 120_000);

    test("without SM_MODEL_DIR the files go into the model folder, and no metrics.json; a training job's flat source folder trains the same", async () => {
      // GIVEN copies of the scripts (the committed files stay untouched): as in the repository, and flat, as a
      // training job's source folder holds them (train.py with the helpers beside it)
      const copy = path.join(scratch, 'copy');
      const flat = path.join(scratch, 'flat');
      for (const f of ['export_tools.py', 'script_mode.py', `${MODEL}/train.py`]) {
        cpSync(path.join(MODELS, f), path.join(copy, f));
        cpSync(path.join(MODELS, f), path.join(flat, path.basename(f)));
      }
      const sm = path.join(scratch, 'sm-out');
      // WHEN the repository copy runs with no script-mode variable, and the flat one with SM_MODEL_DIR only
      expect(await runScript(path.join(copy, MODEL, 'train.py'), {})).toMatchObject({ status: 0 });
      expect(await runScript(path.join(flat, 'train.py'), { SM_MODEL_DIR: sm })).toMatchObject({ status: 0 });
      // THEN the model folder gets the four files the training job gets, byte for byte, and no metrics file
      expect(readdirSync(path.join(copy, MODEL)).sort()).toEqual(['baseline.json', 'model.json', 'model.onnx', 'parity.json', 'train.py']);
      expect(readdirSync(sm).sort()).toEqual(SM_FILES);
      for (const file of ['baseline.json', 'model.json', 'model.onnx', 'parity.json'])
        expect(readFileSync(path.join(copy, MODEL, file)).equals(readFileSync(path.join(sm, file)))).toBe(true);
    }, 120_000);

    test.each([
      [
        'a column missing',
        MODEL,
        (h: string) => h.replace(',s6', ''),
        /the header must name each of age, sex, .*, target once; missing: s6\./,
      ],
      ['a column the model does not have', MODEL, (h: string) => `${h},id`, /not a column of this model: id\./],
      [
        'a cell that is not a number',
        MODEL,
        (h: string) => `${h}\n59,2,32.1,101,157,93.2,38,4,4.8598,NaN,151`,
        /line 2: s6 is 'NaN', not a finite number\./,
      ],
      [
        'a label the classifier does not have',
        'breast-cancer',
        (h: string) => `${h}\n${Array(30).fill('1').join(',')},maybe`,
        /line 2: label is 'maybe'; this model's labels are malignant, benign\./,
      ],
    ])('a training CSV with %s stops the run, naming the file and the problem', async (problem, model, edit, message) => {
      const head = committed(model, 'dataset.csv').toString('utf8').split('\n', 1)[0];
      const dir = channel(path.join(scratch, 'bad', problem.replace(/\W+/g, '-')), 'train', { 'data.csv': `${edit(head)}\n` });
      const out = path.join(scratch, 'bad-out');
      const run = await train(model, { SM_CHANNEL_TRAIN: dir, SM_MODEL_DIR: out });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(path.join(dir, 'data.csv'));
      expect(run.stderr).toMatch(message);
    });

    test('--help lists the hyperparameters with their defaults', async () => {
      const run = await train(MODEL, {}, ['--help']);
      expect(run.status).toBe(0);
      for (const option of [
        '--seed',
        '--test-size',
        '--model-version',
        '--export-dataset',
        '--n-estimators',
        '--learning-rate',
        '--max-depth',
      ])
        expect(run.stdout).toContain(option);
      expect(run.stdout).toContain('(default: 100)');
    });
  });
});
