/**
 * Bring-your-own-model benchmark, each figure beside its baseline in the same run:
 *   (A) start-up cost of reading the ONNX signature and exposing ZipMap probabilities (`readOnnx` +
 *       `planModel`) next to onnxruntime's own session creation, for converter-style models;
 *   (B) a 100-tree random forest exported as skl2onnx does (TreeEnsembleClassifier + ZipMap) served by the
 *       model server (one worker per core, micro-batching on) vs Flask + gunicorn + scikit-learn serving the
 *       same forest (`flask_forest.py`), one-row JSON bodies, wrk at concurrency 64 on the same cores.
 *
 *   npx tsx bench/byom/bench.ts        (needs /usr/bin/python3 with sklearn + onnx, gunicorn, wrk; BENCH_SECONDS=5)
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { startServer } from '../../container/src/server';
import { readManifestFile } from '../../contract/model-files';
import { planModel } from '../../contract/model-plan';
import { readOnnx } from '../../contract/onnx-graph';
import { buildServerBundle } from '../../test/support/server-bundle';
import { startGunicorn } from '../support/gunicorn';

const ROOT = path.resolve(__dirname, '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CORES = os.availableParallelism();
const C = 64;
const REPEAT = 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** (A): median over REPEAT loads of the signature read + plan, and of onnxruntime's session creation. */
async function startupCost(name: string, dir: string): Promise<string> {
  const manifest = readManifestFile(path.join(dir, 'model.json'));
  const file = path.join(dir, manifest.file);
  const bytes = readFileSync(file);
  const read: number[] = [];
  const create: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    let t = performance.now();
    const graph = readOnnx(bytes, manifest.file);
    planModel(manifest, graph.signature);
    read.push(performance.now() - t);
    t = performance.now();
    const session = await ort.InferenceSession.create(graph.servable, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    create.push(performance.now() - t);
    await session.release();
  }
  const rewritten = readOnnx(bytes).servable !== bytes;
  return `| ${name} | ${(bytes.length / 1024).toFixed(0)} KiB | ${rewritten ? 'yes' : 'no'} | ${median(read).toFixed(2)} | ${median(create).toFixed(2)} |`;
}

interface Cell {
  system: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function wrk(system: string, url: string, body: string): Promise<Cell> {
  const script = path.join(mkdtempSync(path.join(os.tmpdir(), 'mlship-wrk-')), 'post.lua');
  writeFileSync(script, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`);
  const run = (seconds: number, latency: boolean) =>
    promisify(execFile)('wrk', ['-t1', `-c${C}`, `-d${seconds}s`, ...(latency ? ['--latency'] : []), '-s', script, `${url}/invocations`], {
      encoding: 'utf8',
    });
  await run(2, false);
  const { stdout } = await run(SECONDS, true);
  const ms = (p: number) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(stdout);
    if (!m) throw new Error(`no p${p} in wrk output:\n${stdout}`);
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as 'us' | 'ms' | 's'];
  };
  const count = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? 0);
  return {
    system,
    rps: count(/Requests\/sec:\s+([\d.]+)/),
    p50: ms(50),
    p99: ms(99),
    errors: count(/Non-2xx or 3xx responses: (\d+)/) + count(/timeout (\d+)/),
  };
}

async function check(url: string, body: string, label: string): Promise<void> {
  const reply = await fetch(`${url}/invocations`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const json = (await reply.json()) as { predictions: { label: string }[] };
  if (reply.status !== 200 || json.predictions[0].label !== label)
    throw new Error(`${url} answered ${reply.status} ${JSON.stringify(json)}`);
}

async function flask(body: string, label: string, workerClass: 'gthread' | 'sync'): Promise<Cell> {
  const gunicorn = await startGunicorn(__dirname, 'flask_forest:app', workerClass, CORES, 60);
  try {
    await check(gunicorn.url, body, label);
    return await wrk(`Flask + gunicorn + scikit-learn, ${CORES} ${workerClass} workers`, gunicorn.url, body);
  } finally {
    await gunicorn.stop();
  }
}

async function main(): Promise<void> {
  const forestDir = mkdtempSync(path.join(os.tmpdir(), 'mlship-forest-'));
  execFileSync('/usr/bin/python3', [path.join(__dirname, 'forest.py'), forestDir], { stdio: 'inherit' });
  console.log(
    `bring-your-own-model benchmark: ${os.cpus()[0]?.model ?? 'cpu'} x${CORES}, node ${process.version}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );

  console.log(`(A) start-up, median of ${REPEAT} loads (ms)\n`);
  console.log('| model | size | ZipMap exposed | read signature + rewrite + check | onnxruntime session create (baseline) |');
  console.log('|---|---:|:---:|---:|---:|');
  for (const [name, dir] of [
    ['random forest, 100 trees + ZipMap', forestDir],
    ['diabetes-risk (ColumnTransformer + ZipMap)', path.join(ROOT, 'models/diabetes-risk')],
    ['breast-cancer MLP (plain tensor)', path.join(ROOT, 'models/breast-cancer')],
    ['CNN 28x28 logits', path.join(ROOT, 'test/fixtures/byom/cnn-logits')],
  ]) {
    console.log(await startupCost(name, dir));
  }

  const sample = JSON.parse(readFileSync(path.join(forestDir, 'sample.json'), 'utf8')) as { input: number[]; label: string };
  const body = JSON.stringify({ instances: [sample.input] });
  console.log(`\n(B) the forest served at concurrency ${C}, one-row JSON bodies, wrk ${SECONDS} s after a 2 s warm-up\n`);
  const cells: Cell[] = [];
  // The server as the image ships it (the Dockerfile's esbuild bundle).
  const bundle = buildServerBundle();
  const server = await startServer({ modelDir: forestDir, workers: CORES, bundle: bundle.file });
  try {
    await check(server.url, body, sample.label);
    cells.push(await wrk(`mlship model server, ${CORES} workers, micro-batching`, server.url, body));
  } finally {
    await server.close();
    bundle.remove();
  }
  cells.push(await flask(body, sample.label, 'gthread'));
  cells.push(await flask(body, sample.label, 'sync'));
  console.log('| system | req/s | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|');
  for (const c of cells) console.log(`| ${c.system} | ${c.rps.toFixed(0)} | ${c.p50.toFixed(2)} | ${c.p99.toFixed(2)} | ${c.errors} |`);
  const best = cells.slice(1).reduce((a, b) => (b.rps > a.rps ? b : a));
  console.log(
    `\nmlship vs the faster Flask row: ${(cells[0].rps / best.rps).toFixed(1)}x req/s (target >= 10x), p99 ${(cells[0].p99 / best.p99).toFixed(3)} of it (target <= 0.25)`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
