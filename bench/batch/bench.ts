/**
 * Batch scoring benchmark: the batch mode against the usual course recipe (pandas reads the whole CSV,
 * scikit-learn predicts, pandas writes), on the same generated file, in the same run.
 *
 *   npx tsx bench/batch/bench.ts [--rows 1000000] [--workers 0] [--keep]
 *
 * Each side runs in its own process so its peak RSS is its own; the batch worker runs bundled, as in the
 * image. Wall time and rows/s depend on what else the machine runs; CPU seconds much less so. The batch mode also runs on a fifth of
 * the rows: flat memory means the two peaks are about the same, while pandas grows with the file.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { runBatch } from '../../container/src/batch/run-batch';
import { writeDataset } from '../../test/support/dataset';

const ROOT = path.resolve(__dirname, '../..');
const MODEL = path.join(ROOT, 'models/breast-cancer');
const PYTHON = '/usr/bin/python3';

interface Result {
  readonly engine: string;
  readonly rows: number;
  readonly seconds: number;
  readonly peakRssMiB: number;
  /** User + system CPU of the whole process: a figure that holds when the machine is busy. */
  readonly cpuSeconds: number;
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** Runs a command and returns the last line it printed on stdout (each side prints one JSON line). */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim().split('\n').pop() ?? '') : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

/**
 * The worker bundled as the image ships it (`batch-worker.js`), so the run does not compile TypeScript
 * in every worker. It sits under node_modules/.cache so `onnxruntime-node` resolves from it.
 */
function bundleWorker(): string {
  const outfile = path.join(ROOT, 'node_modules/.cache/mlship-batch-bench/batch-worker.js');
  buildSync({
    entryPoints: [path.join(ROOT, 'container/src/batch/worker.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    outfile,
    external: ['onnxruntime-node'],
    logLevel: 'warning',
  });
  return outfile;
}

async function batchMode(input: string, output: string, workers: number, workerScript: string): Promise<Result> {
  const line = await run(process.execPath, ['--import', 'tsx', __filename, 'child', input, output, String(workers), workerScript]);
  const s = JSON.parse(line) as { rows: number; elapsedMs: number; peakRssMiB: number; cpuSeconds: number };
  return {
    engine: `mlship batch (${workers || os.availableParallelism()} workers)`,
    rows: s.rows,
    seconds: s.elapsedMs / 1000,
    peakRssMiB: s.peakRssMiB,
    cpuSeconds: s.cpuSeconds,
  };
}

async function pandas(input: string, output: string): Promise<Result> {
  const line = await run(PYTHON, [path.join(__dirname, 'sklearn_baseline.py'), input, output]);
  const s = JSON.parse(line) as { rows: number; seconds: number; peakRssMiB: number; cpuSeconds: number };
  return {
    engine: 'pandas + scikit-learn',
    rows: s.rows,
    seconds: s.seconds,
    peakRssMiB: Math.round(s.peakRssMiB),
    cpuSeconds: s.cpuSeconds,
  };
}

/** Share of rows where both sides chose the same label (float32 ONNX vs float64 scikit-learn). */
function labelAgreement(a: string, b: string, rows: number): number {
  const labels = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n', rows + 1)
      .slice(1)
      .map((l) => l.split(',').slice(0, 2).join(','));
  const x = labels(a);
  const y = labels(b);
  return x.filter((v, i) => v === y[i]).length / Math.max(x.length, 1);
}

async function main(): Promise<void> {
  const rows = Number(flag('rows', '1000000'));
  const workers = Number(flag('workers', '0'));
  const dir = path.join(os.tmpdir(), 'mlship-batch-bench');
  mkdirSync(dir, { recursive: true });
  const big = path.join(dir, `data-${rows}.csv`);
  const small = path.join(dir, `data-${Math.round(rows / 5)}.csv`);
  for (const [file, n] of [
    [big, rows],
    [small, Math.round(rows / 5)],
  ] as const) {
    if (!existsSync(file)) {
      process.stderr.write(`generating ${n} rows → ${file}\n`);
      await writeDataset(file, { modelDir: MODEL, rows: n, format: 'csv', seed: 11 });
    }
  }
  process.stderr.write(`input: ${(statSync(big).size / 1e6).toFixed(0)} MB, ${rows} rows; ${os.availableParallelism()} cores\n`);

  const workerScript = bundleWorker();
  const results: Result[] = [];
  results.push(await batchMode(small, path.join(dir, 'mlship-small.csv'), workers, workerScript));
  results.push(await batchMode(big, path.join(dir, 'mlship.csv'), workers, workerScript));
  results.push(await pandas(big, path.join(dir, 'pandas.csv')));
  results.push(await pandas(small, path.join(dir, 'pandas-small.csv')));

  const table = results.map((r) => ({
    engine: r.engine,
    rows: r.rows,
    seconds: r.seconds.toFixed(2),
    'rows/s': Math.round(r.rows / r.seconds),
    'peak RSS MiB': r.peakRssMiB,
    'CPU s': r.cpuSeconds.toFixed(2),
  }));
  console.table(table);
  const ours = results[1];
  const theirs = results[2];
  const ratio = ours.rows / ours.seconds / (theirs.rows / theirs.seconds);
  console.log(`rows/s ratio (mlship / pandas+sklearn) on ${rows} rows: ${ratio.toFixed(2)}x (target >= 3x)`);
  console.log(
    `CPU per row: pandas+sklearn uses ${(theirs.cpuSeconds / ours.cpuSeconds).toFixed(2)}x the CPU seconds of mlship (load ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores)`,
  );
  console.log(
    `peak RSS: mlship ${results[0].peakRssMiB} → ${ours.peakRssMiB} MiB for 5x the rows; pandas ${results[3].peakRssMiB} → ${theirs.peakRssMiB} MiB`,
  );
  console.log(
    `same label on the first 100000 rows: ${(100 * labelAgreement(path.join(dir, 'mlship.csv'), path.join(dir, 'pandas.csv'), 100_000)).toFixed(3)}%`,
  );
  if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}

/** The batch mode in a process of its own, printing its summary as JSON. */
async function child(input: string, output: string, workers: number, workerScript: string): Promise<void> {
  const before = process.cpuUsage();
  const s = await runBatch({ model: MODEL, input, output, workers: workers || undefined, progress: false, workerScript });
  // Counted from the start of the run, like the Python side, so module loading is left out of both.
  const cpu = process.cpuUsage(before);
  console.log(JSON.stringify({ ...s, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
}

const [mode, ...args] = process.argv.slice(2);
(mode === 'child' ? child(args[0], args[1], Number(args[2]), args[3]) : main()).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
