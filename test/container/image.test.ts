/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Encoded images: a PNG or JPEG of a digit, made from its 0..16 pixels, classifies like the pixel
 * array itself; anything that is not a decodable image is INVALID_IMAGE.
 */
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { type RunningServer, startServer } from '../../container/src/server';
import { DEADLINE_ATTRIBUTE, DEADLINE_HEADER } from '../../contract/prediction';
import { largePng } from '../support/image-attacks';
import { closeAgent, DIGITS, maxProbabilityDiff, parity, postJson } from './helpers';

const par = parity(DIGITS);
let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ modelDir: DIGITS });
});
afterAll(async () => {
  await server.close();
  closeAgent();
});

/** An 8x8 digit scaled up `zoom` times, as 0..255 RGBA (white ink on black, like the data set). */
function rgba(pixels: number[], zoom: number): { width: number; height: number; data: Buffer } {
  const side = 8 * zoom;
  const data = Buffer.alloc(side * side * 4);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const v = Math.round((pixels[Math.floor(y / zoom) * 8 + Math.floor(x / zoom)] * 255) / 16);
      data.set([v, v, v, 255], (y * side + x) * 4);
    }
  }
  return { width: side, height: side, data };
}

function png(pixels: number[], zoom: number): string {
  const img = new PNG({ width: 8 * zoom, height: 8 * zoom });
  rgba(pixels, zoom).data.copy(img.data);
  return PNG.sync.write(img).toString('base64');
}

test('a PNG of each digit classifies the same as its pixel array, at the same size and enlarged', async () => {
  const rows = par.rows.slice(0, 20);
  const asArrays = (await postJson(server.url, { instances: rows.map((r) => r.input) })).json().predictions;
  for (const zoom of [1, 4]) {
    const reply = await postJson(server.url, { instances: rows.map((r) => ({ b64: png(r.input, zoom) })) });
    expect(reply.status).toBe(200);
    const asImages = reply.json().predictions;
    rows.forEach((_r, i) => {
      expect(asImages[i].label).toBe(asArrays[i].label);
      // PNG pixels are whole numbers in 0..255: each pixel is off by at most 16/255/2 in model space.
      expect(
        maxProbabilityDiff(
          asImages[i].probabilities,
          par.labels.map((l) => asArrays[i].probabilities[l]),
          par.labels,
        ),
      ).toBeLessThan(0.05);
    });
  }
});

test('a JPEG and a bare base64 string are accepted too', async () => {
  const r = par.rows[3];
  const jpg = jpeg.encode(rgba(r.input, 8), 95).data.toString('base64');
  const reply = await postJson(server.url, { instances: [jpg, { b64: png(r.input, 2) }, r.input] });
  expect(reply.status).toBe(200);
  const labels = reply.json().predictions.map((p: { label: string }) => p.label);
  expect(labels).toEqual([r.label, r.label, r.label]);
});

test.each([
  ['not base64', { b64: 'not base64!' }, 'instances[0].b64'],
  ['base64 of text', { b64: Buffer.from('hello world!').toString('base64') }, 'instances[0]'],
  ['a truncated PNG', { b64: Buffer.from(png(par.rows[0].input, 1), 'base64').subarray(0, 40).toString('base64') }, 'instances[0]'],
  ['a number', 7, 'instances[0]'],
  ['a data: URL of another type', 'data:image/gif;base64,R0lGODlhAQABAAAAACw=', 'instances[0]'],
])('%s is INVALID_IMAGE', async (_name, instance, field) => {
  const reply = await postJson(server.url, { instances: [instance] });
  expect(reply.status).toBe(400);
  expect(reply.json().error).toMatchObject({ code: 'INVALID_IMAGE', field });
  expect((await postJson(server.url, { instances: [par.rows[0].input] })).status).toBe(200);
});

test('a PNG claiming a huge canvas is IMAGE_TOO_LARGE, before anything is decoded', async () => {
  const reply = await postJson(server.url, { instances: [{ b64: hugePngHeader() }] });
  expect(reply.status).toBe(400);
  expect(reply.json().error).toMatchObject({ code: 'IMAGE_TOO_LARGE', field: 'instances[0]' });
});

test('data: URLs of PNG and JPEG images are accepted, as browsers produce them', async () => {
  const r = par.rows[5];
  const jpg = jpeg.encode(rgba(r.input, 8), 95).data.toString('base64');
  const reply = await postJson(server.url, {
    instances: [`data:image/png;base64,${png(r.input, 2)}`, { b64: `data:image/jpeg;base64,${jpg}` }],
  });
  expect(reply.status).toBe(200);
  expect(reply.json().predictions.map((p: { label: string }) => p.label)).toEqual([r.label, r.label]);
});

