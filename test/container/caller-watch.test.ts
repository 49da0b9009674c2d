/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * The caller's deadline on the tabular path: work for a caller whose deadline passed is not run, and the
 * watch itself reads the clock and the connection without timers until a long step asks for a signal.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { CallerWatch } from '../../container/src/caller-watch';
import { type RunningServer, startServer } from '../../container/src/server';
import { DEADLINE_HEADER } from '../../contract/prediction';
import { BREAST_CANCER, closeAgent, parity, postJson } from './helpers';

const row = parity(BREAST_CANCER).rows[0].input;
let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ modelDir: BREAST_CANCER });
});

afterAll(async () => {
  await server.close();
  closeAgent();
});

/** Sends the body in two parts, the second once `pause` resolves; answers status and JSON. */
function slowPost(url: string, body: string, headers: http.OutgoingHttpHeaders, pause: () => Promise<void>) {
  return new Promise<{ status: number; json: { error?: { code: string } } }>((resolve, reject) => {
    const req = http.request(`${url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    void pause().then(() => req.end(body.slice(half)));
  });
}

test('a tabular request whose deadline passes while its body arrives answers 504 and the model does not run', async () => {
  // GIVEN a request with a 20 ms deadline whose body is complete only after 100 ms
  const body = JSON.stringify({ instances: [row, row] });
  const runsBefore = server.stats?.runs ?? 0;
  // WHEN it is sent
  const late = await slowPost(server.url, body, { [DEADLINE_HEADER]: '20' }, () => new Promise((r) => setTimeout(r, 100)));
  // THEN it is abandoned before the model runs
  expect({ status: late.status, code: late.json.error?.code }).toEqual({ status: 504, code: 'BACKEND_TIMEOUT' });
  expect(server.stats?.runs).toBe(runsBefore);
  // AND a request within its deadline is served
  const onTime = await postJson(server.url, { instances: [row] }, { [DEADLINE_HEADER]: '60000' });
  expect(onTime.status).toBe(200);
  expect(server.stats?.runs).toBe(runsBefore + 1);
});

describe('CallerWatch', () => {
  /** A real request/response pair on loopback, handed to `use` while the request is open. */
  async function withExchange(use: (req: http.IncomingMessage, res: http.ServerResponse, client: http.ClientRequest) => Promise<void>) {
    let handed: Promise<void> = Promise.resolve();
    const srv = http.createServer((req, res) => {
      handed = use(req, res, client);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as { port: number };
    const client = http.request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': 10 } });
    client.on('error', () => undefined);
    client.write('x');
    await new Promise<void>((r) => srv.once('request', () => setImmediate(r)));
    await handed;
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  }

  test('check() passes while the caller waits and throws BACKEND_TIMEOUT once the deadline has passed', async () => {
    await withExchange(async (req, res) => {
      const watch = new CallerWatch(req, res, 30);
      expect(() => watch.check()).not.toThrow();
      const start = Date.now();
      while (Date.now() - start < 40) await new Promise((r) => setImmediate(r));
      expect(() => watch.check()).toThrow(/deadline of 30 ms passed/);
    });
  });

  test('without a deadline, a caller that closes its connection aborts the signal and fails check()', async () => {
    await withExchange(async (req, res, client) => {
      const watch = new CallerWatch(req, res, undefined);
      const signal = watch.signal();
      expect(signal.aborted).toBe(false);
      (client.socket as Socket).destroy();
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      expect(String((signal.reason as Error).message)).toMatch(/closed the connection/);
      expect(() => watch.check()).toThrow(/closed the connection/);
    });
  });
});
