/**
 * Local API benchmark (issue 28): `POST /predict` end to end through the local system — gateway, proxy
 * event, predict handler, model server, log write — beside the log write alone, in the same run: the
 * conditional PutItem of a record of the same shape, to the same table of the same embedded DynamoDB,
 * through a client built as the predict function builds its own. Every accepted prediction waits for that
 * write on purpose, so the write alone is the ceiling; the target is end to end >= 0.8x its req/s at c=32.
 *
 * The local system runs as `npm start` runs it (`node --import tsx local/start.ts`, in memory), in its own
 * processes; autocannon drives the API from here, and the write alone runs from here too, so each side
 * pays its own client. The two alternate for `--rounds` rounds (ABBA order, so a drift of the shared
 * machine's load falls on both); the ratio is taken per round and its median reported, with the load
 * average beside it and the CPU each side spent per request (the system's processes from /proc, this
 * process from `process.cpuUsage`). A third path runs each round: the floor, `floor-api.ts` — the gateway,
 * the predict handler and the log write in a process of their own, the model call answered in-process —
 * what is left of the end to end without a model. Context rows follow: the model server called directly,
 * and the same PutItem to an endpoint that answers `{}` at once (the SDK client's own cost), through the
 * log's client and through one with the SDK's defaults. Last, the floor of the parts no change of ours can
 * remove, at 0.8x the write alone's req/s (the target rate) from the same load generator: a bare node:http
 * server answering a fixed body (`bare-server.ts`: the gateway's HTTP at the least), and a bare chain, that
 * server answering through a keep-alive node:http call to a second one in its own process (the gateway's
 * and the model call's HTTP at the least). The chain's CPU added to the write alone's is the least an
 * end-to-end request can cost; on this machine's cores that caps its req/s, printed against the target.
 *
 *   npx tsx bench/local/bench.ts [--duration 5] [--rounds 3] [--warmup 3] [--connections 32] [--profile <dir>] [--root <checkout>]
 *
 * `--root <checkout>` runs the system of another checkout (an earlier commit, its node_modules linked) with
 * this bench, so two trees are compared with one write-alone client.
 * `--profile <dir>` runs the system under `node --cpu-prof` (profiles written to <dir> at stop) and prints
 * where each thread's CPU went per end-to-end request, by stage (`cpu-stages.ts`), counting only the
 * end-to-end cells' time. Profiling slows the system: read its req/s apart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { errorMessage } from '../../contract/errors';
import type { ModelManifest } from '../../contract/manifest';
import type { InvocationResponse } from '../../contract/prediction';
import type { PredictionRecord } from '../../contract/prediction-log';
import { newPredictionId } from '../../lambda/log/ids';
import { putRecordWithRetry } from '../../lambda/log/log-writer';
import { logTableClient, PredictionLogStore } from '../../lambda/log/prediction-log-store';
import { recordBuilder } from '../../lambda/log/record-builder';
import { parseInstances, type ResolvedInstance } from '../../lambda/model/inputs';
import { apiKeyIdOf } from '../../local/gateway';
import { LOCAL_NAMES, PROJECT_ROOT } from '../../local/paths';
import { processTreeCpuSeconds, threadCpuSeconds } from '../support/process-cpu';
import { readProfiles, stageTimes } from './cpu-stages';
import type { FloorSettings } from './floor-api';

const BARE_SERVER = join(__dirname, 'bare-server.ts');

interface AutocannonResult {
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface AutocannonRun extends Promise<AutocannonResult> {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (opts: {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  /** Requests per second across all connections. @default - as fast as answers come */
  overallRate?: number;
}) => AutocannonRun;
const autocannon = require('autocannon') as Autocannon;

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    profile: { type: 'string' },
    root: { type: 'string' },
  },
});
const duration = Number(values.duration);
const rounds = Number(values.rounds);
/** Seconds of load on each path before the measured rounds: the JIT settles faster with more. */
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const profileDir = values.profile === undefined ? undefined : resolve(values.profile);
/** The checkout whose system runs (another one measures an earlier release beside this one's bench). */
const systemRoot = resolve(values.root ?? PROJECT_ROOT);
const API_KEY = 'bench-key-0123456789abcdef';
const MODEL_DIR = join(PROJECT_ROOT, 'models', 'breast-cancer');
const manifest = JSON.parse(readFileSync(join(MODEL_DIR, 'model.json'), 'utf8')) as ModelManifest;
const parity = JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[] }[] };
const body = JSON.stringify({ instances: [parity.rows[0]?.input] });

