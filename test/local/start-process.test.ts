/** `npm start` as a person runs it: a real process, its banner, SIGTERM, a restart on the same data, a taken port. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../local/paths';
import { defined } from '../support/defined';
import { processesIn, spawnStart, startSystem, until } from '../support/npm-start';

const parity = JSON.parse(readFileSync(join(PROJECT_ROOT, 'models', 'breast-cancer', 'parity.json'), 'utf8')) as {
  rows: { input: number[]; label: string }[];
};

describe('npm start', () => {
  let dataDir: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'mlship-start-'));
  });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops cleanly on SIGTERM and keeps the prediction log and the API key across a restart', async () => {
    const first = await startSystem(dataDir);
    children.push(first.child);
    expect(readFileSync(join(dataDir, 'api-key'), 'utf8').trim()).toBe(first.apiKey);
    const res = await fetch(`${first.url}/predict`, {
      method: 'POST',
      headers: { 'x-api-key': first.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [parity.rows[0].input] }),
    });
    expect(res.status).toBe(200);
    const id = (await res.json()).predictions[0].id as string;

    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    expect(first.stderr()).toContain('stopped.');

    const second = await startSystem(dataDir);
    children.push(second.child);
    expect(second.apiKey).toBe(first.apiKey);
    const again = await fetch(`${second.url}/predictions/${id}`, { headers: { 'x-api-key': second.apiKey } });
    expect(again.status).toBe(200);
    expect((await again.json()).label).toBe(parity.rows[0].label);
    second.child.kill('SIGINT');
    expect(await second.exit).toBe(0);
  }, 240_000);

  const MODEL = join(PROJECT_ROOT, 'models', 'breast-cancer');
  it.each([
    ['npm start', 'SIGTERM', (dir: string) => ['start', '--', '--port', '0', '--data-dir', dir], 'Ctrl-C stops everything'],
    ['npm start', 'SIGINT', (dir: string) => ['start', '--', '--port', '0', '--data-dir', dir], 'Ctrl-C stops everything'],
    [
      'npm run mlship -- start',
      'SIGINT',
      (dir: string) => ['run', 'mlship', '--', 'start', '--port', '0', '--data-dir', dir],
      'Ctrl-C stops everything',
    ],
    [
      'npm run mlship -- start',
      'SIGTERM',
      (dir: string) => ['run', 'mlship', '--', 'start', '--port', '0', '--data-dir', dir],
      'Ctrl-C stops everything',
    ],
    [
      'npm run mlship -- serve',
      'SIGINT',
      () => ['run', 'mlship', '--', 'serve', '--model', MODEL, '--port', '0', '--workers', '1', '--host', '127.0.0.1'],
      '"msg":"ready"',
    ],
    [
      'npm run mlship -- serve',
      'SIGTERM',
      () => ['run', 'mlship', '--', 'serve', '--model', MODEL, '--port', '0', '--workers', '1', '--host', '127.0.0.1'],
      '"msg":"ready"',
    ],
  ] as const)(
    '`%s` stops every process it started when npm alone gets %s',
    async (_name, signal, npmArgs, ready) => {
      // GIVEN the command run through npm in its own process group, as an IDE or a process manager runs it
      const dir = mkdtempSync(join(tmpdir(), 'mlship-npm-'));
      const npm = spawn('npm', npmArgs(dir), {
        cwd: PROJECT_ROOT,
        env: { ...process.env, MLSHIP_API_KEY: '', PORT: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      children.push(npm);
      let out = '';
      npm.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      npm.stderr?.on('data', () => undefined);
      const group = defined(npm.pid, 'the npm pid');
      try {
        await until(
          () => out.includes(ready),
          90_000,
          () => `${_name} did not come up:\n${out}`,
        );
        // npm, the command, the model server's primary and worker at least
        expect(processesIn(group).length).toBeGreaterThanOrEqual(3);

        // WHEN only npm's own pid gets the signal (an IDE's stop button)
        process.kill(group, signal);

        // THEN every process of the group is gone shortly after
        await until(
          () => processesIn(group).length === 0,
          20_000,
          () => `still running: ${JSON.stringify(processesIn(group))}`,
        );
      } finally {
        for (const pid of processesIn(group)) process.kill(pid, 'SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
    240_000,
  );

  it('refuses a second start on a busy data folder with one line naming the running one and --data-dir', async () => {
    // GIVEN a running system on a data folder
    const dir = mkdtempSync(join(tmpdir(), 'mlship-busy-'));
    const first = await startSystem(dir);
    children.push(first.child);
    try {
      // WHEN a second start uses the same folder
      const second = spawnStart(['--port', '0', '--data-dir', dir]);
      children.push(second.child);
      // THEN it exits 1 with one line naming the running instance's pid and URL and the way out
      expect(await second.exit).toBe(1);
      const lines = second
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('mlship:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`pid ${first.child.pid}`);
      expect(lines[0]).toContain(first.url);
      expect(lines[0]).toContain('--data-dir');
      expect(second.stdout()).toBe('');
      // AND the first still serves
      expect((await fetch(`${first.url}/health`)).status).toBe(200);
    } finally {
      first.child.kill('SIGTERM');
      expect(await first.exit).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('says in one line that the port is taken, with exit code 1 and no stack trace', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const p = spawnStart(['--in-memory'], { PORT: String(port) });
      children.push(p.child);
      expect(await p.exit).toBe(1);
      const lines = p
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('mlship:'));
      expect(lines).toEqual([
        `mlship: Port ${port} is already in use (API gateway). Stop the other process or choose another port with --port or PORT.`,
      ]);
      expect(p.stderr()).not.toMatch(/^\s+at /m);
      expect(p.stdout()).toBe('');
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
