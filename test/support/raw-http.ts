/**
 * Raw HTTP/1.1 over TCP, for the requests fetch will not send (odd transfer codings, `Expect` headers,
 * thousands of headers, a request line that is not HTTP, a body cut off half-way): what the server
 * answered, as bytes on the wire.
 */
import { Socket } from 'node:net';

export interface RawAnswer {
  /** Every status line the server sent, in order (a `100 Continue` before the final one shows here). */
  readonly statuses: number[];
  /** The final status (0 when nothing was answered). */
  readonly status: number;
  /** The error code of a JSON error body, if the final answer has one. */
  readonly code?: string;
  /** Everything the server sent. */
  readonly text: string;
}

export interface RawOptions {
  /** Close the connection after this many ms instead of waiting for the server to close it. @default 5000 */
  waitMs?: number;
  /** Send `bytes`, then keep the connection open for `afterWrite` (e.g. more body after an answer) instead of half-closing. */
  afterWrite?: (socket: Socket) => void;
}

/** Sends `bytes` to the server at `url` and reads until it closes the connection (or `waitMs`). */
export function rawRequest(url: string, bytes: string | Buffer, opts: RawOptions = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), opts.waitMs ?? 5000);
    socket.connect(Number(port), hostname, () => {
      if (opts.afterWrite) {
        socket.write(bytes);
        opts.afterWrite(socket);
      } else socket.end(bytes);
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')));
    });
  });
}

function parseAnswer(text: string): RawAnswer {
  // Status lines start the answer or follow the blank line of the one before (a body may say "HTTP/1.1" too).
  const lines = [...text.matchAll(/(?:^|\r\n\r\n)HTTP\/1\.1 (\d{3})/g)];
  const statuses = lines.map((m) => Number(m[1]));
  const status = statuses.at(-1) ?? 0;
  let code: string | undefined;
  const body = text.slice(text.indexOf('\r\n\r\n', lines.at(-1)?.index ?? 0) + 4);
  try {
    code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { statuses, status, code, text };
}