interface System {
  apiUrl: string;
  modelUrl: string;
  dynamoUrl: string;
  s3Url: string;
  sqsUrl: string;
  logDlqUrl: string;
  pid: number;
  stop(): Promise<void>;
}

/** The system as `npm start` runs it, in memory; under `--cpu-prof` when profiling. */
async function startSystem(): Promise<System> {
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const prof = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const child: ChildProcess = spawn(
    process.execPath,
    [...prof, '--import', 'tsx', join(systemRoot, 'local', 'start.ts'), '--port', '0', '--in-memory'],
    { cwd: systemRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLSHIP_API_KEY: API_KEY, PORT: '' } },
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    if (out.length < 100_000) out += c.toString();
  });
  child.stderr?.resume();
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const deadline = Date.now() + 90_000;
  while (!out.includes('Ctrl-C stops everything')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the local system did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const apiUrl = /API {8}(\S+)/.exec(out)?.[1];
  const modelUrl = /Model {6}.*?(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  const dynamoUrl = /DynamoDB {3}(\S+)/.exec(out)?.[1];
  const s3Url = /S3 {9}(\S+)/.exec(out)?.[1];
  const [, sqsUrl, logDlqUrl] = /SQS {8}(\S+) +queue (\S+)/.exec(out) ?? [];
  if (!apiUrl || !modelUrl || !dynamoUrl || !s3Url || !sqsUrl || !logDlqUrl || child.pid === undefined)
    throw new Error(`cannot read the banner:\n${out}`);
  return {
    apiUrl,
    modelUrl,
    dynamoUrl,
    s3Url,
    sqsUrl,
    logDlqUrl,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Cell {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  /**
   * CPU µs per request: the system's main thread (gateway, handlers, SDK clients, table stream), its
   * busiest other thread (the embedded DynamoDB's), its remaining threads (GC helpers, libuv), its child
   * processes (the model server; S3 and SQS live in the main process), the process beside it (`aside`:
   * the floor API's, with its own gateway, handler and SDK client, or the bare server's) and this process.
   */
  cpu: { main: number; dynamodb: number; threads: number; children: number; aside: number; bench: number };
  load: [number, number];
  /** hrtime µs (the clock V8's profiles use) at the start and end of the load. */
  window: { from: number; to: number };
  requests: number;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Runs `load`, timing it and reading the CPU the system and this process spent. */
async function measure(
  name: string,
  { pid, asidePid }: { pid: number; asidePid: number },
  load: () => Promise<{ latencies: number[]; seconds: number }>,
): Promise<Cell> {
  const load0 = loadavg()[0] ?? Number.NaN;
  const aside0 = processTreeCpuSeconds(asidePid);
  const tree0 = processTreeCpuSeconds(pid);
  const threads0 = threadCpuSeconds(pid);
  const own0 = process.cpuUsage();
  const from = nowUs();
  const { latencies, seconds } = await load();
  const to = nowUs();
  const own = process.cpuUsage(own0);
  const threads = threadCpuSeconds(pid);
  const tree = processTreeCpuSeconds(pid) - tree0;
  const aside = processTreeCpuSeconds(asidePid) - aside0;
  latencies.sort((a, b) => a - b);
  const n = latencies.length;
  const spent = [...threads].map(([tid, s]) => ({ tid, s: s - (threads0.get(tid) ?? 0) }));
  const main = spent.find((t) => t.tid === pid)?.s ?? Number.NaN;
  const others = spent.filter((t) => t.tid !== pid).sort((a, b) => b.s - a.s);
  const dynamodb = others[0]?.s ?? 0;
  const rest = others.slice(1).reduce((a, t) => a + t.s, 0);
  const perRequest = (seconds: number) => (seconds * 1e6) / n;
  return {
    name,
    rps: n / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpu: {
      main: perRequest(main),
      dynamodb: perRequest(dynamodb),
      threads: perRequest(rest),
      children: perRequest(Math.max(0, tree - main - dynamodb - rest)),
      aside: perRequest(aside),
      bench: (own.user + own.system) / n,
    },
    load: [load0, loadavg()[0] ?? Number.NaN],
    window: { from, to },
    requests: n,
  };
}

/** autocannon at `c` connections; latencies from each response (sub-millisecond), not its whole-ms histogram. */
async function httpLoad(url: string, headers: Record<string, string>, c: number, seconds: number, overallRate?: number) {
  const latencies: number[] = [];
  const instance = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections: c,
    duration: seconds,
    ...(overallRate === undefined ? {} : { overallRate }),
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200) latencies.push(ms);
  });
  const r = await instance;
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0)
    throw new Error(`${url} c=${c}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return { latencies, seconds: r.duration };
}

/** The model server's answer to the bench body. */
async function modelAnswer(modelUrl: string): Promise<InvocationResponse> {
  const res = await fetch(`${modelUrl}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (!res.ok) throw new Error(`the model server answered ${res.status}`);
  return (await res.json()) as InvocationResponse;
}

interface Aside {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The floor API (`floor-api.ts`) in its own process, logging to the system's table. */
function startFloor(sys: System, answer: InvocationResponse): Promise<Aside> {
  const settings: FloorSettings = {
    apiKey: API_KEY,
    dynamodbUrl: sys.dynamoUrl,
    s3Url: sys.s3Url,
    sqsUrl: sys.sqsUrl,
    logDlqUrl: sys.logDlqUrl,
    answer,
  };
  return startAside(join(__dirname, 'floor-api.ts'), JSON.stringify(settings));
}

/** A bench server (`script`, which prints `listening <url>`) in a process of its own. */
async function startAside(script: string, ...args: string[]): Promise<Aside> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\S+)/.exec(out);
      if (m?.[1] !== undefined) done(m[1]);
    });
    child.once('exit', () => fail(new Error(`${script} exited: ${out}`)));
  });
  if (child.pid === undefined) throw new Error(`${script} has no pid`);
  return {
    url,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A record as the predict handler logs it for the bench's body, from the model's own answer: built once,
 * then each write gets a new id and time (the handler's record builder runs per request in the API).
 */
function loggedRecord(answer: InvocationResponse): Promise<PredictionRecord> {
  const [sent] = parseInstances(manifest, 'application/json', Buffer.from(body));
  if (sent === undefined || 's3Key' in sent) throw new Error('the bench body has no inline instance');
  const [prediction] = answer.predictions;
  if (prediction === undefined) throw new Error('the model server answered no prediction');
  const build = recordBuilder({
    manifest,
    ttlDays: 0,
    storeInput: () => Promise.reject(new Error('the bench record is logged inline')),
  });
  const seen: ResolvedInstance = sent;
  return build({
    prediction,
    sent,
    seen,
    model: answer.model,
    requestId: randomUUID(),
    apiKeyId: apiKeyIdOf(API_KEY),
    now: new Date(),
    latencyMs: 1.5,
  });
}

/** Conditional PutItems of `record` (fresh id each), `c` at a time, as the log writer sends them. */
async function writeLoad(store: PredictionLogStore, record: PredictionRecord, c: number, seconds: number) {
  const latencies: number[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const now = Date.now();
      const t = performance.now();
      const out = await putRecordWithRetry(store, { ...record, id: newPredictionId(now), createdAt: new Date(now).toISOString() });
      if (!out.ok) throw new Error(`the log write failed: ${errorMessage(out.error)}`);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: c }, worker));
  return { latencies, seconds: (performance.now() - t0) / 1000 };
}

