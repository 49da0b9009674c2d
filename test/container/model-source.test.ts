/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * The model loaded from S3 (s3rver): a `model.tar.gz` package and an uncompressed prefix, selected by
 * MODEL_S3_URI exactly as on Fargate, downloaded once and served from the local cache; the cluster
 * answers /ping 503 until the download is done.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as tar from 'tar';
import { readLogLines } from '../../container/src/log';
import { downloadModel, parseS3Uri, resolveModelDir } from '../../container/src/model-source';
import { startServer } from '../../container/src/server';
import { modelPackageKey } from '../../contract/bucket';
import { ENV } from '../../contract/env';
import { type EmbeddedS3, startS3 } from '../../local/s3';
import { BREAST_CANCER, closeAgent, parity, postJson } from './helpers';

const BUCKET = 'mlship-test-models';
const MAIN = path.join(__dirname, '../../container/src/main.ts');
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

let s3: EmbeddedS3;
let client: S3Client;
let scratch: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'mlship-source-'));
  s3 = await startS3({ dir: path.join(scratch, 's3'), bucket: BUCKET });
  Object.assign(process.env, CREDENTIALS);
  client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  // The package as the CDK app ships it: model.json and the ONNX file at the archive's root.
  const tgz = path.join(scratch, 'model.tar.gz');
  await tar.c({ gzip: true, file: tgz, cwd: BREAST_CANCER }, ['model.json', 'model.onnx']);
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: modelPackageKey('breast-cancer', '1.0.0'), Body: readFileSync(tgz) }));
  for (const f of ['model.json', 'model.onnx']) {
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `models/breast-cancer/1.0.0/files/${f}`,
        Body: readFileSync(path.join(BREAST_CANCER, f)),
      }),
    );
  }
});

afterAll(async () => {
  process.env = savedEnv;
  client.destroy();
  await s3.close();
  rmSync(scratch, { recursive: true, force: true });
  closeAgent();
});

test('the server starts from MODEL_S3_URI pointing at model.tar.gz and answers like the local model', async () => {
  // GIVEN the Fargate environment
  process.env[ENV.MODEL_S3_URI] = `s3://${BUCKET}/${modelPackageKey('breast-cancer', '1.0.0')}`;
  process.env[ENV.S3_URL] = s3.url;
  delete process.env[ENV.MODEL_DIR];
  const dir = await resolveModelDir({ cacheDir: path.join(scratch, 'cache') });
  // WHEN the server starts from that directory
  const server = await startServer({ modelDir: dir });
  try {
    // THEN it serves the model's predictions
    const par = parity(BREAST_CANCER);
    const reply = await postJson(server.url, { instances: par.rows.slice(0, 5).map((r) => r.input) });
    expect(reply.status).toBe(200);
    expect(reply.json().predictions.map((p: { label: string }) => p.label)).toEqual(par.rows.slice(0, 5).map((r) => r.label));
  } finally {
    await server.close();
  }
});

test('an uncompressed prefix is downloaded file by file, and a second resolve reuses the cache', async () => {
  const cacheDir = path.join(scratch, 'cache-prefix');
  const uri = `s3://${BUCKET}/models/breast-cancer/1.0.0/files`;
  const dir = await downloadModel(uri, { s3Url: s3.url, cacheDir });
  expect(readdirSync(dir).sort()).toEqual(['model.json', 'model.onnx']);
  expect(readFileSync(path.join(dir, 'model.onnx')).equals(readFileSync(path.join(BREAST_CANCER, 'model.onnx')))).toBe(true);
  // No scratch directories are left behind, and the cached copy is used without S3.
  expect(readdirSync(cacheDir)).toHaveLength(1);
  expect(await downloadModel(uri, { s3Url: 'http://127.0.0.1:9', cacheDir })).toBe(dir);
});

test('a missing package or a malformed URI fails with a message that names it', async () => {
  await expect(
    downloadModel(`s3://${BUCKET}/models/none/1/model.tar.gz`, { s3Url: s3.url, cacheDir: path.join(scratch, 'c3') }),
  ).rejects.toThrow();
  await expect(downloadModel(`s3://${BUCKET}/models/none/1`, { s3Url: s3.url, cacheDir: path.join(scratch, 'c3') })).rejects.toThrow(
    /No objects under/,
  );
  expect(() => parseS3Uri('https://example.com/model.tar.gz')).toThrow(/MODEL_S3_URI must look like/);
  expect(readdirSync(path.join(scratch, 'c3'))).toEqual([]);
});

