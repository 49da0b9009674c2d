/**
 * One running system per data folder: the embedded DynamoDB keeps a LevelDB lock there, and two runs
 * would share the queue file and the state the CLI reads. A lock file holding the owner's pid is taken
 * before anything starts; a second start finds it, and says which instance holds the folder (pid, URL)
 * and how to run another one. A lock left by a process that is gone is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '../contract/errors';
import { readState } from './paths';

export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly url: string | undefined,
  ) {
    super(
      `The data folder ${dataDir} is in use by mlship (pid ${pid}, ${url ?? 'still starting'}). ` +
        'Stop that one, or start another with --data-dir <another folder> (or --in-memory).',
    );
    this.name = 'DataDirBusyError';
  }
}

export function lockFile(dataDir: string): string {
  return join(dataDir, 'lock');
}

/** Takes the folder's lock for this process; returns the function that releases it. */
export function lockDataDir(dataDir: string): () => void {
  const file = lockFile(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (e) {
      if (errorCode(e) !== 'EEXIST') throw e;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        const state = readState(dataDir);
        throw new DataDirBusyError(dataDir, owner, state?.pid === owner ? state.url : undefined);
      }
      // Left behind by a process that is gone (killed with SIGKILL, a crash): take it over.
      rmSync(file, { force: true });
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return () => {
      try {
        if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true });
      } catch {
        // Already gone.
      }
    };
  }
  throw new Error(`Cannot take the lock ${file}.`);
}

/** Whether a process with this pid runs (EPERM: alive, but another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: alive, but another user's.
    return errorCode(e) === 'EPERM';
  }
}
