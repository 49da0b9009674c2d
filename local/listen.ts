/** Binding servers to 127.0.0.1 with one clear error when the port is taken. */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const LOCAL_HOST = '127.0.0.1';

/** A port someone else holds: the runner prints its message as one line and exits 1. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    what: string,
  ) {
    super(`Port ${port} is already in use (${what}). Stop the other process or choose another port with --port or PORT.`);
    this.name = 'PortInUseError';
  }
}

/** Listens on 127.0.0.1:`port` (0 picks a free one) and resolves with the bound port. */
export function listen(
  server: Server,
  port: number,
  what: string,
  listenFn: (port: number, host: string) => void = (p, h) => server.listen(p, h),
): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(port, what) : err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolvePort((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    listenFn(port, LOCAL_HOST);
  });
}

/** Stops listening and drops idle and open connections, so a stop is immediate. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((done, reject) => {
    if (!server.listening) return done();
    server.close((err) => (err ? reject(err) : done()));
    server.closeAllConnections();
  });
}

/** How long a stopping server leaves idle keep-alive connections open for a request already sent on them. */
const IDLE_GRACE_MS = 500;

/**
 * Makes `server` stoppable without cutting an answer short; call it once, before the server takes requests.
 * The returned stop stops accepting connections, closes the idle ones, lets every request in flight finish
 * (its answer, and any answer from then on, closes its connection instead of keeping it alive), and closes
 * what is still open at `deadlineMs`.
 */
export function gracefulStop(server: Server): (deadlineMs: number) => Promise<void> {
  const inFlight = new Set<ServerResponse>();
  let stopping = false;
  // First of the request listeners: a route answered at once has sent its headers before a later one runs.
  server.prependListener('request', (_req, res: ServerResponse) => {
    if (stopping) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  return (deadlineMs) =>
    new Promise((done, reject) => {
      if (!server.listening) return done();
      stopping = true;
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
      const force = setTimeout(() => server.closeAllConnections(), deadlineMs);
      // A keep-alive connection idle right now may carry a request already on its way: give it a moment to
      // arrive (and be answered with `connection: close`) before the idle ones are closed.
      const idle = setTimeout(() => server.closeIdleConnections(), IDLE_GRACE_MS);
      server.close((err) => {
        clearTimeout(force);
        clearTimeout(idle);
        if (err) reject(err);
        else done();
      });
    });
}

/** Fails fast with PortInUseError when `port` is taken, before slower start-up work begins. */
export async function checkPortFree(port: number, what: string): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await listen(probe, port, what);
  await closeServer(probe);
}
