/**
 * The attacks of the hardening review as cases with their expected answers: image bombs and pixel
 * budgets, bodies too large for the server (sent at once and streamed), unbounded parsing (CSV rows,
 * JSON nesting), parser-level errors, and the input forms that must be accepted (CSV header, data:
 * URLs, pixel grids). `runAttacks` sends each to a running local system and judges the answer.
 */
import { gzipSync } from 'node:zlib';
import { errorMessage } from '../../contract/errors';
import { API_KEY_HEADER } from '../../contract/routes';
import { doubleIhdrPng, largePng, pngBomb } from '../../test/support/image-attacks';
import { rawRequest } from '../../test/support/raw-http';

export type ModelKind = 'image' | 'tabular';

export interface AttackCase {
  readonly name: string;
  /** The model kind the case is for. */
  readonly model: ModelKind;
  readonly expect: { status: number; code?: string };
  /** Times the case is sent (some failures only show on some tries). */
  readonly tries?: number;
  /** Sends the request and returns the status and the error code (if any). */
  send(url: string, apiKey: string): Promise<{ status: number; code?: string }>;
}

async function post(
  url: string,
  apiKey: string,
  body: BodyInit,
  type = 'application/json',
  headers: Record<string, string> = {},
): Promise<{ status: number; code?: string }> {
  try {
    const res = await fetch(`${url}/predict`, {
      method: 'POST',
      headers: { [API_KEY_HEADER]: apiKey, 'content-type': type, ...headers },
      body,
      duplex: 'half',
    } as RequestInit);
    const text = await res.text();
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
    } catch {
      code = `non-JSON body: ${text.slice(0, 40)}`;
    }
    return { status: res.status, code };
  } catch (e) {
    // A client that never read an answer (EPIPE, ECONNRESET) is a failed case, not a crash of the run.
    return { status: 0, code: `network error ${(e as { cause?: { code?: string } }).cause?.code ?? errorMessage(e)}` };
  }
}

const json = (v: unknown) => JSON.stringify(v);

/** 30 MB in 1 MB chunks with pauses: the client is still sending long after the server answered. */
function streamed(mb: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1024 * 1024).fill(0x61);
  let sent = 0;
  return new ReadableStream({
    async pull(c) {
      if (sent++ >= mb) return c.close();
      await new Promise((r) => setTimeout(r, 5));
      c.enqueue(chunk);
    },
  });
}

/** Raw bytes over TCP: the status and code of whatever the server answers. */
async function raw(url: string, bytes: string | Buffer): Promise<{ status: number; code?: string }> {
  const { status, code } = await rawRequest(url, bytes);
  return { status, code };
}

/** `body` gzip-compressed `layers` times over, as one request's Content-Encoding would list them. */
function gzipLayers(body: string, layers: number): Buffer {
  let out = Buffer.from(body);
  for (let i = 0; i < layers; i++) out = gzipSync(out);
  return out;
}

const grid8 = Array.from({ length: 8 }, () => Array(8).fill(0));

