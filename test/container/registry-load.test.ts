/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * A registered version loaded while the server runs (container/src/model-registry.ts): the first request
 * naming it loads it from `models/<name>/<version>/` in the bucket (s3rver), checked as at start-up, and
 * it answers from then on beside the champion; a version that is not registered, that its evaluation
 * refused, or that cannot stand beside the champion is 404 UNKNOWN_MODEL_VERSION, and the champion keeps
 * answering. Past MAX_REGISTERED_VERSIONS, a newer version replaces the oldest. Lookups of versions
 * not seen are rate-limited (no S3 read beyond the budget), and the cluster fetches a version once for the
 * instance and warms every worker with it; S3 reads are counted by a proxy in front of s3rver.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { MAX_REGISTERED_VERSIONS } from '../../container/src/model-server';
import { type RunningServer, type StartServerOptions, startServer } from '../../container/src/server';
import { LOOKUP_BURST, LOOKUP_REFILL_MS } from '../../container/src/version-lookups';
import { modelPackageKey, REGISTRY_FILES, registryPrefix } from '../../contract/bucket';
import { MODEL_VERSION_REQUEST_HEADER } from '../../contract/versions';
import { type EmbeddedS3, startS3 } from '../../local/s3';
import { until } from '../support/poll';
import { type RegisterOptions, registerCopy } from '../support/registered-version';
import { BREAST_CANCER, closeAgent, parity, postJson } from './helpers';

const BUCKET = 'mlship-test-registry';
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

let s3: EmbeddedS3;
let client: S3Client;
let scratch: string;
let server: RunningServer;
const copies: string[] = [];
/** In front of s3rver: forwards every request unchanged (the signature covers its host) and counts the GETs per key. */
let counting: { url: string; gets: (key: string) => number; close(): Promise<void> };

async function countingProxy(target: string): Promise<typeof counting> {
  const gets = new Map<string, number>();
  const to = new URL(target);
  const proxy = http.createServer((req, res) => {
    const key = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
    if (req.method === 'GET') gets.set(key, (gets.get(key) ?? 0) + 1);
    const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    gets: (key) => gets.get(`/${BUCKET}/${key}`) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.closeAllConnections();
        proxy.close(() => resolve());
      }),
  };
}

/** The registry through the counting proxy. */
const countedRegistry = (): StartServerOptions['registry'] => ({
  uri: `s3://${BUCKET}/models/breast-cancer/`,
  s3Url: counting.url,
  region: 'us-east-1',
  credentials,
  cacheDir: path.join(scratch, `cache-${Date.now()}`),
});

/** Registers `version` as a training run does: the package, then evaluation.json with the verdict. */
async function register(version: string, opts: RegisterOptions = {}) {
  copies.push(await registerCopy(client, BUCKET, scratch, BREAST_CANCER, version, opts));
}

const row = parity(BREAST_CANCER).rows[0]?.input;
const ask = (version: string) => postJson(server.url, { instances: [row] }, { [MODEL_VERSION_REQUEST_HEADER]: version });

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'mlship-registry-'));
  s3 = await startS3({ dir: path.join(scratch, 's3'), bucket: BUCKET });
  client = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials });
  counting = await countingProxy(s3.url);
  server = await startServer({
    modelDir: BREAST_CANCER,
    registry: {
      uri: `s3://${BUCKET}/models/breast-cancer/`,
      s3Url: s3.url,
      region: 'us-east-1',
      credentials,
      cacheDir: path.join(scratch, 'cache'),
    },
  });
});

afterAll(async () => {
  await server?.close();
  closeAgent();
  client?.destroy();
  await counting?.close();
  await s3?.close();
  for (const d of [scratch, ...copies]) rmSync(d, { recursive: true, force: true });
});

