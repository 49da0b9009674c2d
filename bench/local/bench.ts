/**
 * Local end-to-end benchmark: `POST /predict` through the gateway, the predict handler and the prediction
 * log (DynamoDB), beside a direct `POST /invocations` to the same model server, in the same run.
 * The local system runs as `npm start` does, in its own processes; autocannon drives the load from here.
 *
 *   npx tsx bench/local/bench.ts [--duration 5]
 *
 * Target (issue 4): end-to-end p50 ≤ 2× direct p50. Two more rows measure what every accepted prediction
 * must pay before it is answered whatever the gateway and handler do: one conditional PutItem of a log
 * item through the SDK to the same embedded DynamoDB, and the same call to an endpoint that answers `{}`
 * at once (the SDK client's own cost, the least any DynamoDB could leave).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { errorMessage } from '../../contract/errors';
import { dynamoClient, ensureTable } from '../../local/dynamodb';
import { PROJECT_ROOT } from '../../local/paths';

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
}) => AutocannonRun;
const autocannon = require('autocannon') as Autocannon;

const { values } = parseArgs({ options: { duration: { type: 'string', default: '5' } } });
const duration = Number(values.duration);
const parity = JSON.parse(readFileSync(join(PROJECT_ROOT, 'models', 'breast-cancer', 'parity.json'), 'utf8')) as {
  rows: { input: number[] }[];
};
const body = JSON.stringify({ instances: [parity.rows[0].input] });

async function startSystem() {
  const child = spawn(
    join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'),
    [join(PROJECT_ROOT, 'local', 'start.ts'), '--port', '0', '--in-memory'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MLSHIP_API_KEY: 'bench-key-0123456789abcdef', PORT: '' },
    },
  );
  let out = '';
  // Keep reading: the handlers' log lines go to stdout as they would to CloudWatch.
  child.stdout.on('data', (c: Buffer) => {
    if (out.length < 100_000) out += c.toString();
  });
  child.stderr.resume();
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const deadline = Date.now() + 60_000;
  while (!out.includes('Ctrl-C stops everything')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the local system did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const apiUrl = /API {8}(\S+)/.exec(out)?.[1];
  const modelUrl = /Model {6}.*?(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  const dynamoUrl = /DynamoDB {3}(\S+)/.exec(out)?.[1];
  if (!apiUrl || !modelUrl || !dynamoUrl) throw new Error(`cannot read the banner:\n${out}`);
  return {
    apiUrl,
    modelUrl,
    dynamoUrl,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Latencies come from each response (sub-millisecond), not from autocannon's whole-millisecond histogram. */
async function run(name: string, url: string, headers: Record<string, string>, connections: number) {
  const latencies: number[] = [];
  const instance = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections,
    duration,
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200) latencies.push(ms);
  });
  const r = await instance;
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0)
    throw new Error(`${name} c=${connections}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { name, connections, rps: latencies.length / r.duration, p50: at(50), p99: at(99) };
}

/** Conditional PutItems of a log-sized item, `connections` at a time, for `duration` seconds. */
async function runPutItem(name: string, dynamoUrl: string, connections: number, createTable = true) {
  const client = dynamoClient(dynamoUrl);
  const table = 'mlship-bench-floor';
  if (createTable) await ensureTable(client, table);
  const input = JSON.stringify(parity.rows[0].input);
  const output = JSON.stringify({ label: 'benign', probabilities: { malignant: 0.02, benign: 0.98 } });
  const latencies: number[] = [];
  const end = Date.now() + duration * 1000;
  let n = 0;
  const worker = async () => {
    while (Date.now() < end) {
      const id = `bench-c${connections}-${n++}`;
      const t = performance.now();
      await client.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            id: { S: id },
            model: { S: 'breast-cancer#1.0.0' },
            createdAt: { S: new Date().toISOString() },
            input: { S: input },
            output: { S: output },
          },
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': 'id' },
        }),
      );
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  client.destroy();
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { name, connections, rps: latencies.length / duration, p50: at(50), p99: at(99) };
}

/**
 * An endpoint that answers every DynamoDB call with `{}` at once, in this process: writing to it
 * measures what the SDK client alone costs per write (a DynamoDB infinitely fast would leave this).
 */
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

async function main() {
  const sys = await startSystem();
  const noop = await startNoopDynamoDb();
  try {
    const key = { 'x-api-key': 'bench-key-0123456789abcdef' };
    // Warm-up: cold handler start, connection pools, the model's first runs.
    await autocannon({
      url: `${sys.apiUrl}/predict`,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...key },
      body,
      connections: 4,
      duration: 1,
    });
    const rows = [];
    for (const c of [1, 32]) {
      rows.push(await run('direct model server', `${sys.modelUrl}/invocations`, {}, c));
      rows.push(await run('end to end (API + log)', `${sys.apiUrl}/predict`, key, c));
      rows.push(await runPutItem('log write alone (PutItem)', sys.dynamoUrl, c));
      rows.push(await runPutItem('SDK alone (no-op endpoint)', noop.url, c, false));
    }
    process.stdout.write(`\nlocal end-to-end vs direct model server, ${duration} s per cell, one-row JSON bodies\n\n`);
    process.stdout.write(
      `${'path'.padEnd(26)} ${'c'.padStart(3)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}\n`,
    );
    for (const r of rows) {
      process.stdout.write(
        `${r.name.padEnd(26)} ${String(r.connections).padStart(3)} ${r.rps.toFixed(0).padStart(8)} ${r.p50.toFixed(3).padStart(7)} ${r.p99.toFixed(3).padStart(7)}\n`,
      );
    }
    process.stdout.write('\n');
    for (const c of [1, 32]) {
      const direct = rows.find((r) => r.connections === c && r.name.startsWith('direct'));
      const e2e = rows.find((r) => r.connections === c && r.name.startsWith('end'));
      if (!direct || !e2e) continue;
      const ratio = e2e.p50 / Math.max(direct.p50, 0.001);
      const put = rows.find((r) => r.connections === c && r.name.startsWith('log write'));
      const sdk = rows.find((r) => r.connections === c && r.name.startsWith('SDK alone'));
      const times = (r: { p50: number } | undefined) => (r ? (r.p50 / Math.max(direct.p50, 0.001)).toFixed(2) : '?');
      const floor = `; the log write alone is ${times(put)}x direct, the SDK alone ${times(sdk)}x`;
      process.stdout.write(
        `c=${c}: end-to-end p50 = ${ratio.toFixed(2)}x direct (target <= 2x) ${ratio <= 2 ? 'MET' : 'NOT MET'}${floor}\n`,
      );
    }
  } finally {
    await Promise.all([sys.stop(), noop.close()]);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${errorMessage(e)}\n`);
  process.exitCode = 1;
});
