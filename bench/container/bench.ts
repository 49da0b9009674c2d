/**
 * Model server benchmark: requests/s and p50/p99 latency at concurrency 1, 16 and 64 for
 *   (1) raw `session.run` in this process (the limit),
 *   (2) our server, all cores, batching off,
 *   (3) our server, all cores, adaptive micro-batching,
 *   (4) Flask + gunicorn (as many workers as cores) serving the same model with scikit-learn: gthread
 *       workers (keep-alive) and, with wrk, also gunicorn's default sync workers, the courses' command.
 * (2) and (3) run the server as the image ships it: the bundle the Dockerfile's esbuild command builds.
 * With BENCH_BASELINE_REF=<commit>, (2′) and (3′) run that commit's bundle the same way, beside them, so a
 * regression shows in one table: BENCH_ROUNDS rounds (default 3) alternate the two bundles (ABBA order, so a
 * drift of the machine's load falls on both), and each cell is the median of its rounds. Beside req/s the
 * table gives the server's CPU time per request (its processes' user + system time over the cell, from
 * /proc): the load generator shares the cores, so req/s moves with whatever else runs, CPU per request less.
 * One-row JSON bodies of the breast-cancer model, on the same loopback and cores. The load generator is
 * wrk (C) when installed (Debian's `wrk`); otherwise autocannon, which is single-threaded JavaScript and
 * saturates near 40k req/s on two cores, so it understates the fast rows.
 *
 *   npx tsx bench/container/bench.ts            (BENCH_SECONDS=5 per cell by default)
 *   BENCH_BASELINE_REF=881517e npx tsx bench/container/bench.ts
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadModel } from '../../container/src/model';
import { startServer } from '../../container/src/server';
import { defined } from '../../test/support/defined';
import { buildServerBundle, type ServerBundle } from '../../test/support/server-bundle';
import { startGunicorn } from '../support/gunicorn';
import { processTreeCpuSeconds } from '../support/process-cpu';

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
/** BENCH_CONCURRENCY=1 measures the c=1 cells only (a few minutes less when the single-request path is the question). */
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);
/** BENCH_FLASK=0 leaves out the Flask rows. */
const FLASK = process.env.BENCH_FLASK !== '0';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Each load cell starts with this long a run that is not measured: connections, JIT, worker caches. */
const WARMUP_SECONDS = 2;
const CORES = os.availableParallelism();
/** wrk when it is installed (spawnSync reports ENOENT otherwise). */
const WRK = spawnSync('wrk', ['-v']).error === undefined;

interface Cell {
  system: string;
  c: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** The server's CPU time (all its processes) per answered request, in µs; NaN where not measured. */
  cpuUs: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function cell(system: string, c: number, latencies: number[], seconds: number, errors: number): Cell {
  const sorted = Float64Array.from(latencies).sort();
  return { system, c, rps: latencies.length / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99), errors, cpuUs: NaN };
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

/** The load generator against `url`/invocations at concurrency `c`, after a warm-up run. */
function load(system: string, url: string, body: string, c: number): Promise<Cell> {
  return WRK ? loadWithWrk(system, url, body, c) : loadWithAutocannon(system, url, body, c);
}

/** autocannon, with latencies taken from each response (sub-millisecond precision). */
async function loadWithAutocannon(system: string, url: string, body: string, c: number): Promise<Cell> {
  const opts = {
    url: `${url}/invocations`,
    method: 'POST' as const,
    body,
    headers: { 'content-type': 'application/json' },
    connections: c,
  };
  await autocannon({ ...opts, duration: WARMUP_SECONDS });
  const latencies: number[] = [];
  const instance = autocannon({ ...opts, duration: SECONDS });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200) latencies.push(ms);
  });
  const result = await instance;
  return cell(system, c, latencies, result.duration, result.non2xx + result.errors);
}

let wrkScript: string | undefined;

/** wrk with one thread (the second core serves), its latency distribution parsed from `--latency`. */
async function loadWithWrk(system: string, url: string, body: string, c: number): Promise<Cell> {
  if (wrkScript === undefined) {
    wrkScript = path.join(mkdtempSync(path.join(os.tmpdir(), 'mlship-wrk-')), 'post.lua');
    writeFileSync(wrkScript, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`);
  }
  const run = (seconds: number, latency: boolean) =>
    promisify(execFile)(
      'wrk',
      ['-t1', `-c${c}`, `-d${seconds}s`, ...(latency ? ['--latency'] : []), '-s', wrkScript as string, `${url}/invocations`],
      { encoding: 'utf8' },
    );
  await run(WARMUP_SECONDS, false);
  const { stdout } = await run(SECONDS, true);
  const ms = (p: number) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)$`, 'm').exec(stdout);
    if (!m) throw new Error(`no p${p} in wrk output:\n${stdout}`);
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as 'us' | 'ms' | 's'];
  };
  const count = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? 0);
  const errors = count(/Non-2xx or 3xx responses: (\d+)/) + count(/Socket errors: connect (\d+)/) + count(/timeout (\d+)/);
  return { system, c, rps: count(/Requests\/sec:\s+([\d.]+)/), p50: ms(50), p99: ms(99), errors, cpuUs: NaN };
}

