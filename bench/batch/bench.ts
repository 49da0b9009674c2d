/**
 * Batch scoring benchmark: the batch mode against the usual course recipe (pandas reads the whole file,
 * scikit-learn predicts, pandas writes), on the same generated rows, in the same run: CSV on `--rows` rows,
 * JSON Lines and Parquet on a fifth of them (pandas reads Parquet only with pyarrow or fastparquet; without
 * either, Parquet is set against pandas reading the CSV copy of the same rows). Beside them, the floors:
 * reading the CSV's bytes plus raw `session.run` over its rows on every worker, with no parsing or
 * formatting; the fastest byte scan of the CSV on the workers' threads (cell ends found, digits
 * summed, nothing converted), alone and with `session.run`; and every cell made a float32 in the tightest
 * loop (a digit loop per cell, one division, no checks: the least any reader of these bytes converts), alone
 * and with `session.run`; a goal above these is out of reach for any parser. A ten-row run gives the start-up every run pays, and bare threads that only load onnxruntime
 * and open the model's session give the least of it any run pays (both the fastest of three, timed alike:
 * from the call, in a fresh process, module loading left out as pandas' imports are). The last line sets
 * the irreducible parts against the 10x budget. Each batch row prints where its time went
 * (read and write: wall time of the main thread waiting; parse, run, format: summed over workers), and
 * one more CSV run, watched through /proc, where its CPU went by thread.
 *
 *   npx tsx bench/batch/bench.ts [--rows 1000000] [--workers 0] [--keep] [--baseline earlier-mlship.csv]
 *
 * It prints the SHA-256 of the CSV it wrote on `--rows` rows; `--baseline` compares it byte for byte with
 * an output an earlier version wrote from the same generated rows (kept with `--keep`), so a speed-up is
 * shown to change no answer.
 *
 * Each side runs in its own process so its peak RSS is its own; the batch worker runs bundled, as in the
 * image. Wall time and rows/s depend on what else the machine runs; CPU seconds much less so. The batch mode also runs on a fifth of
 * the rows: flat memory means the two peaks are about the same, while pandas grows with the file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildSync } from 'esbuild';
import { writeCodeCache } from '../../container/src/batch/code-cache';
import { withoutTsx } from '../../container/src/batch/pool';
import { runBatch } from '../../container/src/batch/run-batch';
import type { BatchStages } from '../../container/src/batch/types';
import { loadModel } from '../../container/src/model';
import { writeDataset } from '../../test/support/dataset';
import { csvToParquet } from '../../test/support/dataset-parquet';

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
  readonly stages?: BatchStages;
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/**
 * Runs a command and returns the last line it printed on stdout (each side prints one JSON line).
 * `watch` is called with the child's pid once it runs and returns what to do when it has exited.
 */
