/**
 * A TCP pass-through on 127.0.0.1 that can be switched off: while off it refuses new connections and
 * cuts open ones, as a store that went away does. Put between a client and a real server to take the
 * server "down" for the client without stopping it for everyone else.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpSwitch {
  readonly url: string;
  /** Refuse and cut connections. */
  off(): Promise<void>;
  /** Pass connections through again, on the same port. */
  on(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpSwitch(targetPort: number): Promise<TcpSwitch> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  const port = await listen(0);
  let listening = true;
  const off = async () => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of open) s.destroy();
    open.clear();
    await closed;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    off,
    async on() {
      if (listening) return;
      await listen(port);
      listening = true;
    },
    close: off,
  };
}