async function check(url: string, body: string, label: string): Promise<void> {
  const reply = await fetch(`${url}/invocations`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const json = (await reply.json()) as { predictions: { label: string }[] };
  if (reply.status !== 200 || json.predictions[0].label !== label)
    throw new Error(`${url} answered ${reply.status} ${JSON.stringify(json)}`);
}

async function ourServer(system: string, bundle: ServerBundle, body: string, label: string, maxBatchDelayUs: number): Promise<Cell[]> {
  const server = await startServer({ modelDir: MODEL, workers: CORES, maxBatchDelayUs, bundle: bundle.file });
  try {
    await check(server.url, body, label);
    const out: Cell[] = [];
    for (const c of CONCURRENCY) {
      const pid = defined(server.pid, 'the cluster primary pid');
      const before = processTreeCpuSeconds(pid);
      const measured = await load(system, server.url, body, c);
      // The warm-up run is inside the window too: charge its requests at the measured rate.
      const seconds = processTreeCpuSeconds(pid) - before;
      out.push({ ...measured, cpuUs: (seconds / (measured.rps * (SECONDS + WARMUP_SECONDS))) * 1e6 });
    }
    return out;
  } finally {
    await server.close();
  }
}

/**
 * (0): the floor, a bare node:http server answering the model server's bytes without parsing or predicting
 * (`bare-http.ts`), measured like the servers, in a process of its own.
 */
async function bareHttp(answer: string, body: string): Promise<Cell[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-bare-'));
  const file = path.join(dir, 'answer.json');
  writeFileSync(file, answer);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'bare-http.ts'), file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
      child.once('exit', (code) => reject(new Error(`bare-http.ts exited with ${code}`)));
    });
    const out: Cell[] = [];
    for (const c of CONCURRENCY) {
      const pid = defined(child.pid, 'the bare server pid');
      const before = processTreeCpuSeconds(pid);
      // The same request bodies as the servers get (the load generator's script is written once, with the first body).
      const measured = await load('(0) bare node:http, same answer, no model (floor)', url, body, c);
      const seconds = processTreeCpuSeconds(pid) - before;
      out.push({ ...measured, cpuUs: (seconds / (measured.rps * (SECONDS + WARMUP_SECONDS))) * 1e6 });
    }
    return out;
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cells of the same system and concurrency over several rounds, as one cell of medians. */
function medianCells(rounds: Cell[][]): Cell[] {
  const median = (xs: number[]) => {
    const s = xs.slice().sort((a, b) => a - b);
    return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  };
  const first = defined(rounds[0], 'a round');
  return first.map((c, i) => {
    const same = rounds.map((r) => defined(r[i], 'the same cell in every round'));
    return {
      system: rounds.length > 1 ? `${c.system} (median of ${rounds.length})` : c.system,
      c: c.c,
      rps: median(same.map((x) => x.rps)),
      p50: median(same.map((x) => x.p50)),
      p99: median(same.map((x) => x.p99)),
      errors: same.reduce((n, x) => n + x.errors, 0),
      cpuUs: median(same.map((x) => x.cpuUs)),
    };
  });
}

/** This bundle's and the baseline's cells for one batching setting, the two alternated over ROUNDS rounds. */
async function againstBaseline(
  names: readonly [string, string],
  bundles: readonly [ServerBundle, ServerBundle],
  body: string,
  label: string,
  maxBatchDelayUs: number,
): Promise<Cell[]> {
  const ours: Cell[][] = [];
  const theirs: Cell[][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      const cells = await ourServer(names[i] as string, bundles[i] as ServerBundle, body, label, maxBatchDelayUs);
      (i === 0 ? ours : theirs).push(cells);
    }
  }
  return [...medianCells(ours), ...medianCells(theirs)];
}