function run(cmd: string, args: string[], watch?: (pid: number) => () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const stop = child.pid !== undefined && watch ? watch(child.pid) : undefined;
    child.on('exit', () => stop?.());
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
 * in every worker. It sits in the checkout's own `.bench/` (git ignores it), so `onnxruntime-node` resolves
 * from the checkout's node_modules and two checkouts sharing one install never run each other's bundle.
 */
function bundleWorker(): string {
  const outfile = path.join(ROOT, '.bench/batch-worker.js');
  buildSync({
    entryPoints: [path.join(ROOT, 'container/src/batch/worker.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    outfile,
    external: ['onnxruntime-node'],
    logLevel: 'warning',
  });
  // As the image does: V8's code cache beside the bundle (`container/src/batch/code-cache.ts`).
  writeCodeCache(outfile);
  return outfile;
}

const extension = (file: string) => path.extname(file).slice(1);

/** CPU seconds of each thread of a process (Linux `/proc/<pid>/task/<tid>/schedstat`), by thread id. */
function threadCpu(pid: number | 'self'): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      cpu.set(Number(tid), Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return cpu;
}

/** Where a run's CPU went: its main thread, its model workers, and every other thread (V8's compiler and GC, libuv's file I/O). */
interface ThreadSplit {
  readonly main: number;
  readonly workers: number[];
  readonly helpers: number;
}

/**
 * Polls a child's threads every 2 ms (the last figure of each thread is kept: a thread's final 2 ms may be
 * missed) and, once it has exited, splits their CPU since the run's start (`atStart`, which the child reports)
 * into main thread, the `workers` busiest other threads, and the rest.
 */
function watchThreads(workers: number): { watch: (pid: number) => () => void; split: (atStart: Record<string, number>) => ThreadSplit } {
  let pid = 0;
  let last = new Map<number, number>();
  const watch = (child: number) => {
    pid = child;
    const timer = setInterval(() => {
      try {
        for (const [tid, s] of threadCpu(child)) last.set(tid, s);
      } catch {
        // the process has exited
      }
    }, 2);
    return () => clearInterval(timer);
  };
  const split = (atStart: Record<string, number>): ThreadSplit => {
    const spent = [...last].map(([tid, s]) => ({ tid, s: s - (atStart[String(tid)] ?? 0) }));
    const others = spent.filter((t) => t.tid !== pid).sort((a, b) => b.s - a.s);
    const busiest = others.slice(0, workers).map((t) => t.s);
    last = new Map();
    return {
      main: spent.find((t) => t.tid === pid)?.s ?? 0,
      workers: busiest,
      helpers: others.slice(workers).reduce((n, t) => n + t.s, 0),
    };
  };
  return { watch, split };
}

async function batchMode(
  input: string,
  output: string,
  workers: number,
  workerScript: string,
  threads?: ReturnType<typeof watchThreads>,
): Promise<Result & { threads?: ThreadSplit }> {
  const line = await run(
    process.execPath,
    ['--import', 'tsx', __filename, 'child', input, output, String(workers), workerScript],
    threads?.watch,
  );
  const s = JSON.parse(line) as {
    rows: number;
    elapsedMs: number;
    peakRssMiB: number;
    cpuSeconds: number;
    stages: BatchStages;
    threadsAtStart: Record<string, number>;
  };
  return {
    engine: `mlship batch ${extension(input)} → ${extension(output)} (${workers || os.availableParallelism()} workers)`,
    rows: s.rows,
    seconds: s.elapsedMs / 1000,
    peakRssMiB: s.peakRssMiB,
    cpuSeconds: s.cpuSeconds,
    stages: s.stages,
    ...(threads ? { threads: threads.split(s.threadsAtStart) } : {}),
  };
}

/** The floor, in a process of its own: the CSV's bytes read, and raw `session.run` over as many rows on every worker. */
async function floor(input: string, rows: number, workers: number): Promise<Result & { runSeconds: number; runCpuSeconds: number }> {
  const line = await run(process.execPath, ['--import', 'tsx', __filename, 'floor', input, String(rows), String(workers)]);
  return JSON.parse(line) as Result & { runSeconds: number; runCpuSeconds: number };
}

/** The start-up floor, in a process of its own: `workers` bare threads that each only open the model's session. */
async function bareStart(workers: number): Promise<Result> {
  const line = await run(process.execPath, ['--import', 'tsx', __filename, 'start', String(workers)]);
  return JSON.parse(line) as Result;
}

/**
 * The parsing floor, in a process of its own: the fastest byte scan of the CSV on `workers` threads, or
 * with `convert` the fastest scan that also makes every cell a float32.
 */
async function scanFloor(input: string, rows: number, workers: number, convert = false): Promise<Result> {
  const line = await run(process.execPath, [
    '--import',
    'tsx',
    __filename,
    'scan',
    input,
    String(rows),
    String(workers),
    convert ? 'convert' : 'sum',
  ]);
  return JSON.parse(line) as Result;
}

async function pandas(input: string, output: string): Promise<Result> {
  const line = await run(PYTHON, [path.join(__dirname, 'sklearn_baseline.py'), input, output]);
  const s = JSON.parse(line) as { rows: number; seconds: number; peakRssMiB: number; cpuSeconds: number };
  return {
    engine: `pandas + scikit-learn ${extension(input)} → ${extension(output)}`,
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
  const cores = workers || os.availableParallelism();
  const fifth = Math.round(rows / 5);
  // One folder per checkout: two checkouts benchmarking at once must not share generated inputs or outputs.
  const dir = path.join(os.tmpdir(), `mlship-batch-bench-${createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}`);
  mkdirSync(dir, { recursive: true });
  const big = path.join(dir, `data-${rows}.csv`);
  const small = path.join(dir, `data-${fifth}.csv`);
  const smallJsonl = path.join(dir, `data-${fifth}.jsonl`);
  const smallParquet = path.join(dir, `data-${fifth}.parquet`);
  for (const [file, n, format] of [
    [big, rows, 'csv'],
    [small, fifth, 'csv'],
    [smallJsonl, fifth, 'jsonl'],
  ] as const) {
    if (!existsSync(file)) {
      process.stderr.write(`generating ${n} rows → ${file}\n`);
      await writeDataset(file, { modelDir: MODEL, rows: n, format, seed: 11 });
    }
  }
  if (!existsSync(smallParquet)) csvToParquet(small, smallParquet, { rowGroupSize: 65_536 });
  const pandasParquet = spawnSync(PYTHON, ['-c', 'import pandas; pandas.io.parquet.get_engine("auto")']).status === 0;
  process.stderr.write(
    `input: ${(statSync(big).size / 1e6).toFixed(0)} MB, ${rows} rows; ${os.availableParallelism()} cores; pandas ${pandasParquet ? 'reads' : 'cannot read (no pyarrow or fastparquet)'} Parquet\n`,
  );

  const workerScript = bundleWorker();
  const out = (name: string) => path.join(dir, name);
  const results: Result[] = [];
  // CSV on all the rows, each side also on a fifth (flat memory: the batch mode's two peaks are alike).
  // What a run costs before its first row (workers started, model loaded): the same file cut to ten rows.
  const tiny = path.join(dir, 'data-10.csv');
  writeFileSync(
    tiny,
    `${readFileSync(small)
      .subarray(0, 1 << 16)
      .toString()
      .split('\n', 11)
      .join('\n')}\n`,
  );
  // Start-up, ours and the least any run pays (bare threads, onnxruntime, the session), each timed the same
  // way in a fresh process: from the call to the threads' end, module loading left out as pandas' imports
  // are. Fastest of three, interleaved, as floors are.
  let startUp: Result | undefined;
  let bare: Result | undefined;
  for (let round = 0; round < 3; round++) {
    const a = await batchMode(tiny, out('mlship-10.csv'), workers, workerScript);
    const b = await bareStart(cores);
    if (!startUp || a.seconds < startUp.seconds) startUp = a;
    if (!bare || b.seconds < bare.seconds) bare = b;
  }
  if (!startUp || !bare) throw new Error('no start-up measured');
  results.push({ ...startUp, engine: `${startUp.engine}, start-up` });
  results.push(bare);
  results.push(await batchMode(small, out('mlship-small.csv'), workers, workerScript));
  results.push(await batchMode(big, out('mlship.csv'), workers, workerScript));
  results.push(await pandas(big, out('pandas.csv')));
  results.push(await pandas(small, out('pandas-small.csv')));
  const runFloor = await floor(big, rows, cores);
  results.push(runFloor);
  // Each parsing floor alone, then with session.run beside it.
  const withRun = (f: Result, what: string): Result => ({
    engine: `floor: ${what} + session.run (${cores} workers)`,
    rows,
    seconds: f.seconds + runFloor.runSeconds,
    peakRssMiB: 0,
    cpuSeconds: f.cpuSeconds + runFloor.runCpuSeconds,
  });
  const scan = await scanFloor(big, rows, cores);
  results.push(scan, withRun(scan, 'byte scan'));
  // Once more, the thread CPU watched (the polling costs the machine a little, so not in the rows above).
  const watched = await batchMode(big, out('mlship-watched.csv'), workers, workerScript, watchThreads(cores));
  const converted = await scanFloor(big, rows, cores, true);
  results.push(converted, withRun(converted, 'float32 conversion'));
  // JSON Lines and Parquet on a fifth of the rows.
  results.push(await batchMode(smallJsonl, out('mlship-small.jsonl'), workers, workerScript));
  results.push(await pandas(smallJsonl, out('pandas-small.jsonl')));
  results.push(await batchMode(smallParquet, out('mlship-small.parquet'), workers, workerScript));
  results.push(await batchMode(smallParquet, out('mlship-small-from-parquet.csv'), workers, workerScript));
  if (pandasParquet) results.push(await pandas(smallParquet, out('pandas-small.parquet')));

  const table = results.map((r) => ({
    engine: r.engine,
    rows: r.rows,
    seconds: r.seconds.toFixed(2),
    'rows/s': Math.round(r.rows / r.seconds),
    'peak RSS MiB': r.peakRssMiB,
    'CPU s': r.cpuSeconds.toFixed(2),
    'read/parse/run/format/write ms': r.stages
      ? [r.stages.readMs, r.stages.parseMs, r.stages.runMs, r.stages.formatMs, r.stages.writeMs].join(' / ')
      : '',
  }));
  console.table(table);
  const find = (prefix: string, n: number) => {
    const r = results.find((x) => x.engine.startsWith(prefix) && x.rows === n);
    if (!r) throw new Error(`no result ${prefix} on ${n} rows`);
    return r;
  };
  const rate = (r: Result) => r.rows / r.seconds;
  const ratio = (a: Result, b: Result) =>
    `${(rate(a) / rate(b)).toFixed(2)}x rows/s, ${(b.cpuSeconds / b.rows / (a.cpuSeconds / a.rows)).toFixed(2)}x less CPU per row`;
  const load = os.loadavg()[0].toFixed(1);
  const ours = find('mlship batch csv → csv', rows);
  const theirs = find('pandas + scikit-learn csv', rows);
  const bottom = find('floor', rows);
  console.log(`load average ${load} on ${os.availableParallelism()} cores`);
  console.log(`CSV, ${rows} rows: mlship / pandas+sklearn ${ratio(ours, theirs)} (target >= 10x rows/s)`);
  console.log(
    `floor (read + session.run only) / pandas+sklearn: ${(rate(bottom) / rate(theirs)).toFixed(2)}x rows/s; mlship reaches ${((100 * rate(ours)) / rate(bottom)).toFixed(0)}% of the floor`,
  );
  const scanned = find('floor: byte scan +', rows);
  const budget = rows / (10 * rate(theirs));
  const left = budget - startUp.seconds - scanned.seconds;
  console.log(
    `10x pandas+sklearn: ${rows} rows in ${budget.toFixed(3)} s; start-up takes ${startUp.seconds.toFixed(3)} s and the byte scan + session.run floor ${scanned.seconds.toFixed(3)} s, which leaves ${left.toFixed(3)} s to convert numbers, check rows, format and write answers (mlship spent ${(((ours.stages?.parseMs ?? 0) + (ours.stages?.formatMs ?? 0)) / 1000 / cores).toFixed(3)} s a worker parsing and formatting)`,
  );
  console.log(
    `start-up, timed alike (from the call, module loading left out, as pandas' imports are; pandas' model is trained before its clock starts, ours is loaded in each worker within it): mlship ${startUp.seconds.toFixed(3)} s / ${startUp.cpuSeconds.toFixed(2)} CPU s, bare threads + onnxruntime session ${bare.seconds.toFixed(3)} s / ${bare.cpuSeconds.toFixed(2)} CPU s`,
  );
  console.log(`JSON Lines, ${fifth} rows: ${ratio(find('mlship batch jsonl', fifth), find('pandas + scikit-learn jsonl', fifth))}`);
  const parquetBase = pandasParquet ? find('pandas + scikit-learn parquet', fifth) : find('pandas + scikit-learn csv', fifth);
  console.log(
    `Parquet, ${fifth} rows: mlship parquet → parquet / pandas+sklearn ${pandasParquet ? 'parquet' : 'reading the CSV copy'}: ${ratio(find('mlship batch parquet → parquet', fifth), parquetBase)}; parquet → csv: ${ratio(find('mlship batch parquet → csv', fifth), parquetBase)}`,
  );
  console.log(
    `peak RSS: mlship ${find('mlship batch csv', fifth).peakRssMiB} → ${ours.peakRssMiB} MiB for 5x the rows; pandas ${find('pandas + scikit-learn csv', fifth).peakRssMiB} → ${theirs.peakRssMiB} MiB`,
  );
  const t = watched.threads;
  if (t)
    console.log(
      `CPU by thread, CSV ${rows} rows (a run of its own, ${watched.cpuSeconds.toFixed(2)} CPU s): main ${t.main.toFixed(3)} s, workers ${t.workers.map((w) => w.toFixed(3)).join(' + ')} s, other threads (V8 compiler and GC, libuv file I/O) ${t.helpers.toFixed(3)} s`,
    );
  console.log(`same label on the first 100000 rows: ${(100 * labelAgreement(out('mlship.csv'), out('pandas.csv'), 100_000)).toFixed(3)}%`);
  const written = await sha256(out('mlship.csv'));
  console.log(`mlship CSV output on ${rows} rows: sha256 ${written}`);
  const baseline = flag('baseline', '');
  if (baseline) {
    const same = (await sha256(baseline)) === written;
    console.log(`byte-identical to ${baseline}: ${same ? 'yes' : 'NO'}`);
    if (!same) process.exitCode = 1;
  }
  // Last, the budget line: 10x fits on this machine in this run only if the irreducible parts fit.
  const irreducible = bare.seconds + scanned.seconds;
  const fits = irreducible <= budget;
  console.log(
    `budget: irreducible start-up ${bare.seconds.toFixed(3)} s + byte scan + session.run floor ${scanned.seconds.toFixed(3)} s = ${irreducible.toFixed(3)} s against the 10x budget of ${budget.toFixed(3)} s: 10x ${fits ? `fits, with ${(budget - irreducible).toFixed(3)} s left for a parser beyond the scan` : `is out of reach on this machine in this run (over by ${(irreducible - budget).toFixed(3)} s before any parsing)`}; mlship's start-up exceeds the irreducible one by ${(startUp.seconds - bare.seconds).toFixed(3)} s, its whole run the irreducible parts by ${(ours.seconds - irreducible).toFixed(3)} s`,
  );
  // The tighter floor: every cell made a float32, the least a reader of these bytes does before a model runs.
  const convertedRun = find('floor: float32 conversion +', rows);
  const tighter = bare.seconds + convertedRun.seconds;
  console.log(
    `tighter floor: irreducible start-up ${bare.seconds.toFixed(3)} s + float32 conversion + session.run ${convertedRun.seconds.toFixed(3)} s = ${tighter.toFixed(3)} s (${convertedRun.cpuSeconds.toFixed(2)} CPU s past start-up) against the 10x budget of ${budget.toFixed(3)} s: ${tighter <= budget ? `${(budget - tighter).toFixed(3)} s left for row checks, ids, formatting, writing and moving chunks between threads` : `over by ${(tighter - budget).toFixed(3)} s before any row is checked or answer written`}; mlship parsed at ${(((ours.stages?.parseMs ?? 0) * 1e6) / statSync(big).size).toFixed(2)} ns a byte (summed over workers), the conversion floor at ${((find('floor: byte scan + float32', rows).seconds * cores * 1e9) / statSync(big).size).toFixed(2)}`,
  );
  if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The floor: the file's bytes read (nothing parsed), then raw `session.run` at 2048 rows a call on one
 * thread, scaled to `workers` threads as if they shared nothing. Prints one JSON line like the others.
 */
async function floorChild(input: string, rows: number, workers: number): Promise<void> {
  const model = await loadModel(MODEL);
  const packed = new Float32Array(2048 * model.featureCount).map((_, i) => (i % 7) / 7);
  for (let i = 0; i < 20; i++) await model.runPacked(packed, 2048);
  const before = process.cpuUsage();
  const t0 = performance.now();
  for await (const _ of createReadStream(input, { highWaterMark: 1 << 20 }));
  const readSeconds = (performance.now() - t0) / 1000;
  const readCpu = process.cpuUsage(before);
  const t1 = performance.now();
  let done = 0;
  while (performance.now() - t1 < 2000) {
    await model.runPacked(packed, 2048);
    done += 2048;
  }
  const runSeconds = (rows * (performance.now() - t1)) / 1000 / done / workers;
  const runCpu = process.cpuUsage(before);
  const seconds = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;
  const cpuSeconds = seconds(readCpu) + ((seconds(runCpu) - seconds(readCpu)) * rows) / done;
  const result = {
    engine: `floor: read + session.run only (${workers} workers)`,
    rows,
    seconds: readSeconds + runSeconds,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    cpuSeconds,
    runSeconds,
    runCpuSeconds: cpuSeconds - seconds(readCpu),
  };
  console.log(JSON.stringify(result));
  await model.close();
}

/**
 * A floor thread's source: it reads its byte range of the file (`workerData`) in 1 MiB blocks and runs
 * `walk` (JavaScript source over `block`'s first `n` bytes, counting `cells` and `lines`) on each; `state`
 * declares the variables of a pass, `prelude` what the thread keeps between passes, `result` what a pass
 * posts back.
 */
function floorThread(parts: { prelude?: string; state: string; walk: string; result: string }): string {
  return `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
${parts.prelude ?? ''}
parentPort.on('message', () => {
  const { file, start, end } = workerData;
  const fd = openSync(file, 'r');
  // 1 MiB blocks, plus a zeroed tail: a walk that reads a few bytes past a block's end stays in bounds.
  const block = new Uint8Array((1 << 20) + 64);
  let cells = 0, lines = 0;
  ${parts.state}
  for (let at = start; at < end; ) {
    const n = readSync(fd, block, 0, Math.min(1 << 20, end - at), at);
    if (n <= 0) break;
    at += n;
    ${parts.walk}
  }
  closeSync(fd);
  parentPort.postMessage({ ${parts.result}, cells, lines });
});
`;
}

/**
 * One scan thread: walks every byte once, summing each cell's digits into an integer at commas and line
 * ends. That is the least any CSV parser does — no conversion to floats, no checks, no model, no output —
 * so no parser is faster on these threads.
 */
const SCAN_THREAD = floorThread({
  state: 'let sum = 0, m = 0;',
  walk: `
    for (let i = 0; i < n; i++) {
      const c = block[i];
      const d = c - 48;
      if (d >= 0 && d <= 9) m = (m * 10 + d) | 0;
      else if (c === 44 || c === 10) {
        sum = (sum + m) | 0;
        m = 0;
        cells++;
        if (c === 10) lines++;
      }
    }`,
  result: 'sum',
});

/**
 * One conversion thread: what any reader of this file does per cell to make it a float32, in the tightest
 * loop we know — an optional minus, the digits summed as an integer in a loop of their own, the count of
 * those after the dot, one division by that power of ten (the least that gives `Number(text)` exactly) and
 * a float32 store. No checks of any kind (a byte that starts no number is skipped, so an id's digits are
 * converted too), no rows, no ids; cells of up to nine digits only, as this file's are. The least CPU any
 * CSV-to-float32 reader of these bytes needs on these threads.
 */
const CONVERT_THREAD = floorThread({
  prelude: `
const POW10 = Float64Array.from({ length: 23 }, (_, i) => Number('1e' + i));
const values = new Float32Array(1 << 16);`,
  state: '',
  walk: `
    for (let i = 0; i < n; i++) {
      let c = block[i];
      const neg = c === 45;
      if (neg) c = block[++i];
      let m = 0;
      while (c >= 48 && c <= 57) {
        m = (m * 10 + (c - 48)) | 0;
        c = block[++i];
      }
      let after = 0;
      if (c === 46) {
        const from = ++i;
        c = block[i];
        while (c >= 48 && c <= 57) {
          m = (m * 10 + (c - 48)) | 0;
          c = block[++i];
        }
        after = i - from;
      }
      if (c === 44 || c === 10) {
        const v = m / POW10[after];
        values[cells & 0xffff] = neg ? -v : v;
        cells++;
        if (c === 10) lines++;
      }
    }`,
  result: 'sum: values[cells & 0xffff]',
});

/**
 * The scan floor: the file split into `workers` byte ranges, each scanned by a thread of its own (started
 * beforehand); with `convert`, each cell also made a float32 (`CONVERT_THREAD`).
 */
async function scanChild(input: string, rows: number, workers: number, convert: boolean): Promise<void> {
  const size = statSync(input).size;
  const threads = Array.from({ length: workers }, (_, i) => {
    const range = { file: input, start: Math.floor((i * size) / workers), end: Math.floor(((i + 1) * size) / workers) };
    return new Worker(convert ? CONVERT_THREAD : SCAN_THREAD, { eval: true, workerData: range });
  });
  await Promise.all(threads.map((t) => new Promise((resolve) => t.once('online', resolve))));
  // A floor is the best the machine gives: the fastest of three passes (the machine may be shared).
  let best = { seconds: Number.POSITIVE_INFINITY, cpuSeconds: 0 };
  for (let pass = 0; pass < 3; pass++) {
    const before = process.cpuUsage();
    const t0 = performance.now();
    const counts = await Promise.all(
      threads.map(
        (t) =>
          new Promise<{ lines: number }>((resolve) => {
            t.once('message', resolve);
            t.postMessage('go');
          }),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(before);
    const lines = counts.reduce((n, c) => n + c.lines, 0);
    if (lines < rows) throw new Error(`The scan found ${lines} lines, fewer than ${rows} rows.`);
    if (seconds < best.seconds) best = { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  }
  await Promise.all(threads.map((t) => t.terminate()));
  const result: Result = {
    engine: convert ? `floor: byte scan + float32 conversion (${workers} workers)` : `floor: byte scan only (${workers} workers)`,
    rows,
    seconds: best.seconds,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    cpuSeconds: best.cpuSeconds,
  };
  console.log(JSON.stringify(result));
}

/**
 * One start-up thread: loads onnxruntime-node and opens the model's session from its file, as any run
 * must before its first row; nothing else (no manifest, no checks, no test prediction, no parser).
 */
const BARE_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
require(workerData.ort).InferenceSession.create(workerData.model, {
  intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
}).then(() => parentPort.postMessage('ready'));
`;

/** The start-up floor: `workers` bare threads started at once, timed until all have a session and have ended. */
async function startChild(workers: number): Promise<void> {
  const data = { ort: require.resolve('onnxruntime-node'), model: path.join(MODEL, 'model.onnx') };
  const before = process.cpuUsage();
  const t0 = performance.now();
  const threads = Array.from(
    { length: workers },
    () => new Worker(BARE_THREAD, { eval: true, workerData: data, execArgv: withoutTsx(process.execArgv) }),
  );
  await Promise.all(threads.map((t) => new Promise((resolve, reject) => t.once('message', resolve).once('error', reject))));
  await Promise.all(threads.map((t) => t.terminate()));
  const cpu = process.cpuUsage(before);
  const result: Result = {
    engine: `floor: start-up, bare threads + onnxruntime session (${workers} workers)`,
    rows: 0,
    seconds: (performance.now() - t0) / 1000,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
  console.log(JSON.stringify(result));
}

/** The batch mode in a process of its own, printing its summary as JSON. */
async function child(input: string, output: string, workers: number, workerScript: string): Promise<void> {
  const threadsAtStart = Object.fromEntries(threadCpu('self'));
  const before = process.cpuUsage();
  const s = await runBatch({ model: MODEL, input, output, workers: workers || undefined, progress: false, workerScript });
  // Counted from the start of the run, like the Python side, so module loading is left out of both.
  const cpu = process.cpuUsage(before);
  console.log(JSON.stringify({ ...s, cpuSeconds: (cpu.user + cpu.system) / 1e6, threadsAtStart }));
}

const [mode, ...args] = process.argv.slice(2);
(mode === 'child'
  ? child(args[0], args[1], Number(args[2]), args[3])
  : mode === 'floor'
    ? floorChild(args[0], Number(args[1]), Number(args[2]))
    : mode === 'scan'
      ? scanChild(args[0], Number(args[1]), Number(args[2]), args[3] === 'convert')
      : mode === 'start'
        ? startChild(Number(args[0]))
        : main()
).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
