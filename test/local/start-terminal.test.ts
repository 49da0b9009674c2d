/** What a person sees in the terminal of `npm start`: the options, the banner, and a quiet log by default. */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_NAMES, PROJECT_ROOT, S3RVER_CREDENTIALS, servicePortsFor } from '../../local/paths';
import { withTools } from '../support/external-tools';
import { type Spawned, spawnStart } from '../support/npm-start';

const TSX = join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
const START = join(PROJECT_ROOT, 'local', 'start.ts');
const parity = JSON.parse(readFileSync(join(PROJECT_ROOT, 'models', 'breast-cancer', 'parity.json'), 'utf8')) as {
  rows: { input: number[] }[];
};

// Each test starts the whole system in its own process: slow on a busy machine.
jest.setTimeout(180_000);

type Run = Spawned;

/** Sums the request summary lines (`… 2 requests in 1 s: 2 POST /predict · 1 ok, 1 4xx · p50 …`) of a run. */
function summaryTotals(text: string): { requests: number; predicts: number; ok: number; clientErrors: number } {
  const t = { requests: 0, predicts: 0, ok: 0, clientErrors: 0 };
  for (const m of text.matchAll(
    /(\d+) requests? in [\d.]+ s: (\d+) POST \/predict · (?:(\d+) ok)?(?:, )?(?:(\d+) 4xx)? · p50 [\d.]+ ms/g,
  )) {
    t.requests += Number(m[1]);
    t.predicts += Number(m[2]);
    t.ok += Number(m[3] ?? 0);
    t.clientErrors += Number(m[4] ?? 0);
  }
  return t;
}

async function until(what: string, ok: () => boolean, run: Run, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (run.child.exitCode !== null || Date.now() > deadline) throw new Error(`${what} did not happen:\n${run.stdout()}\n${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function bannerOf(run: Run): Promise<{ url: string; apiKey: string }> {
  await until('the banner', () => run.stdout().includes('Ctrl-C stops everything'), run);
  const url = /API {8}(http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout())?.[1];
  const apiKey = /API key {4}(\S+)/.exec(run.stdout())?.[1];
  if (!url || !apiKey) throw new Error(`no URL or key in the banner:\n${run.stdout()}`);
  return { url, apiKey };
}

const isFree = (port: number) =>
  new Promise<boolean>((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });

/** An API port whose four service ports above it are free too. */
async function freePortBlock(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const all = [port, ...Object.values(servicePortsFor(port))];
    if ((await Promise.all(all.map(isFree))).every(Boolean)) return port;
  }
  throw new Error('no free block of ports');
}

async function predict(url: string, apiKey: string, body: unknown): Promise<number> {
  const res = await fetch(`${url}/predict`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('npm start in a terminal', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('--help lists every start option', () => {
    const out = spawnSync(TSX, [START, '--help'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(out.status).toBe(0);
    for (const option of [
      '--port <n>',
      '--data-dir <dir>',
      '--in-memory',
      '--model <dir>',
      '--access-log',
      '--verbose',
      '--summary-every <seconds>',
      'PORT',
      'MLSHIP_API_KEY',
    ]) {
      expect(out.stdout).toContain(option);
    }
  });

  it('puts the services on the ports after --port, prints them with their credentials, and sums requests up instead of logging JSON', async () => {
    // GIVEN a system on a chosen port, summing up every second
    const port = await freePortBlock();
    const ports = servicePortsFor(port);
    const run = spawnStart(['--in-memory', '--port', String(port), '--summary-every', '1']);
    children.push(run.child);
    const { url, apiKey } = await bannerOf(run);

    // THEN the banner says where each service listens, with the keys and the AWS CLI commands to read them
    const banner = run.stdout();
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(banner).toContain(`DynamoDB   http://127.0.0.1:${ports.dynamodb}   table ${LOCAL_NAMES.table}`);
    expect(banner).toContain(`S3         http://127.0.0.1:${ports.s3}   bucket ${LOCAL_NAMES.bucket}`);
    expect(banner).toContain(`SQS        http://127.0.0.1:${ports.sqs}`);
    expect(banner).toContain(`http://127.0.0.1:${ports.model}`);
    expect(banner).toContain(`${S3RVER_CREDENTIALS.accessKeyId} / ${S3RVER_CREDENTIALS.secretAccessKey}`);
    expect(banner).toContain(`aws --endpoint-url http://127.0.0.1:${ports.dynamodb} dynamodb scan --table-name ${LOCAL_NAMES.table}`);
    expect(banner).toContain(`aws --endpoint-url http://127.0.0.1:${ports.s3} s3 ls s3://${LOCAL_NAMES.bucket}/`);

    // WHEN three predictions and a bad request arrive
    for (let i = 0; i < 3; i++) expect(await predict(url, apiKey, { instances: [parity.rows[i].input] })).toBe(200);
    expect(await predict(url, apiKey, { instances: [] })).toBe(400);

    // THEN the summary lines count them (one line, or more when the requests straddle a second), and no JSON
    // log or metric line reaches the terminal
    await until(
      'the summary',
      () => {
        const t = summaryTotals(run.stderr());
        return t.requests === 4 && t.predicts === 4 && t.ok === 3 && t.clientErrors === 1;
      },
      run,
    );
    const lines = (run.stdout() + run.stderr()).split('\n');
    expect(lines.filter((l) => l.trimStart().startsWith('{'))).toEqual([]);

    // AND the README's curl, pasted as is (KEY from the key file, the default port moved to this run's), predicts
    await withTools(['curl'], "the README's curl against npm start", () => {
      const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
      const block = /```sh\n(KEY=[^\n]*\ncurl [\s\S]*?)```/.exec(readme)?.[1];
      if (block === undefined) throw new Error('README: no ```sh block that sets KEY and then runs curl');
      const keyDir = mkdtempSync(join(tmpdir(), 'mlship-readme-'));
      writeFileSync(join(keyDir, 'api-key'), `${apiKey}\n`);
      const script = block.replaceAll('http://127.0.0.1:3000', url).replaceAll('.mlship/local/api-key', join(keyDir, 'api-key'));
      const curl = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, MLSHIP_API_KEY: '' } });
      rmSync(keyDir, { recursive: true, force: true });
      expect(curl.status).toBe(0);
      expect(JSON.parse(curl.stdout)).toMatchObject({ predictions: [{ label: expect.any(String) }] });
    });
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });

  it('--verbose prints the structured log lines and metrics as Lambda writes them', async () => {
    const run = spawnStart(['--in-memory', '--port', '0', '--verbose']);
    children.push(run.child);
    const { url, apiKey } = await bannerOf(run);
    expect(await predict(url, apiKey, { instances: [parity.rows[0].input] })).toBe(200);
    await until(
      'the JSON lines',
      () => run.stdout().includes('"message":"predicted"') && run.stdout().includes('"CloudWatchMetrics"'),
      run,
    );
    const json = run
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    for (const line of json) expect(() => JSON.parse(line)).not.toThrow();
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });
});
