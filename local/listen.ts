/** Binding servers to 127.0.0.1 with one clear error when the port is taken. */
import { createServer, type Server } from 'node:http';
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

/** Fails fast with PortInUseError when `port` is taken, before slower start-up work begins. */
export async function checkPortFree(port: number, what: string): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await listen(probe, port, what);
  await closeServer(probe);
}
