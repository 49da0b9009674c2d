/**
 * Bare HTTP servers for `bench/local/bench.ts`: node:http answering every request with one fixed JSON
 * body once its request has arrived, and nothing else — what one HTTP hop costs a server here, the least
 * the gateway or the model server can spend on a request. With `chain`, the server answers each request by
 * calling a second bare server (started as its child process, as the model server is the system's) over a
 * keep-alive node:http client and passing its answer on: the gateway's and the model call's HTTP without
 * any code of ours. Its own process, so its CPU (with its child's) is its own.
 *
 *   node --import tsx bench/local/bare-server.ts <answer JSON> [chain]
 *
 * prints `listening <url>` and serves until SIGTERM.
 */
import { spawn } from 'node:child_process';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { listen } from '../../local/listen';

const [, , answerJson = '{}', mode] = process.argv;
const answer = Buffer.from(answerJson);

function readBody(req: IncomingMessage, then: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => then(Buffer.concat(chunks)));
}

function send(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

/** The second server, answering the fixed body, in a child process. */
function startUpstream(): Promise<{ url: URL; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, answerJson], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((done, fail) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\S+)/.exec(out);
      if (m?.[1] !== undefined) done({ url: new URL('/invocations', m[1]), stop: () => child.kill('SIGTERM') });
    });
    child.once('exit', () => fail(new Error(`the upstream bare server exited: ${out}`)));
  });
}

async function main() {
  const upstream = mode === 'chain' ? await startUpstream() : undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) =>
    readBody(req, (body) => {
      if (upstream === undefined) return send(res, answer);
      const headers = { 'content-type': 'application/json', 'content-length': body.length };
      const call = request(upstream.url, { method: 'POST', agent, headers }, (answered) => readBody(answered, (b) => send(res, b)));
      call.on('error', () => res.destroy());
      call.end(body);
    }),
  );
  const port = await listen(server, 0, 'bare server');
  process.stdout.write(`listening http://127.0.0.1:${port}\n`);
  process.once('SIGTERM', () => {
    upstream?.stop();
    server.closeAllConnections();
    server.close(() => agent.destroy());
  });
}

void main();