test('a JPEG claiming a huge frame is IMAGE_TOO_LARGE, and one with two frame headers is INVALID_IMAGE', async () => {
  const jpg = jpeg.encode(rgba(par.rows[0].input, 8), 95).data;
  const sof = jpg.findIndex((b, i) => b === 0xff && jpg[i + 1] === 0xc0);
  const huge = Buffer.from(jpg);
  huge.writeUInt16BE(60_000, sof + 5);
  huge.writeUInt16BE(60_000, sof + 7);
  expect((await postJson(server.url, { instances: [huge.toString('base64')] })).json().error).toMatchObject({
    code: 'IMAGE_TOO_LARGE',
    field: 'instances[0]',
  });
  // The frame header segment repeated right after itself
  const length = jpg.readUInt16BE(sof + 2);
  const twice = Buffer.concat([jpg.subarray(0, sof + 2 + length), jpg.subarray(sof, sof + 2 + length), jpg.subarray(sof + 2 + length)]);
  const reply = await postJson(server.url, { instances: [twice.toString('base64')] });
  expect(reply.json().error).toMatchObject({ code: 'INVALID_IMAGE', field: 'instances[0]' });
  expect(reply.json().error.message).toMatch(/second frame header/);
});

describe('pixel arrays', () => {
  const flat = par.rows[0].input;
  const grid = Array.from({ length: 8 }, (_, y) => flat.slice(y * 8, y * 8 + 8));

  test('flat, [8][8] and [8][8][1] give the same prediction', async () => {
    const reply = await postJson(server.url, { instances: [flat, grid, grid.map((row) => row.map((v) => [v]))] });
    expect(reply.status).toBe(200);
    const [a, b, c] = reply.json().predictions;
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  test.each([
    ['[64][1]', flat.map((v) => [v]), 'instances[0]', /got \[64\]\[1\]/],
    ['[4][16]', Array.from({ length: 4 }, (_, y) => flat.slice(y * 16, y * 16 + 16)), 'instances[0]', /got \[4\]\[16\]/],
    ['63 values', flat.slice(1), 'instances[0]', /flat array of 64, \[8\]\[8\]\[1\], \[8\]\[8\]; got \[63\]/],
    ['a ragged [8][8]', [...grid.slice(0, 7), grid[7].slice(1)], 'instances[0][7]', /rows must all be the same length/],
  ])('%s is WRONG_FEATURE_COUNT naming the shape', async (_name, instance, field, message) => {
    const reply = await postJson(server.url, { instances: [instance] });
    expect(reply.status).toBe(400);
    expect(reply.json().error).toMatchObject({ code: 'WRONG_FEATURE_COUNT', field });
    expect(reply.json().error.message).toMatch(message);
  });
});

describe('per-request pixel budget (from the model input size)', () => {
  test('four legal 1024x1024 images fit; a fifth is IMAGE_TOO_LARGE naming the image that broke the budget', async () => {
    const big = largePng(1024).toString('base64');
    expect((await postJson(server.url, { instances: [big, big, big, big] })).status).toBe(200);
    const reply = await postJson(server.url, { instances: [big, big, big, big, big] });
    expect(reply.status).toBe(400);
    expect(reply.json().error).toMatchObject({ code: 'IMAGE_TOO_LARGE', field: 'instances[4]' });
  });

  test('one image above the per-image budget (1024x1024 for an 8x8 model) is IMAGE_TOO_LARGE', async () => {
    const reply = await postJson(server.url, { instances: [largePng(1100).toString('base64')] });
    expect(reply.json().error).toMatchObject({ code: 'IMAGE_TOO_LARGE', field: 'instances[0]' });
  });
});

test('work past the caller deadline is abandoned with 504, and the next request is served', async () => {
  const big = largePng(1024).toString('base64');
  const late = await postJson(server.url, { instances: [big, big, big, big] }, { [DEADLINE_HEADER]: '1' });
  expect(late.status).toBe(504);
  expect(late.json().error.code).toBe('BACKEND_TIMEOUT');
  const viaSageMaker = await postJson(
    server.url,
    { instances: [big, big, big, big] },
    { 'x-amzn-sagemaker-custom-attributes': `trace=1;${DEADLINE_ATTRIBUTE}=1` },
  );
  expect(viaSageMaker.status).toBe(504);
  expect((await postJson(server.url, { instances: [big] }, { [DEADLINE_HEADER]: '60000' })).status).toBe(200);
  expect((await postJson(server.url, { instances: [big] }, { [DEADLINE_HEADER]: 'soon' })).json().error.code).toBe('INVALID_HEADER');
});

/** A valid PNG signature and IHDR for 100000x100000 pixels, and nothing else. */
function hugePngHeader(): string {
  const b = Buffer.from(png(par.rows[0].input, 1), 'base64');
  b.writeUInt32BE(100_000, 16);
  b.writeUInt32BE(100_000, 20);
  return b.toString('base64');
}
