import type { Server } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { HANDLERS, type HandlerName, ROUTES } from '../../contract/routes';
import { apiKeyIdOf, createGateway, type ProxyHandler } from '../../local/gateway';
import { closeServer, listen } from '../../local/listen';
import { rawRequest } from '../support/raw-http';

const API_KEY = 'test-key-0123456789abcdef';

/** Handlers that answer with the event they received, so the test sees what the gateway built. */
function echoHandlers(seen: APIGatewayProxyEvent[]): Record<HandlerName, ProxyHandler> {
  const echo: ProxyHandler = async (event, context) => {
    seen.push(event);
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resource: event.resource, requestId: context.awsRequestId }),
    };
  };
  return Object.fromEntries(HANDLERS.map((h) => [h, echo])) as Record<HandlerName, ProxyHandler>;
}

describe('local API gateway', () => {
  let server: Server;
  let url: string;
  const seen: APIGatewayProxyEvent[] = [];

  beforeAll(async () => {
    const handlers = echoHandlers(seen);
    handlers.meta = async (event, context) => {
      if (event.resource === '/health' && event.queryStringParameters?.boom === '1') throw new Error('handler bug');
      return echoHandlers(seen).meta(event, context);
    };
    server = createGateway({ handlers, apiKey: API_KEY, apiKeyId: apiKeyIdOf(API_KEY), stage: 'local', maxBodyBytes: 1024 });
    url = `http://127.0.0.1:${await listen(server, 0, 'test gateway')}`;
  });

  afterAll(async () => {
    await closeServer(server);
  });

  beforeEach(() => {
    seen.length = 0;
  });

  it('serves every route of the table at its resource, with the key where the table asks for one', async () => {
    for (const route of ROUTES) {
      const path = route.path.replace('{id}', 'p-1');
      const withKey = await fetch(url + path, {
        method: route.method,
        headers: { 'x-api-key': API_KEY },
        body: route.method === 'POST' ? '{}' : undefined,
      });
      expect({ id: route.id, status: withKey.status }).toEqual({ id: route.id, status: 200 });
      expect((await withKey.json()).resource).toBe(route.path);
      const without = await fetch(url + path, { method: route.method, body: route.method === 'POST' ? '{}' : undefined });
      expect({ id: route.id, status: without.status }).toEqual({ id: route.id, status: route.apiKey ? 403 : 200 });
      await without.arrayBuffer();
    }
  });

  it('builds the proxy event as API Gateway does', async () => {
    const res = await fetch(`${url}/predictions/abc%2F1/feedback?x=1&x=2&y=z`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'Content-Type': 'application/json', 'X-Custom': 'v' },
      body: '{"label":"benign"}',
    });
    expect(res.status).toBe(200);
    const { requestId } = await res.json();
    expect(res.headers.get('x-amzn-requestid')).toBe(requestId);
    const e = seen[0];
    expect(e).toMatchObject({
      resource: '/predictions/{id}/feedback',
      path: '/predictions/abc%2F1/feedback',
      httpMethod: 'POST',
      pathParameters: { id: 'abc/1' },
      queryStringParameters: { x: '2', y: 'z' },
      multiValueQueryStringParameters: { x: ['1', '2'], y: ['z'] },
      body: '{"label":"benign"}',
      isBase64Encoded: false,
      requestContext: {
        stage: 'local',
        requestId,
        resourcePath: '/predictions/{id}/feedback',
        identity: { apiKeyId: apiKeyIdOf(API_KEY), sourceIp: '127.0.0.1' },
      },
    });
    // Header names keep the caller's spelling, as in API Gateway's proxy events.
    expect(e.headers['X-Custom']).toBe('v');
    expect(e.multiValueHeaders['X-Custom']).toEqual(['v']);
  });

  it('passes bytes that are not UTF-8 base64-encoded', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00]);
    await (
      await fetch(`${url}/predict`, { method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'image/png' }, body: bytes })
    ).arrayBuffer();
    expect(seen[0].isBase64Encoded).toBe(true);
    expect(Buffer.from(seen[0].body ?? '', 'base64')).toEqual(bytes);
    expect(seen[0].queryStringParameters).toBeNull();
  });

  const json = JSON.stringify({ instances: [[1, 2, 3]] });
  /** POSTs `body` to /predict with the Content-Encoding `encoding`. */
  const post = (body: Buffer, encoding: string) =>
    fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', 'content-encoding': encoding },
      body: new Uint8Array(body),
    });

  it('decompresses gzip and deflate bodies as API Gateway does, and refuses other codings, bad data and bombs', async () => {
    // GIVEN the same JSON sent gzip-, deflate- and not compressed WHEN posted THEN the function sees the JSON
    for (const [body, encoding] of [
      [gzipSync(json), 'gzip'],
      [deflateSync(json), 'Deflate'],
      [Buffer.from(json), 'identity'],
    ] as const) {
      seen.length = 0;
      expect((await post(body, encoding)).status).toBe(200);
      expect(seen[0]?.body).toBe(json);
    }
    // AND brotli, a body that is not gzip, and 1 MB of zeros in 1 KB of gzip (past the 1,024-byte limit) never reach it
    seen.length = 0;
    for (const [body, encoding, status, code] of [
      [brotliCompressSync(json), 'br', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [Buffer.from(json), 'gzip', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [gzipSync(Buffer.alloc(1 << 20)), 'gzip', 413, 'PAYLOAD_TOO_LARGE'],
    ] as const) {
      const res = await post(body, encoding);
      expect({ encoding, status: res.status, code: (await res.json()).error.code }).toEqual({ encoding, status, code });
    }
    expect(seen).toHaveLength(0);
  });

  it('decompresses one content coding, as API Gateway does: a stack of them is refused before any is opened', async () => {
    // GIVEN bodies compressed twice (and a header naming 1,000 layers) WHEN posted THEN 415, and the function sees none
    for (const [body, encoding] of [
      [gzipSync(gzipSync(json)), 'gzip, gzip'],
      [gzipSync(deflateSync(json)), 'deflate, identity, gzip'],
      [gzipSync(json), Array(1000).fill('gzip').join(', ')],
    ] as const) {
      const res = await post(body, encoding);
      expect({ status: res.status, code: (await res.json()).error.code }).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
    expect(seen).toHaveLength(0);
    // AND one coding with identity beside it still passes
    expect((await post(gzipSync(json), 'identity, gzip')).status).toBe(200);
    expect(seen[0]?.body).toBe(json);
  });

  it('refuses a transfer coding besides chunked with 501 (RFC 9112) rather than pass its bytes on', async () => {
    const body = gzipSync('{"instances":[[1]]}');
    const request = (te: string) =>
      Buffer.concat([
        Buffer.from(
          `POST /predict HTTP/1.1\r\nHost: x\r\nx-api-key: ${API_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: ${te}\r\n\r\n`,
        ),
        Buffer.from(`${body.length.toString(16)}\r\n`),
        body,
        Buffer.from('\r\n0\r\n\r\n'),
      ]);
    // GIVEN a gzip transfer coding under the chunking WHEN sent THEN 501 with the JSON error, and the function never runs
    const answer = await rawRequest(url, request('gzip, chunked'));
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 501, code: 'UNSUPPORTED_TRANSFER_ENCODING' });
    expect(seen).toHaveLength(0);
    // AND plain chunking still reaches it
    expect((await rawRequest(url, request('chunked'))).status).toBe(200);
  });

  it('answers Expect: 100-continue with the 413 before any 100 Continue, sends 100 only for a body it will read, and 417 for another expectation', async () => {
    const head = (expect: string, length: number) =>
      `POST /predict HTTP/1.1\r\nHost: x\r\nx-api-key: ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nExpect: ${expect}\r\n\r\n`;
    // GIVEN a declared body over the limit WHEN the client waits for 100 Continue THEN it gets the 413 alone
    const big = await rawRequest(url, head('100-continue', 5000), { afterWrite: () => undefined });
    expect({ statuses: big.statuses, code: big.code }).toEqual({ statuses: [413], code: 'PAYLOAD_TOO_LARGE' });
    // AND a body within it is asked for, then answered
    const body = '{"instances":[[1]]}';
    const small = await rawRequest(url, head('100-continue', body.length), {
      afterWrite: (socket) => socket.once('data', () => socket.end(body)),
    });
    expect(small.statuses).toEqual([100, 200]);
    // AND an expectation it does not know is a JSON 417
    const other = await rawRequest(url, `${head('foo', body.length)}${body}`);
    expect({ status: other.status, code: other.code }).toEqual({ status: 417, code: 'EXPECTATION_FAILED' });
    expect(seen).toHaveLength(1);
  });

  it('answers a request with more headers than it keeps with a JSON 431, not a missing key', async () => {
    const filler = Array.from({ length: 2100 }, (_v, i) => `x-h${i}: v\r\n`).join('');
    const answer = await rawRequest(url, `GET /predictions HTTP/1.1\r\nHost: x\r\n${filler}x-api-key: ${API_KEY}\r\n\r\n`);
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 431, code: 'HEADERS_TOO_LARGE' });
  });

  it('lets a client go mid-body without an error line', async () => {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return write(chunk);
    });
    try {
      // GIVEN a request that declares 900 bytes WHEN the client sends 10 and goes away THEN nothing is logged as a gateway error
      await rawRequest(url, `POST /predict HTTP/1.1\r\nHost: x\r\nx-api-key: ${API_KEY}\r\nContent-Length: 900\r\n\r\n0123456789`, {
        afterWrite: (socket) => setTimeout(() => socket.destroy(), 50),
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(lines.filter((l) => l.includes('gateway:'))).toEqual([]);
      // AND it still serves
      expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      spy.mockRestore();
    }
  });

  it('answers API Gateway errors with the contract shape', async () => {
    const cases: [string, RequestInit, number, string][] = [
      ['/predict', { method: 'POST', body: '{}' }, 403, 'FORBIDDEN'],
      ['/predict', { method: 'POST', headers: { 'x-api-key': 'wrong-key-0123456789abc' }, body: '{}' }, 403, 'FORBIDDEN'],
      ['/nope', {}, 404, 'ROUTE_NOT_FOUND'],
      ['/predict', { method: 'GET' }, 405, 'METHOD_NOT_ALLOWED'],
      ['/predictions', { method: 'DELETE' }, 405, 'METHOD_NOT_ALLOWED'],
      ['/predict', { method: 'POST', headers: { 'x-api-key': API_KEY }, body: 'x'.repeat(2048) }, 413, 'PAYLOAD_TOO_LARGE'],
      ['/health?boom=1', {}, 500, 'INTERNAL'],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await fetch(url + path, init);
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(res.headers.get('content-type')).toBe('application/json');
      const body = await res.json();
      expect(body.error.code).toBe(code);
      expect(typeof body.error.message).toBe('string');
    }
    expect(seen.filter((e) => e.resource === '/predict')).toHaveLength(0);
  });

  it('rejects a body that grows past the limit without a content-length', async () => {
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(512).fill(65));
        c.close();
      },
    });
    const res = await fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('sends the dashboard through its routes to the meta function, like API Gateway; other paths are no route', async () => {
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ resource: '/', path: '/', pathParameters: null });
    await page.arrayBuffer();
    // An encoded traversal stays one path parameter: the meta function decides (and refuses it).
    const file = await fetch(`${url}/dashboard/..%2F..%2Fetc%2Fpasswd`);
    expect(file.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ resource: '/dashboard/{file}', pathParameters: { file: '../../etc/passwd' } });
    await file.arrayBuffer();
    for (const path of ['/..%2F..%2Fetc%2Fpasswd', '/dashboard/a/b', '/index.html']) {
      const res = await fetch(url + path);
      expect({ path, status: res.status, code: (await res.json()).error.code }).toEqual({ path, status: 404, code: 'ROUTE_NOT_FOUND' });
    }
  });
});
