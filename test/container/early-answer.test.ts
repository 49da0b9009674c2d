/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Answers given before the body is read reach every client: a 30 MB body to the model server and to the
 * local gateway gets the JSON 413 every time with Node's fetch, curl and Python's http.client — never a
 * reset while the client is still sending. Node's own parser errors answer in the JSON error shape.
 */
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import * as net from 'node:net';
import { promisify } from 'node:util';
import { type RunningServer, startServer } from '../../container/src/server';
import { errorMessage } from '../../contract/errors';
import { HANDLERS, type HandlerName } from '../../contract/routes';
import { apiKeyIdOf, createGateway, type ProxyHandler } from '../../local/gateway';
import { closeServer, listen } from '../../local/listen';
import { describeWithTools, PYTHON } from '../support/external-tools';
import { BREAST_CANCER, closeAgent } from './helpers';

const run = promisify(execFile);
const BODY = Buffer.alloc(30 * 1024 * 1024, 'a');
const API_KEY = 'test-key-0123456789abcdef';
const TRIES = 12;

let model: RunningServer;
let gateway: Server;
let gatewayUrl: string;

beforeAll(async () => {
  model = await startServer({ modelDir: BREAST_CANCER });
  const ok: ProxyHandler = async () => ({ statusCode: 200, body: '{}' });
  gateway = createGateway({
    handlers: Object.fromEntries(HANDLERS.map((h) => [h, ok])) as Record<HandlerName, ProxyHandler>,
    apiKey: API_KEY,
    apiKeyId: apiKeyIdOf(API_KEY),
    stage: 'local',
  });
  gatewayUrl = `http://127.0.0.1:${await listen(gateway, 0, 'test gateway')}`;
});
afterAll(async () => {
  await model.close();
  await closeServer(gateway);
  closeAgent();
});

const targets = () =>
  [
    ['model server', `${model.url}/invocations`, {}],
    ['local gateway', `${gatewayUrl}/predict`, { 'x-api-key': API_KEY }],
  ] as const;

/** 30 MB as a stream of 1 MB chunks with a pause between them: still sending long after the answer. */
function slowBody(): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent >= 30) return controller.close();
      await new Promise((r) => setTimeout(r, 5));
      controller.enqueue(BODY.subarray(sent * 1024 * 1024, ++sent * 1024 * 1024));
    },
  });
}

test.each([
  [0, 'at once'],
  [1, 'at once'],
  [0, 'streamed'],
  [1, 'streamed'],
])('Node fetch sending 30 MB reads the JSON 413 every time (target %s, %s)', async (t, how) => {
  const [, url, headers] = targets()[t as number];
  const outcomes: string[] = [];
  for (let i = 0; i < TRIES; i++) {
    try {
      const body = how === 'streamed' ? slowBody() : BODY;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        duplex: 'half',
      } as RequestInit);
      outcomes.push(`${res.status} ${(await res.json()).error.code}`);
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      outcomes.push(`error ${cause?.code ?? errorMessage(e)}`);
    }
  }
  expect(outcomes).toEqual(Array(TRIES).fill('413 PAYLOAD_TOO_LARGE'));
});

describeWithTools(['curl', 'python3'], 'curl and Python read the JSON 413', () => {
  test.each([0, 1])('curl and Python read the JSON 413 too (target %#)', async (t) => {
    const [, url, headers] = targets()[t];
    const file = `${require('node:os').tmpdir()}/mlship-30mb-${process.pid}`;
    require('node:fs').writeFileSync(file, BODY);
    try {
      const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
      for (let i = 0; i < 3; i++) {
        const curl = await run('curl', [
          '-sS',
          '-X',
          'POST',
          url,
          '-H',
          'content-type: application/json',
          ...h,
          '--data-binary',
          `@${file}`,
          '-w',
          '\n%{http_code}',
        ]);
        expect(curl.stdout.trim().split('\n').pop()).toBe('413');
        expect(JSON.parse(curl.stdout.trim().split('\n')[0]).error.code).toBe('PAYLOAD_TOO_LARGE');
      }
      // Python's http.client: what requests and urllib3 send through (Debian's python3 has no requests).
      const py = [
        'import http.client, json, sys, urllib.parse',
        'u = urllib.parse.urlsplit(sys.argv[1]); body = open(sys.argv[2], "rb").read()',
        'headers = dict([("content-type", "application/json")] + [tuple(a.split(": ", 1)) for a in sys.argv[3:]])',
        'for _ in range(3):',
        '  c = http.client.HTTPConnection(u.hostname, u.port); c.request("POST", u.path, body=body, headers=headers)',
        '  r = c.getresponse(); print(r.status, json.loads(r.read())["error"]["code"]); c.close()',
      ].join('\n');
      const out = await run(PYTHON, ['-c', py, url, file, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]);
      expect(out.stdout.trim().split('\n')).toEqual(Array(3).fill('413 PAYLOAD_TOO_LARGE'));
    } finally {
      require('node:fs').rmSync(file, { force: true });
    }
  });
});

/** Sends raw bytes and returns everything the server answers until it closes. */
function raw(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(bytes));
    let out = '';
    socket.on('data', (c: Buffer) => (out += c.toString()));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

test.each([0, 1])("Node's parser errors (431, 400) answer in the JSON error shape (target %#)", async (t) => {
  const [, url] = targets()[t];
  const big = await raw(url, `GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  expect(big).toMatch(/^HTTP\/1\.1 431 /);
  expect(JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4)).error.code).toBe('HEADERS_TOO_LARGE');
  const bad = await raw(url, 'NOT HTTP AT ALL\r\n\r\n');
  expect(bad).toMatch(/^HTTP\/1\.1 400 /);
  expect(bad).toMatch(/content-type: application\/json/);
  expect(JSON.parse(bad.slice(bad.indexOf('\r\n\r\n') + 4)).error.code).toBe('MALFORMED_REQUEST');
});
