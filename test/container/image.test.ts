/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Encoded images: a PNG or JPEG of a digit, made from its 0..16 pixels, classifies like the pixel
 * array itself; anything that is not a decodable image is INVALID_IMAGE.
 */
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { RunningServer, startServer } from '../../container/src/server';
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
      expect(maxProbabilityDiff(asImages[i].probabilities, par.labels.map((l) => asArrays[i].probabilities[l]), par.labels)).toBeLessThan(0.05);
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
  ['a PNG claiming a huge canvas', { b64: hugePngHeader() }, 'instances[0]'],
  ['a number', 7, 'instances[0]'],
])('%s is INVALID_IMAGE', async (_name, instance, field) => {
  const reply = await postJson(server.url, { instances: [instance] });
  expect(reply.status).toBe(400);
  expect(reply.json().error).toMatchObject({ code: 'INVALID_IMAGE', field });
  expect((await postJson(server.url, { instances: [par.rows[0].input] })).status).toBe(200);
});

test('a pixel array of the wrong size is WRONG_FEATURE_COUNT', async () => {
  const reply = await postJson(server.url, { instances: [par.rows[0].input.slice(1)] });
  expect(reply.json().error).toMatchObject({ code: 'WRONG_FEATURE_COUNT', field: 'instances[0]' });
});

/** A valid PNG signature and IHDR for 100000x100000 pixels, and nothing else. */
function hugePngHeader(): string {
  const b = Buffer.from(png(par.rows[0].input, 1), 'base64');
  b.writeUInt32BE(100_000, 16);
  b.writeUInt32BE(100_000, 20);
  return b.toString('base64');
}