/** An endpoint answering every DynamoDB call `{}` at once: writing there costs the SDK client alone. */
async function startNoopDynamoDb(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'content-length': 2 });
      res.end('{}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/**
 * The log-write client as the predict function builds it: one attempt per call (the writer retries);
 * `plain`: the SDK's defaults instead (middleware resolved per call, logger middleware in), for comparison.
 */
function logStore(endpoint: string, plain = false): { store: PredictionLogStore; close: () => void } {
  const config = { endpoint, region: LOCAL_NAMES.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 };
  const client = plain ? new DynamoDBClient(config) : logTableClient(config);
  return { store: new PredictionLogStore(client, LOCAL_NAMES.table), close: () => client.destroy() };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

function printCells(cells: Cell[]): void {
  const cols = ['req/s', 'p50 ms', 'p99 ms', 'main', 'dynamodb', 'threads', 'children', 'aside', 'bench', 'load avg'];
  process.stdout.write(`${''.padEnd(36)} ${''.padStart(23)}  CPU µs per request\n`);
  process.stdout.write(`${'path'.padEnd(36)}${cols.map((c) => c.padStart(c === 'load avg' ? 12 : 9)).join('')}\n`);
  for (const c of cells) {
    const figures = [c.rps.toFixed(0), c.p50.toFixed(2), c.p99.toFixed(2), ...Object.values(c.cpu).map((us) => us.toFixed(0))];
    const load = `${c.load[0].toFixed(1)}→${c.load[1].toFixed(1)}`;
    process.stdout.write(`${c.name.padEnd(36)}${figures.map((f) => f.padStart(9)).join('')}${load.padStart(12)}\n`);
  }
}

function printStages(cells: Cell[]): void {
  if (profileDir === undefined) return;
  const profiles = readProfiles(profileDir);
  // The cells' windows beside the profiles, for a closer look at them than the stages below.
  writeFileSync(join(profileDir, 'windows.json'), JSON.stringify(cells.map((c) => ({ name: c.name, requests: c.requests, ...c.window }))));
  for (const kind of ['end to end', 'log write alone']) {
    const mine = cells.filter((c) => c.name.startsWith(kind));
    const requests = mine.reduce((n, c) => n + c.requests, 0);
    process.stdout.write(
      `\nsampled time of the system's threads per ${kind} request by stage, µs (V8 profiles, ${mine.length} cells; a preempted thread charges the wait to where it stopped)\n`,
    );
    const threads = profiles
      .map(({ file, profile }) => {
        const total = new Map<string, number>();
        for (const c of mine) for (const [stage, us] of stageTimes(profile, c.window)) total.set(stage, (total.get(stage) ?? 0) + us);
        return { file, total };
      })
      .filter((t) => [...t.total.values()].reduce((a, b) => a + b, 0) / requests >= 5);
    for (const [i, { file, total }] of threads.entries()) {
      const sum = [...total.values()].reduce((a, b) => a + b, 0);
      const top = [...total].sort((a, b) => b[1] - a[1])[0]?.[0];
      const name = i === 0 ? 'main thread' : top === 'embedded DynamoDB' ? 'DynamoDB thread' : `thread ${i}`;
      process.stdout.write(`  ${name} (${file}): ${(sum / requests).toFixed(0)} µs\n`);
      for (const [stage, us] of [...total].sort((a, b) => b[1] - a[1])) {
        process.stdout.write(`    ${(us / requests).toFixed(0).padStart(6)}  ${stage}\n`);
      }
    }
  }
}

const cpuOf = (c: Cell) => Object.values(c.cpu).reduce((a, b) => a + b, 0);

/**
 * The cap the floor puts on the end to end: every end-to-end request spends at least the write alone's CPU
 * (SDK client, DynamoDB, table stream) and the bare chain's (the load generator, an HTTP request served, a
 * keep-alive call and the server answering it); on `cores` cores that caps its req/s. The system's main
 * thread runs at least the SDK client, the table stream, the served HTTP and the call's client side (the
 * chain less its second server, taken as the bare server's), on one core. On a shared machine the write
 * alone may not fill the cores: the last line holds the end to end to the CPU the write alone takes.
 */
function printFloorBound(write: Cell[], e2e: Cell[], server: Cell, chain: Cell, cores: number): void {
  const w = median(write.map(cpuOf));
  const least = w + cpuOf(chain);
  const writeRps = median(write.map((c) => c.rps));
  const cap = (cores * 1e6) / least;
  const sdkAndStream = median(write.map((c) => c.cpu.bench + c.cpu.main));
  const http = Math.max(0, chain.cpu.aside - server.cpu.aside);
  const mainCap = 1e6 / (sdkAndStream + http);
  const f = (n: number) => n.toFixed(0);
  process.stdout.write(
    `least CPU of an end-to-end request: ${f(least)} µs (the write alone ${f(w)} + the bare chain ${f(cpuOf(chain))})\n` +
      `  cap on ${cores} cores: ${f(cap)} req/s = ${(cap / writeRps).toFixed(2)}x the write alone's median ${f(writeRps)} (target 0.8x)\n` +
      `  the main thread's least: ${f(sdkAndStream + http)} µs (SDK client and table stream ${f(sdkAndStream)} + HTTP served and called ${f(http)}): cap ${f(mainCap)} req/s = ${(mainCap / writeRps).toFixed(2)}x\n` +
      `  0.8x on the CPU the write alone takes: at most ${f(w / 0.8)} µs an end-to-end request; the floor takes ${f(least)}, the end to end ${f(median(e2e.map(cpuOf)))} (main thread ${f(median(e2e.map((c) => c.cpu.main)))})\n`,
  );
}

async function main() {
  const sys = await startSystem();
  const noop = await startNoopDynamoDb();
  const log = logStore(sys.dynamoUrl);
  const noopLog = logStore(noop.url);
  const plainNoopLog = logStore(noop.url, true);
  const { store } = log;
  let floorApi: Aside | undefined;
  const bareServers: Aside[] = [];
  try {
    const key = { 'x-api-key': API_KEY };
    const answer = await modelAnswer(sys.modelUrl);
    const record = await loggedRecord(answer);
    const floor = await startFloor(sys, answer);
    floorApi = floor;
    const pids = { pid: sys.pid, asidePid: floor.pid };
    // Warm-up: the handlers' first runs, connection pools, JIT on every side.
    await httpLoad(`${sys.apiUrl}/predict`, key, connections, warmup);
    await httpLoad(`${floor.url}/predict`, key, connections, warmup);
    await writeLoad(store, record, connections, warmup);

    const runs = {
      write: () => measure('log write alone (PutItem)', pids, () => writeLoad(store, record, connections, duration)),
      e2e: () => measure('end to end (POST /predict)', pids, () => httpLoad(`${sys.apiUrl}/predict`, key, connections, duration)),
      floor: () =>
        measure('floor: no model call (POST /predict)', pids, () => httpLoad(`${floor.url}/predict`, key, connections, duration)),
    };
    const cells: Cell[] = [];
    const ratios: { e2e: number; floor: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      // ABBA: the write first in even rounds, last in odd ones.
      const order = r % 2 === 0 ? (['write', 'e2e', 'floor'] as const) : (['floor', 'e2e', 'write'] as const);
      const round: Partial<Record<keyof typeof runs, Cell>> = {};
      for (const k of order) round[k] = await runs[k]();
      const { write, e2e, floor: bare } = round;
      if (write === undefined || e2e === undefined || bare === undefined) throw new Error('a round lost a cell');
      cells.push(write, e2e, bare);
      ratios.push({ e2e: e2e.rps / write.rps, floor: bare.rps / write.rps });
    }
    const context = [
      await measure('direct model server', pids, () => httpLoad(`${sys.modelUrl}/invocations`, {}, connections, duration)),
      await measure('SDK alone (PutItem, no-op endpoint)', pids, () => writeLoad(noopLog.store, record, connections, duration)),
      await measure('  the same, SDK default client', pids, () => writeLoad(plainNoopLog.store, record, connections, duration)),
    ];

    // The floor of what no change of ours removes, at the target rate (0.8x the write alone's median).
    const writeCells = cells.filter((c) => c.name.startsWith('log write'));
    const targetRate = Math.round(0.8 * median(writeCells.map((c) => c.rps)));
    const bareRow = async (name: string, ...args: string[]) => {
      const bare = await startAside(BARE_SERVER, JSON.stringify(answer), ...args);
      bareServers.push(bare);
      await httpLoad(`${bare.url}/invocations`, {}, connections, warmup, targetRate);
      const cell = await measure(name, { pid: sys.pid, asidePid: bare.pid }, () =>
        httpLoad(`${bare.url}/invocations`, {}, connections, duration, targetRate),
      );
      await bare.stop();
      return cell;
    };
    const server = await bareRow('bare HTTP server, fixed answer');
    const chain = await bareRow('bare chain: server -> keep-alive call', 'chain');

    const cpu = cpus();
    process.stdout.write(
      `\nlocal API vs its log write, c=${connections}, ${duration} s per cell after ${warmup} s of warm-up each, ${rounds} rounds (ABBA), one-row JSON bodies; ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, node ${process.version}\n\n`,
    );
    printCells(cells);
    process.stdout.write('\ncontext (once)\n');
    printCells(context);
    process.stdout.write(`\nthe floor of the parts no change of ours removes, at ${targetRate} req/s (0.8x the write alone)\n`);
    printCells([server, chain]);
    printFloorBound(
      writeCells,
      cells.filter((c) => c.name.startsWith('end to end')),
      server,
      chain,
      cpu.length,
    );
    const med = (name: string) => median(cells.filter((c) => c.name.startsWith(name)).map((c) => c.rps)).toFixed(0);
    process.stdout.write(`\nmedian req/s: end to end ${med('end')}, floor ${med('floor')}, log write alone ${med('log')}\n`);
    const e2e = median(ratios.map((r) => r.e2e));
    const bare = median(ratios.map((r) => r.floor));
    const each = (f: (r: { e2e: number; floor: number }) => number) => ratios.map((r) => f(r).toFixed(2)).join(', ');
    process.stdout.write(
      `end to end / log write alone, c=${connections}: ${e2e.toFixed(2)}x (rounds ${each((r) => r.e2e)}; target >= 0.8x) ${e2e >= 0.8 ? 'MET' : 'NOT MET'}\n`,
    );
    process.stdout.write(`floor (no model call) / log write alone: ${bare.toFixed(2)}x (rounds ${each((r) => r.floor)})\n`);
    process.stdout.write(
      `load average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
    );
    await Promise.all([sys.stop(), floor.stop()]);
    printStages(cells);
  } finally {
    log.close();
    noopLog.close();
    plainNoopLog.close();
    await Promise.all([sys.stop(), noop.close(), floorApi?.stop(), ...bareServers.map((b) => b.stop())]);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${errorMessage(e)}\n`);
  process.exitCode = 1;
});
