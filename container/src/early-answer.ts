/**
 * Answering before the request body is read (413, 415, a refused key) so that every client reads the
 * answer. If the server closed the connection while the client was still sending, the client's next
 * write would meet a reset and many clients (Node's fetch, Python requests) report EPIPE/ECONNRESET
 * instead of the response. So the answer keeps the connection open and the rest of the body is read
 * and discarded — for a bounded time and number of bytes, after which the connection is closed anyway.
 *
 * Node's own parser errors (headers too large, a malformed request) get the same JSON error shape.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from '../../contract/errors';

/** How long, and how many bytes, an unread body is drained after an early answer before closing. */
export const LINGER = { ms: 10_000, bytes: 64 * 1024 * 1024 } as const;

/**
 * Drains what is left of `req`'s body; call it when answering before the body is read. The connection
 * stays usable once the body is over; if it does not end within `LINGER`, the connection is closed.
 */
export function drainUnreadBody(req: IncomingMessage): void {
  if (req.complete) return;
  const socket = req.socket;
  let drained = 0;
  const close = () => socket.destroy();
  const timer = setTimeout(close, LINGER.ms);
  timer.unref();
  const onData = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > LINGER.bytes) close();
  };
  req.on('data', onData);
  const done = () => {
    clearTimeout(timer);
    req.off('data', onData);
  };
  req.once('end', done);
  req.once('close', done);
  req.resume();
}

/** The HTTP status and stable code of a Node parser error (`clientError`). */
function parserError(err: NodeJS.ErrnoException): ApiError | undefined {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError('HEADERS_TOO_LARGE', 'The request headers are too large.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return new ApiError('REQUEST_TIMEOUT', 'The request was not received in time.');
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    default:
      return new ApiError('MALFORMED_REQUEST', `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'}).`);
  }
}

/**
 * Answers Node's HTTP parser errors (431, 400, 408) with the JSON error body instead of Node's bare
 * status line, then lingers like `drainUnreadBody` before closing.
 */
export function answerParserErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const e = parserError(err);
    if (e === undefined || !socket.writable) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify(e.toBody());
    const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[e.status] ?? 'Error';
    socket.end(
      `HTTP/1.1 ${e.status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    // Keep reading what the client still sends, so it reads the answer rather than a reset.
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), LINGER.ms);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
}