test('MODEL_DIR and --model win over MODEL_S3_URI, and nothing at all is a clear error', async () => {
  expect(await resolveModelDir({ modelDir: '/a', env: { [ENV.MODEL_DIR]: '/b', [ENV.MODEL_S3_URI]: 's3://x/y' } })).toBe('/a');
  expect(await resolveModelDir({ env: { [ENV.MODEL_DIR]: '/b', [ENV.MODEL_S3_URI]: 's3://x/y' } })).toBe('/b');
  await expect(resolveModelDir({ env: {} })).rejects.toThrow(/No model to serve/);
});

test('the cluster answers /ping 503 while the model downloads from S3, then 200 and predictions', async () => {
  // GIVEN S3 behind a gate that holds every request until released: a slow download
  let release!: () => void;
  const opened = new Promise<void>((r) => (release = r));
  const gate = http.createServer((req, res) => {
    void opened.then(() => {
      const upstream = http.request(`${s3.url}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
  });
  await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
  const gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;

  // WHEN the server starts as on Fargate: the CLI, a cluster of 2 workers, MODEL_S3_URI, an empty cache
  const tmp = mkdtempSync(path.join(scratch, 'tmp-'));
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0', '--workers', '2', '--host', '127.0.0.1'], {
    env: {
      ...process.env,
      ...CREDENTIALS,
      TMPDIR: tmp,
      [ENV.MODEL_S3_URI]: `s3://${BUCKET}/${modelPackageKey('breast-cancer', '1.0.0')}`,
      [ENV.S3_URL]: gateUrl,
      [ENV.MODEL_DIR]: '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  try {
    const lines = logLines(child.stdout);
    const listening = await lines.waitFor('listening');
    const url = `http://127.0.0.1:${listening.port}`;

    // THEN while the download is held, /ping says 503 MODEL_LOADING and invocations are refused the same way
    const ping = await getJson(`${url}/ping`);
    expect(ping.status).toBe(503);
    expect(ping.json().error.code).toBe('MODEL_LOADING');
    expect((await postJson(url, { instances: [parity(BREAST_CANCER).rows[0].input] })).status).toBe(503);

    // AND once the download completes, every worker loads the model and serves it
    release();
    await lines.waitFor('ready');
    expect((await getJson(`${url}/ping`)).status).toBe(200);
    const row = parity(BREAST_CANCER).rows[0];
    const reply = await postJson(url, { instances: [row.input] });
    expect(reply.status).toBe(200);
    expect(reply.json().predictions[0].label).toBe(row.label);
  } finally {
    release();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000).unref())]);
    if (code === 'still running') child.kill('SIGKILL');
    gate.closeAllConnections();
    await new Promise((r) => gate.close(r));
    expect(code).toBe(0);
  }
}, 60_000);

/** The server's JSON log lines, awaited by message. */
function logLines(stream: NodeJS.ReadableStream) {
  const seen: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (rec: Record<string, unknown> & { port?: number }) => void }[] = [];
  readLogLines(stream, (rec) => {
    seen.push(rec);
    for (const w of waiters.filter((x) => x.msg === rec.msg)) w.resolve(rec);
  });
  return {
    waitFor: (msg: string) =>
      new Promise<Record<string, unknown> & { port?: number }>((resolve, reject) => {
        const done = seen.find((r) => r.msg === msg);
        if (done) return resolve(done);
        waiters.push({ msg, resolve });
        setTimeout(() => reject(new Error(`no "${msg}" log line within 30 s; saw ${JSON.stringify(seen)}`)), 30_000).unref();
      }),
  };
}

function getJson(url: string): Promise<{ status: number; json: () => { error: { code: string } } }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(text) }));
      })
      .on('error', reject);
  });
}

test('a model the cluster cannot fetch stops every process with exit code 1 and says why', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0', '--workers', '2', '--host', '127.0.0.1'], {
    env: {
      ...process.env,
      ...CREDENTIALS,
      TMPDIR: mkdtempSync(path.join(scratch, 'tmp-')),
      [ENV.MODEL_S3_URI]: `s3://${BUCKET}/models/none/9/model.tar.gz`,
      [ENV.S3_URL]: s3.url,
      [ENV.MODEL_DIR]: '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const failure = logLines(child.stdout).waitFor('the model could not be fetched');
  expect(await exited).toBe(1);
  expect(String((await failure).error)).toMatch(/models\/none\/9\/model\.tar\.gz|NoSuchKey|does not exist/i);
}, 60_000);
