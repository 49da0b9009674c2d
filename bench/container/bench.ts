/**
 * Model server benchmark: requests/s and p50/p99 latency at concurrency 1, 16 and 64 for
 *   (1) raw `session.run` in this process (the limit),
 *   (2) our server, all cores, batching off,
 *   (3) our server, all cores, adaptive micro-batching,
 *   (4) Flask + gunicorn (as many workers as cores) serving the same model with scikit-learn.
 * One-row JSON bodies of the breast-cancer model; autocannon on the same loopback and cores.
 *
 *   npx tsx bench/container/bench.ts            (BENCH_SECONDS=5 per cell by default)
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../../container/src/model';
import { startServer } from '../../container/src/server';

/** autocannon ships no types; this is the part of its API the benchmark uses. */
interface LoadOptions {
  url: string;
  method: 'POST';
  body: string;
  headers: Record<string, string>;
  connections: number;
  duration: number;
}
interface LoadResult {
  duration: number;
  non2xx: number;
  errors: number;
}
type LoadRun = Promise<LoadResult> & {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
};
const autocannon = require('autocannon') as (opts: LoadOptions) => LoadRun;

const ROOT = path.resolve(__dirname, '../..');
const MODEL = path.join(ROOT, 'models/breast-cancer');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = [1, 16, 64];
const CORES = os.availableParallelism();

interface Cell {
  system: string;
  c: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function cell(system: string, c: number, latencies: number[], seconds: number, errors: number): Cell {
  const sorted = Float64Array.from(latencies).sort();
  return { system, c, rps: latencies.length / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99), errors };
}

/** (1): `c` loops calling session.run with one row, in this process. */
async function rawRun(row: Float32Array): Promise<Cell[]> {
  const model = await loadModel(MODEL);
  const out: Cell[] = [];
  for (const c of CONCURRENCY) {
    const latencies: number[] = [];
    const warmEnd = performance.now() + 500;
    const end = warmEnd + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: c }, async () => {
        for (let now = performance.now(); now < end; now = performance.now()) {
          await model.run([row]);
          const t = performance.now();
          if (now >= warmEnd) latencies.push(t - now);
        }
      }),
    );
    out.push(cell('(1) session.run in-process', c, latencies, SECONDS, 0));
  }
  await model.close();
  return out;
}

/** autocannon against a URL, with latencies taken from each response (sub-millisecond precision). */
async function load(system: string, url: string, body: string, c: number): Promise<Cell> {
  const opts = { url: `${url}/invocations`, method: 'POST' as const, body, headers: { 'content-type': 'application/json' }, connections: c };
  await autocannon({ ...opts, duration: 1 }); // warm-up: connections, JIT, worker caches
  const latencies: number[] = [];
  const instance = autocannon({ ...opts, duration: SECONDS });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200) latencies.push(ms);
  });
  const result = await instance;
  return cell(system, c, latencies, result.duration, result.non2xx + result.errors);
}

async function check(url: string, body: string, label: string): Promise<void> {
  const reply = await fetch(`${url}/invocations`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const json = (await reply.json()) as { predictions: { label: string }[] };
  if (reply.status !== 200 || json.predictions[0].label !== label) throw new Error(`${url} answered ${reply.status} ${JSON.stringify(json)}`);
}

async function ourServer(system: string, body: string, label: string, maxBatchDelayUs: number): Promise<Cell[]> {
  const server = await startServer({ modelDir: MODEL, workers: CORES, maxBatchDelayUs });
  try {
    await check(server.url, body, label);
    const out: Cell[] = [];
    for (const c of CONCURRENCY) out.push(await load(system, server.url, body, c));
    return out;
  } finally {
    await server.close();
  }
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function flask(body: string, label: string): Promise<Cell[]> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // gthread workers keep connections alive (sync workers close each one, and autocannon then counts
  // reconnects as errors with meaningless latencies); one BLAS thread per worker, as the cores are shared.
  const args = ['-w', String(CORES), '-k', 'gthread', '--threads', '4', '-b', `127.0.0.1:${port}`, '--chdir', __dirname, '--log-level', 'warning', 'flask_app:app'];
  const child: ChildProcess = spawn('gunicorn', args, { stdio: 'inherit', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' } });
  try {
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((r) => http.get(`${url}/ping`, (res) => r(res.statusCode === 200)).on('error', () => r(false)));
      if (up) break;
      if (i > 120) throw new Error('gunicorn did not start');
      await new Promise((r) => setTimeout(r, 250));
    }
    await check(url, body, label);
    const out: Cell[] = [];
    for (const c of CONCURRENCY) out.push(await load(`(4) Flask + gunicorn, ${CORES} workers`, url, body, c));
    return out;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

function printTable(cells: Cell[]): void {
  const rows = [['system', 'conc.', 'req/s', 'p50 ms', 'p99 ms', 'errors'], ...cells.map((c) => [c.system, String(c.c), c.rps.toFixed(0), c.p50.toFixed(3), c.p99.toFixed(3), String(c.errors)])];
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const line = (r: string[]) => `| ${r.map((v, j) => (j === 0 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join(' | ')} |`;
  console.log(line(rows[0]));
  console.log(`|${widths.map((w, j) => (j === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
}

async function main(): Promise<void> {
  const parity = (await import(path.join(MODEL, 'parity.json'))) as { rows: { input: number[]; label: string }[] };
  const { input, label } = parity.rows[0];
  const body = JSON.stringify({ instances: [input] });
  console.log(`model server benchmark: ${os.cpus()[0]?.model ?? 'cpu'} x${CORES}, node ${process.version}, ${SECONDS} s per cell, one-row JSON bodies\n`);

  const cells = [
    ...(await rawRun(Float32Array.from(input))),
    ...(await ourServer(`(2) server, ${CORES} workers, no batching`, body, label, 0)),
    ...(await ourServer(`(3) server, ${CORES} workers, batching`, body, label, 500)),
    ...(await flask(body, label)),
  ];
  printTable(cells);

  const at = (prefix: string, c: number) => cells.find((x) => x.system.startsWith(prefix) && x.c === c)!;
  const b64 = at('(3)', 64);
  const f64 = at('(4)', 64);
  console.log('\ntargets:');
  console.log(`  (3)/(4) req/s at c=64: ${(b64.rps / f64.rps).toFixed(1)}x (target >= 10x)`);
  console.log(`  (3)/(4) p99 at c=64:   ${(b64.p99 / f64.p99).toFixed(3)} (target <= 0.25)`);
  console.log(`  (2) - (1) p50 at c=1:  ${(at('(2)', 1).p50 - at('(1)', 1).p50).toFixed(3)} ms (target <= 0.1 ms)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