describe('registered versions loaded while running', () => {
  it('loads a registered version on the first request naming it, and answers as it from then on', async () => {
    // GIVEN a server hosting 1.0.0 only, and 1.0.1 registered after it started
    await register('1.0.1');
    // WHEN requests name 1.0.1 at once
    const answers = await Promise.all([ask('1.0.1'), ask('1.0.1')]);
    // THEN each is answered by 1.0.1, loaded once
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.headers['x-mlship-model']).toBe('breast-cancer/1.0.1');
    }
    // AND the champion still answers requests naming no version, and /ping lists both
    const plain = await postJson(server.url, { instances: [row] });
    expect(plain.headers['x-mlship-model']).toBe('breast-cancer/1.0.0');
    const ping = (await (await fetch(`${server.url}/ping`)).json()) as { versions: string[] };
    expect(ping.versions).toEqual(['1.0.0', '1.0.1']);
  });

  it.each([
    ['not registered', '3.0.0', async () => undefined, /not registered/],
    ['refused by its evaluation', '3.0.1', () => register('3.0.1', { handOver: false }), /did not accept it/],
    [
      'unable to stand beside the champion',
      '3.0.2',
      () => register('3.0.2', { edit: (m) => Object.assign(m, { name: 'other-model' }) }),
      /cannot be served: .*its name is "other-model"/,
    ],
  ])('refuses a version %s: 404 UNKNOWN_MODEL_VERSION, the champion unharmed', async (_what, version, setUp, message) => {
    await setUp();
    const res = await ask(version);
    expect(res.status).toBe(404);
    const body = res.json();
    expect(body.error.code).toBe('UNKNOWN_MODEL_VERSION');
    expect(body.error.message).toMatch(message);
    expect((await ask('1.0.0')).status).toBe(200);
  });

  it(`hosts at most ${MAX_REGISTERED_VERSIONS} registered versions: a newer one replaces the oldest`, async () => {
    await register('1.0.2');
    await register('1.0.3');
    expect((await ask('1.0.2')).status).toBe(200);
    expect((await ask('1.0.3')).status).toBe(200);
    const ping = (await (await fetch(`${server.url}/ping`)).json()) as { versions: string[] };
    expect(ping.versions).toEqual(['1.0.0', '1.0.2', '1.0.3']);
    // The replaced one loads again when named (from the cache), replacing the oldest in turn
    expect((await ask('1.0.1')).headers['x-mlship-model']).toBe('breast-cancer/1.0.1');
  });
});

