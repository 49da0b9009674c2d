/**
 * `npm start` as a person runs it, for the tests: local/start.ts in a child process (node with tsx's
 * loader, as the npm script runs it), its banner read for the URL and the key, and the processes of a
 * process group read from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../local/paths';

const START = join(PROJECT_ROOT, 'local', 'start.ts');

export interface Spawned {
  child: ChildProcess;
  exit: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
}

export interface Started extends Spawned {
  url: string;
  apiKey: string;
}

/** Starts local/start.ts with `args`; `detached` gives it a process group of its own (as a terminal or an IDE does). */
export function spawnStart(args: string[], env: NodeJS.ProcessEnv = {}, detached = false): Spawned {
  const child = spawn(process.execPath, ['--import', 'tsx', START, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, MLSHIP_API_KEY: '', PORT: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, exit, stdout: () => out, stderr: () => err };
}

/** Starts the system on `dataDir` with free ports and waits for its banner. */
export async function startSystem(dataDir: string, detached = false): Promise<Started> {
  const p = spawnStart(['--port', '0', '--data-dir', dataDir], {}, detached);
  // A busy machine (two cores shared with other work) can take a minute to start everything.
  await until(
    () => p.stdout().includes('Ctrl-C stops everything') || p.child.exitCode !== null,
    90_000,
    () => `npm start did not come up:\n${p.stderr()}`,
  );
  const url = /API {8}(http:\/\/127\.0\.0\.1:\d+)/.exec(p.stdout())?.[1];
  const apiKey = /API key {4}(\S+)/.exec(p.stdout())?.[1];
  if (!url || !apiKey) throw new Error(`no URL or key in the banner:\n${p.stdout()}\n${p.stderr()}`);
  return { ...p, url, apiKey };
}

/** Pids of the live processes in process group `pgid` (zombies excluded), read from /proc. */
export function processesIn(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces, so split after its closing parenthesis.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

/** Polls `done` every 100 ms until it holds or `ms` pass (then fails with `why()`). */
export async function until(done: () => boolean, ms: number, why: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 100));
  }
}
