/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Hostile images against the model server as deployed (the cluster, one worker process): a PNG whose
 * data inflates to 1 GiB, a PNG with a second IHDR for 16384x16384, and legal images beyond the
 * request's pixel budget. Each is a 400 JSON error with a stable code, and the worker's peak memory
 * (VmHWM, read from /proc) stays bounded. Decoding runs off the event loop and stops when abandoned.
 */
import { readFileSync } from 'node:fs';
import { ImageDecoder } from '../../container/src/image-decoder';
import { type RunningServer, startServer } from '../../container/src/server';
import { ApiError } from '../../contract/errors';
import type { ImageInput } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { defined } from '../support/defined';
import { doubleIhdrPng, largePng, pngBomb } from '../support/image-attacks';
import { closeAgent, DIGITS, parity, postJson, request } from './helpers';

const MB = 1024 * 1024;
const par = parity(DIGITS);
let server: RunningServer;

/** Peak resident memory of a process, in bytes. */
function peakRss(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

function workerPid(primary: number): number {
  const children = readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).map(Number);
  expect(children).toHaveLength(1);
  return children[0];
}

beforeAll(async () => {
  server = await startServer({ modelDir: DIGITS, workers: 1 });
});
afterAll(async () => {
  await server.close();
  closeAgent();
});

describe('image attacks on the model server cluster', () => {
  test('decompression bombs are 400s and the worker memory stays bounded', async () => {
    // GIVEN a worker that has served a real image request (its baseline peak)
    const worker = workerPid(defined(server.pid, 'the server pid'));
    expect((await postJson(server.url, { instances: [largePng(1024).toString('base64')] })).status).toBe(200);
    const before = peakRss(worker);

    // WHEN an interlaced 8x8 PNG whose IDAT inflates to 1 GiB arrives (1 MB file)
    const bomb = await postJson(server.url, { instances: [{ b64: pngBomb().toString('base64') }] });
    // THEN it is refused as an invalid image, naming the instance
    expect(bomb.status).toBe(400);
    expect(bomb.json().error).toMatchObject({ code: 'INVALID_IMAGE', field: 'instances[0]' });
    expect(bomb.json().error.message).toMatch(/inflates to more than/);

    // WHEN an 8x8 IHDR is followed by a 16384x16384 IHDR with data for the large one
    const twice = await postJson(server.url, { instances: [{ b64: doubleIhdrPng().toString('base64') }] });
    expect(twice.status).toBe(400);
    expect(twice.json().error).toMatchObject({ code: 'INVALID_IMAGE', field: 'instances[0]' });
    expect(twice.json().error.message).toMatch(/second IHDR/);

    // WHEN legal images beyond the per-request pixel budget arrive
    const big = largePng(1024).toString('base64');
    const many = await postJson(server.url, { instances: Array.from({ length: 40 }, () => big) });
    expect(many.json().error).toMatchObject({ code: 'IMAGE_TOO_LARGE', field: 'instances[4]' });

    // THEN the worker's peak memory grew by far less than any of the claimed images
    expect(peakRss(worker) - before).toBeLessThan(64 * MB);
    // AND it still serves
    expect((await postJson(server.url, { instances: [par.rows[0].input] })).status).toBe(200);
    expect((await request(server.url, 'GET', '/ping')).status).toBe(200);
  });
});

describe('ImageDecoder', () => {
  const input = readManifestFile(`${DIGITS}/model.json`).input as ImageInput;
  const big = largePng(1024).toString('base64');
  const images = [0, 1, 2, 3].map((i) => ({ b64: big, field: `instances[${i}]` }));

  test('decodes on another thread: this event loop keeps turning while it works', async () => {
    const decoder = new ImageDecoder(input);
    let turns = 0;
    const spin = setInterval(() => turns++, 1);
    try {
      const rows = await decoder.decode(images);
      expect(rows).toHaveLength(4);
      expect(rows[0]).toHaveLength(64);
      // A decode on this thread would have run to the end before any timer fired.
      expect(turns).toBeGreaterThan(0);
    } finally {
      clearInterval(spin);
      await decoder.close();
    }
  });

  test('an abandoned decode stops its thread, rejects with the reason, and the next decode gets a fresh thread', async () => {
    const decoder = new ImageDecoder(input);
    try {
      const abandon = new AbortController();
      const pending = decoder.decode(images, abandon.signal);
      // Once the job is on the thread (it is posted a microtask after decode() is called)
      setImmediate(() => abandon.abort(new ApiError('BACKEND_TIMEOUT', 'deadline passed')));
      await expect(pending).rejects.toMatchObject({ code: 'BACKEND_TIMEOUT' });
      expect(await decoder.decode(images.slice(0, 1))).toHaveLength(1);
      expect(decoder.started).toBe(2);
    } finally {
      await decoder.close();
    }
  });
});