describe('options', () => {
  it('refuses `registry` with `fetchRegistered`, and `fetchRegistered` in the cluster, instead of ignoring one', async () => {
    const fetchRegistered = async () => scratch;
    await expect(startServer({ modelDir: BREAST_CANCER, registry: countedRegistry(), fetchRegistered })).rejects.toThrow(/not both/);
    await expect(startServer({ modelDir: BREAST_CANCER, workers: 1, fetchRegistered })).rejects.toThrow(/in-process only/);
    await expect(startServer({ modelDir: BREAST_CANCER, onLog: () => undefined })).rejects.toThrow(/workers` > 0/);
  });
});

describe('lookups of versions not hosted', () => {
  it('reads S3 for at most the lookup budget of new versions; beyond it answers 404 without a read', async () => {
    // GIVEN a fresh server (a full budget) reading the registry through the counting proxy
    const fresh = await startServer({ modelDir: BREAST_CANCER, registry: countedRegistry() });
    try {
      // WHEN many distinct unregistered versions are named at once
      const versions = Array.from({ length: LOOKUP_BURST + 5 }, (_, i) => `7.0.${i}`);
      const started = Date.now();
      const answers = await Promise.all(
        versions.map((v) => postJson(fresh.url, { instances: [row] }, { [MODEL_VERSION_REQUEST_HEADER]: v })),
      );
      const elapsed = Date.now() - started;
      // THEN every one is 404 UNKNOWN_MODEL_VERSION
      for (const a of answers) {
        expect(a.status).toBe(404);
        expect(a.json().error.code).toBe('UNKNOWN_MODEL_VERSION');
      }
      // AND S3 was read only for the budget (plus what refilled meanwhile); the rest say why they were not looked up
      const reads = versions.reduce((n, v) => n + counting.gets(`${registryPrefix('breast-cancer', v)}${REGISTRY_FILES.evaluation}`), 0);
      expect(reads).toBeGreaterThanOrEqual(LOOKUP_BURST);
      expect(reads).toBeLessThanOrEqual(LOOKUP_BURST + Math.floor(elapsed / LOOKUP_REFILL_MS));
      const limited = answers.filter((a) => /too many unknown versions/.test(a.json().error.message));
      expect(limited).toHaveLength(versions.length - reads);
      // AND the champion keeps answering
      expect((await postJson(fresh.url, { instances: [row] })).status).toBe(200);
    } finally {
      await fresh.close();
    }
  });
});

describe('the cluster', () => {
  const WORKERS = 2;
  let clustered: RunningServer;
  /** Worker pids that logged loading each registered version. */
  const loadedBy = new Map<string, Set<number>>();

  beforeAll(async () => {
    clustered = await startServer({
      modelDir: BREAST_CANCER,
      workers: WORKERS,
      registry: countedRegistry(),
      onLog: (rec) => {
        if (rec.msg !== 'registered version loaded' || typeof rec.version !== 'string' || typeof rec.pid !== 'number') return;
        loadedBy.set(rec.version, (loadedBy.get(rec.version) ?? new Set()).add(rec.pid));
      },
    });
  }, 60_000);

  afterAll(async () => {
    const pid = clustered?.pid;
    await clustered?.close();
    // The primary downloads into its default cache (named by its pid), and removes it as it exits.
    if (pid !== undefined) expect(existsSync(path.join(os.tmpdir(), `mlship-registry-${pid}`))).toBe(false);
  });

  const loaders = (version: string) => [...(loadedBy.get(version) ?? [])];

  it('downloads a registered version once for all its workers, and warms every worker with it', async () => {
    // GIVEN 1.1.0 registered after the cluster started
    await register('1.1.0');
    // WHEN one request names it
    const first = await postJson(clustered.url, { instances: [row] }, { [MODEL_VERSION_REQUEST_HEADER]: '1.1.0' });
    expect(first.headers['x-mlship-model']).toBe('breast-cancer/1.1.0');
    // THEN soon every worker has loaded it, though one request named it
    await until(`all ${WORKERS} workers to load 1.1.0`, () => loaders('1.1.0').length === WORKERS, { timeoutMs: 30_000 });
    // AND requests naming it on new connections (spread over the workers) are answered by it
    const asks = await Promise.all(
      Array.from({ length: WORKERS * 3 }, () =>
        postJson(clustered.url, { instances: [row] }, { [MODEL_VERSION_REQUEST_HEADER]: '1.1.0', connection: 'close' }),
      ),
    );
    for (const a of asks) expect(a.headers['x-mlship-model']).toBe('breast-cancer/1.1.0');
    // AND no worker loaded it twice, and the instance read the registry once: one evaluation.json, one package
    expect(loaders('1.1.0')).toHaveLength(WORKERS);
    expect(counting.gets(`${registryPrefix('breast-cancer', '1.1.0')}${REGISTRY_FILES.evaluation}`)).toBe(1);
    expect(counting.gets(modelPackageKey('breast-cancer', '1.1.0'))).toBe(1);
  }, 60_000);

  it('warms a restarted worker with the versions the others host, still without reading S3 again', async () => {
    // GIVEN the warmed cluster of the test before; WHEN one of its workers dies (the primary restarts it)
    const before = loaders('1.1.0');
    expect(before).toHaveLength(WORKERS);
    process.kill(before[0] as number, 'SIGKILL');
    // THEN its replacement loads 1.1.0 too, with no request naming it, and the package was still read once
    await until('the restarted worker to load 1.1.0', () => loaders('1.1.0').length === WORKERS + 1, { timeoutMs: 30_000 });
    expect(counting.gets(modelPackageKey('breast-cancer', '1.1.0'))).toBe(1);
  }, 60_000);

  it('answers a version that is not registered 404 from every worker through the primary', async () => {
    const answers = await Promise.all(
      Array.from({ length: WORKERS * 2 }, () =>
        postJson(clustered.url, { instances: [row] }, { [MODEL_VERSION_REQUEST_HEADER]: '8.0.0', connection: 'close' }),
      ),
    );
    for (const a of answers) {
      expect(a.status).toBe(404);
      expect(a.json().error.message).toMatch(/not registered/);
    }
  });
});
