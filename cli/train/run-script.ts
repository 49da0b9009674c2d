/**
 * Runs a model folder's `train.py` as a SageMaker training job runs it (script mode), on this machine:
 * in a temporary working directory laid out like the job's (`input/data/<channel>/`, `model/`,
 * `output/data/`), with `SM_CHANNEL_TRAIN`, `SM_CHANNEL_VALIDATION`, `SM_MODEL_DIR` and
 * `SM_OUTPUT_DATA_DIR` set, hyperparameters as arguments, the machine's python3, a time limit, and its
 * output captured.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SNAPSHOT_FILES } from '../../contract/bucket';
import { TRAINING_LIMITS } from '../../contract/training';

export const PYTHON = '/usr/bin/python3';
export const TRAIN_SCRIPT = 'train.py';
/** The helpers the example scripts import, found beside train.py or in its parent folder. */
export const SCRIPT_HELPERS = ['export_tools.py', 'script_mode.py'] as const;

/** The code of a run: train.py and the helpers it imports, and the sha256 of train.py. */
export interface TrainingCode {
  files: { name: string; path: string }[];
  trainPySha256: string;
}

/** Finds train.py in the model folder and the helpers beside it or in its parent folder. */
export function trainingCode(modelDir: string): TrainingCode {
  const script = join(modelDir, TRAIN_SCRIPT);
  if (!existsSync(script))
    throw new Error(`${modelDir} has no ${TRAIN_SCRIPT}: the training contract is SageMaker script mode (see docs/retraining.md).`);
  const files = [{ name: TRAIN_SCRIPT, path: script }];
  for (const helper of SCRIPT_HELPERS) {
    const found = [join(modelDir, helper), join(dirname(modelDir), helper)].find((p) => existsSync(p));
    if (found) files.push({ name: helper, path: found });
  }
  return { files, trainPySha256: createHash('sha256').update(readFileSync(script)).digest('hex') };
}

export interface ScriptRun {
  /** SM_MODEL_DIR: where train.py wrote the model. */
  modelDir: string;
  /** The tail of its output (stdout and stderr interleaved). */
  log: string;
  seconds: number;
}

export interface RunScriptOptions {
  code: TrainingCode;
  /** The working directory (empty; the caller removes it). */
  workDir: string;
  train: string;
  validation: string;
  /** Hyperparameters, passed as `--name value`. */
  parameters: Record<string, string>;
  maxRuntimeSeconds?: number;
  python?: string;
}

/** Lays out the job's folders, runs train.py and returns where the model is; throws with its output's tail when it fails. */
export async function runTrainingScript(opts: RunScriptOptions): Promise<ScriptRun> {
  const code = join(opts.workDir, 'code');
  const channels = { train: join(opts.workDir, 'input', 'data', 'train'), validation: join(opts.workDir, 'input', 'data', 'validation') };
  const modelDir = join(opts.workDir, 'model');
  const outputDir = join(opts.workDir, 'output', 'data');
  for (const d of [code, channels.train, channels.validation, modelDir, outputDir]) mkdirSync(d, { recursive: true });
  for (const f of opts.code.files) copyFileSync(f.path, join(code, f.name));
  writeFileSync(join(channels.train, SNAPSHOT_FILES.train.split('/').pop() as string), opts.train);
  writeFileSync(join(channels.validation, SNAPSHOT_FILES.validation.split('/').pop() as string), opts.validation);

  const args = [TRAIN_SCRIPT, ...Object.entries(opts.parameters).flatMap(([k, v]) => [`--${k}`, v])];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONHASHSEED: '0',
    SM_CHANNEL_TRAIN: channels.train,
    SM_CHANNEL_VALIDATION: channels.validation,
    SM_MODEL_DIR: modelDir,
    SM_OUTPUT_DATA_DIR: outputDir,
  };
  const limit = opts.maxRuntimeSeconds ?? TRAINING_LIMITS.localMaxRuntimeSeconds;
  const started = Date.now();
  const child = spawn(opts.python ?? PYTHON, args, { cwd: code, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-TRAINING_LIMITS.logTailBytes);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, limit * 1000);
  const exit = await new Promise<{ code: number | null; error?: Error }>((done) => {
    child.once('error', (error) => done({ code: null, error }));
    child.once('close', (c) => done({ code: c }));
  }).finally(() => clearTimeout(timer));
  const seconds = (Date.now() - started) / 1000;
  if (exit.error) throw new Error(`Could not run ${opts.python ?? PYTHON}: ${exit.error.message}`);
  if (timedOut) throw new Error(`${TRAIN_SCRIPT} ran longer than ${limit} s and was stopped. Its last output:\n${log}`);
  if (exit.code !== 0) throw new Error(`${TRAIN_SCRIPT} failed (exit ${exit.code}). Its last output:\n${log}`);
  return { modelDir, log, seconds };
}

/** Versions of what a run used: python, scikit-learn, onnx, numpy and onnxruntime-node. */
export async function libraryVersions(python = PYTHON): Promise<Record<string, string>> {
  const probe =
    'import json, platform\nout = {"python": platform.python_version()}\n' +
    'for m in ("sklearn", "onnx", "numpy"):\n    try:\n        out[m] = __import__(m).__version__\n    except Exception:\n        pass\nprint(json.dumps(out))';
  const text = await new Promise<string>((done, fail) => {
    const child = spawn(python, ['-c', probe], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.once('error', fail);
    child.once('close', () => done(out));
  });
  const found = JSON.parse(text) as Record<string, string>;
  const ort = JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string };
  return { ...found, 'onnxruntime-node': ort.version };
}