/** gunicorn serving flask_app.py: `gthread` workers keep connections alive; `sync` (its default) closes each one. */
async function flask(body: string, label: string, workerClass: 'gthread' | 'sync'): Promise<Cell[]> {
  const gunicorn = await startGunicorn(__dirname, 'flask_app:app', workerClass, CORES, 30);
  try {
    await check(gunicorn.url, body, label);
    const name = workerClass === 'gthread' ? '(4) Flask + gunicorn' : "(4') Flask + gunicorn";
    const out: Cell[] = [];
    for (const c of CONCURRENCY) out.push(await load(`${name}, ${CORES} ${workerClass} workers`, gunicorn.url, body, c));
    return out;
  } finally {
    await gunicorn.stop();
  }
}

function printTable(cells: Cell[]): void {
  const rows = [
    ['system', 'conc.', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU µs/req'],
    ...cells.map((c) => [
      c.system,
      String(c.c),
      c.rps.toFixed(0),
      c.p50.toFixed(3),
      c.p99.toFixed(3),
      String(c.errors),
      Number.isNaN(c.cpuUs) ? '' : c.cpuUs.toFixed(1),
    ]),
  ];
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
  console.log(
    `model server benchmark: ${os.cpus()[0]?.model ?? 'cpu'} x${CORES}, node ${process.version}, ${SECONDS} s per cell, one-row JSON bodies, load from ${WRK ? 'wrk' : 'autocannon (install wrk for figures the generator does not cap)'}\n`,
  );

  const bundle = buildServerBundle();
  const baselineRef = process.env.BENCH_BASELINE_REF;
  const baseline = baselineRef ? buildServerBundle(baselineRef) : undefined;
  const serving = async (n: string, delayUs: number, what: string): Promise<Cell[]> => {
    const name = `(${n}) server, ${CORES} workers, ${what}`;
    if (!baseline) return ourServer(name, bundle, body, label, delayUs);
    return againstBaseline([name, `(${n}') ${baselineRef}, ${CORES} workers, ${what}`], [bundle, baseline], body, label, delayUs);
  };
  // The answer the server gives the body, for the floor row to send back.
  const inProcess = await startServer({ modelDir: MODEL });
  const answer = await (
    await fetch(`${inProcess.url}/invocations`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
  ).text();
  await inProcess.close();
  const cells = [
    ...(await rawRun(Float32Array.from(input))),
    ...(await bareHttp(answer, body)),
    ...(await serving('2', 0, 'no batching')),
    ...(await serving('3', 500, 'batching')),
    ...(FLASK ? await flask(body, label, 'gthread') : []),
    // autocannon counts each reconnect after a sync worker's Connection: close as an error.
    ...(FLASK && WRK ? await flask(body, label, 'sync') : []),
  ];
  printTable(cells);

  const at = (prefix: string, c: number) => cells.find((x) => x.system.startsWith(prefix) && x.c === c);
  const ours = at('(3)', 64);
  console.log('\ntargets:');
  for (const prefix of ['(4)', "(4')"]) {
    const flask64 = at(prefix, 64);
    if (!flask64 || !ours) continue;
    console.log(
      `  (3)/${prefix} req/s at c=64: ${(ours.rps / flask64.rps).toFixed(1)}x (target >= 10x); p99 ${(ours.p99 / flask64.p99).toFixed(3)} (target <= 0.25)`,
    );
  }
  const raw1 = at('(1)', 1);
  if (raw1) {
    const over = (prefix: string) => (defined(at(prefix, 1), `the ${prefix} cell at c=1`).p50 - raw1.p50).toFixed(3);
    console.log(`  (2) - (1) p50 at c=1: ${over('(2)')} ms (target <= 0.1 ms); (3) - (1): ${over('(3)')} ms`);
    console.log(`  floor: (0) - (1) p50 at c=1: ${over('(0)')} ms (loopback, kernel and load generator, no server work)`);
  }
  if (baseline) {
    console.log(`\nagainst ${baselineRef} (ratios of medians; req/s above 1, p99 and CPU per request below 1 are better):`);
    for (const [now, then] of [
      ['(2)', "(2')"],
      ['(3)', "(3')"],
    ] as const) {
      for (const c of CONCURRENCY) {
        const a = at(now, c);
        const b = at(then, c);
        if (a && b)
          console.log(
            `  ${now}/${then} c=${c}: req/s ${(a.rps / b.rps).toFixed(3)}, p99 ${(a.p99 / b.p99).toFixed(3)}, server CPU per request ${(a.cpuUs / b.cpuUs).toFixed(3)}`,
          );
      }
    }
  }
  bundle.remove();
  baseline?.remove();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
