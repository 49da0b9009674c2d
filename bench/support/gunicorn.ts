/**
 * Flask + gunicorn, the baseline the model-server benchmarks compare against: started on a free loopback
 * port with one BLAS thread per worker (the cores are shared), ready once `/ping` answers 200.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';

export interface Gunicorn {
  readonly url: string;
  /** Sends SIGTERM and waits for gunicorn to exit. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * gunicorn serving `app` (`module:app`) from `dir` with `workers` workers: `gthread` workers keep
 * connections alive; `sync` (its default) closes each one. Gives up after `startSeconds`.
 */
export async function startGunicorn(
  dir: string,
  app: string,
  workerClass: 'gthread' | 'sync',
  workers: number,
  startSeconds: number,
): Promise<Gunicorn> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const threads = workerClass === 'gthread' ? ['-k', 'gthread', '--threads', '4'] : [];
  const args = ['-w', String(workers), ...threads, '-b', `127.0.0.1:${port}`, '--chdir', dir, '--log-level', 'warning', app];
  const child: ChildProcess = spawn('gunicorn', args, {
    stdio: 'inherit',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
  });
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
  try {
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((r) => http.get(`${url}/ping`, (res) => r(res.statusCode === 200)).on('error', () => r(false)));
      if (up) break;
      if (i * 250 > startSeconds * 1000) throw new Error('gunicorn did not start');
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, stop };
}