export function attackCases(tabularFeatures: readonly string[] = []): AttackCase[] {
  const tabularRow = tabularFeatures.map(() => '1');
  return [
    {
      name: 'PNG bomb: interlaced 8x8, IDAT inflates to 1 GiB',
      model: 'image',
      expect: { status: 400, code: 'INVALID_IMAGE' },
      send: (u, k) => post(u, k, json({ instances: [{ b64: pngBomb().toString('base64') }] })),
    },
    {
      name: 'PNG with a second IHDR of 16384x16384',
      model: 'image',
      expect: { status: 400, code: 'INVALID_IMAGE' },
      send: (u, k) => post(u, k, json({ instances: [{ b64: doubleIhdrPng().toString('base64') }] })),
    },
    {
      name: '40 legal 4096x4096 PNGs in one request',
      model: 'image',
      expect: { status: 400, code: 'IMAGE_TOO_LARGE' },
      send: (u, k) => post(u, k, json({ instances: Array(40).fill(largePng(4096, true).toString('base64')) })),
    },
    {
      name: '4 legal 1024x1024 PNGs (within the pixel budget)',
      model: 'image',
      expect: { status: 200 },
      send: (u, k) => post(u, k, json({ instances: Array(4).fill(largePng(1024).toString('base64')) })),
    },
    {
      name: 'pixel array [64][1] for an 8x8 model',
      model: 'image',
      expect: { status: 400, code: 'WRONG_FEATURE_COUNT' },
      send: (u, k) => post(u, k, json({ instances: [Array.from({ length: 64 }, () => [0])] })),
    },
    {
      name: 'pixel arrays [8][8] and [8][8][1]',
      model: 'image',
      expect: { status: 200 },
      send: (u, k) => post(u, k, json({ instances: [grid8, grid8.map((r) => r.map((v) => [v]))] })),
    },
    {
      name: 'data:image/png;base64 URL',
      model: 'image',
      expect: { status: 200 },
      send: (u, k) => post(u, k, json({ instances: [`data:image/png;base64,${largePng(64).toString('base64')}`] })),
    },
    {
      name: 'top-level {"s3Key": …}',
      model: 'image',
      expect: { status: 400, code: 'INVALID_BODY' },
      send: (u, k) => post(u, k, json({ s3Key: 'datasets/x.json' })),
    },
    {
      name: '2.5 million JSON nesting levels',
      model: 'image',
      expect: { status: 400, code: 'INVALID_JSON' },
      send: (u, k) => post(u, k, `{"instances":${'['.repeat(2_500_000)}1${']'.repeat(2_500_000)}}`),
    },
    {
      name: '30 MB body, sent at once (Node fetch)',
      model: 'image',
      tries: 6,
      expect: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
      send: (u, k) => post(u, k, new Uint8Array(30 * 1024 * 1024).fill(0x61)),
    },
    {
      name: '30 MB body, streamed (Node fetch)',
      model: 'image',
      tries: 6,
      expect: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
      send: (u, k) => post(u, k, streamed(30)),
    },
    {
      name: '20 KB of headers',
      model: 'image',
      expect: { status: 431, code: 'HEADERS_TOO_LARGE' },
      send: (u) => raw(u, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    },
    {
      name: 'a request line that is not HTTP',
      model: 'image',
      expect: { status: 400, code: 'MALFORMED_REQUEST' },
      send: (u) => raw(u, 'NOT HTTP AT ALL\r\n\r\n'),
    },
    {
      name: '1,000 stacked Content-Encoding: gzip layers',
      model: 'image',
      expect: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      send: (u, k) =>
        post(u, k, new Uint8Array(gzipLayers(json({ instances: [grid8] }), 1000)), 'application/json', {
          'content-encoding': Array(1000).fill('gzip').join(', '),
        }),
    },
    {
      name: 'Transfer-Encoding: gzip, chunked',
      model: 'image',
      expect: { status: 501, code: 'UNSUPPORTED_TRANSFER_ENCODING' },
      send: (u, k) => {
        const body = gzipSync(json({ instances: [grid8] }));
        return raw(
          u,
          Buffer.concat([
            Buffer.from(
              `POST /predict HTTP/1.1\r\nHost: x\r\n${API_KEY_HEADER}: ${k}\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${body.length.toString(16)}\r\n`,
            ),
            body,
            Buffer.from('\r\n0\r\n\r\n'),
          ]),
        );
      },
    },
    {
      name: 'Expect: 100-continue with a 30 MB Content-Length',
      model: 'image',
      expect: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
      send: async (u, k) => {
        const a = await rawRequest(
          u,
          `POST /predict HTTP/1.1\r\nHost: x\r\n${API_KEY_HEADER}: ${k}\r\nContent-Type: application/json\r\nContent-Length: ${30 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`,
          { afterWrite: () => undefined },
        );
        // A 100 Continue before the refusal would invite the 30 MB: it counts as a wrong answer.
        return a.statuses.includes(100) ? { status: 100, code: 'sent 100 Continue first' } : { status: a.status, code: a.code };
      },
    },
    {
      name: 'Expect: foo',
      model: 'image',
      expect: { status: 417, code: 'EXPECTATION_FAILED' },
      send: (u, k) => raw(u, `GET /predictions HTTP/1.1\r\nHost: x\r\n${API_KEY_HEADER}: ${k}\r\nExpect: foo\r\n\r\n`),
    },
    {
      name: '2,100 headers',
      model: 'image',
      expect: { status: 431, code: 'HEADERS_TOO_LARGE' },
      send: (u, k) =>
        raw(
          u,
          `GET /predictions HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2100 }, (_v, i) => `x-h${i}: v\r\n`).join('')}${API_KEY_HEADER}: ${k}\r\n\r\n`,
        ),
    },
    {
      name: 'CSV of 100,000 rows',
      model: 'tabular',
      expect: { status: 400, code: 'TOO_MANY_INSTANCES' },
      send: (u, k) => post(u, k, `${tabularRow.join(',')}\n`.repeat(100_000).slice(0, 5_000_000), 'text/csv'),
    },
    {
      name: 'one 5.9 MB CSV row',
      model: 'tabular',
      tries: 16,
      expect: { status: 400, code: 'INVALID_CSV' },
      send: (u, k) => post(u, k, `${'1,'.repeat(2_950_000)}1\n`, 'text/csv'),
    },
    {
      name: 'CSV with a header row (columns reversed)',
      model: 'tabular',
      expect: { status: 200 },
      send: (u, k) =>
        post(
          u,
          k,
          `${[...tabularFeatures]
            .reverse()
            .map((f) => `"${f}"`)
            .join(',')}\n${tabularRow.join(',')}\n`,
          'text/csv',
        ),
    },
    {
      name: 'CSV with an unclosed quote',
      model: 'tabular',
      expect: { status: 400, code: 'INVALID_CSV' },
      send: (u, k) => post(u, k, `"${tabularRow.join(',')}\n`, 'text/csv'),
    },
  ];
}

export interface AttackVerdict {
  readonly name: string;
  readonly expected: string;
  /** Each try's answer. */
  readonly got: string[];
  readonly ok: boolean;
  readonly ms: number;
  readonly status5xx: number;
}

const show = (a: { status: number; code?: string }) => (a.code ? `${a.status} ${a.code}` : String(a.status));

/** Sends each case (sequentially, `tries` times) and compares with its expected answer. */
export async function runAttacks(url: string, apiKey: string, cases: AttackCase[]): Promise<AttackVerdict[]> {
  const out: AttackVerdict[] = [];
  for (const c of cases) {
    const started = Date.now();
    const got: string[] = [];
    let status5xx = 0;
    for (let i = 0; i < (c.tries ?? 1); i++) {
      const a = await c.send(url, apiKey);
      // A 5xx is a failure unless it is the answer the case expects (501 for a transfer coding).
      if (a.status >= 500 && a.status !== c.expect.status) status5xx++;
      got.push(c.expect.code ? show(a) : String(a.status));
    }
    const expected = show(c.expect);
    out.push({ name: c.name, expected, got, ok: got.every((g) => g === expected), ms: Date.now() - started, status5xx });
  }
  return out;
}
