/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * A registered version loaded while the server runs (container/src/model-registry.ts): the first request
 * naming it loads it from `models/<name>/<version>/` in the bucket (s3rver), checked as at start-up, and
 * it answers from then on beside the champion; a version that is not registered, that its evaluation
 * refused, or that cannot stand beside the champion is 404 UNKNOWN_MODEL_VERSION, and the champion keeps
 * answering. Past MAX_REGISTERED_VERSIONS, a newer version replaces the oldest.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MAX_REGISTERED_VERSIONS } from '../../container/src/model-server';
import { type RunningServer, startServer } from '../../container/src/server';
import { modelPackageKey, REGISTRY_FILES, registryPrefix } from '../../contract/bucket';
import { packModel } from '../../contract/model-package';
import { MODEL_VERSION_REQUEST_HEADER } from '../../contract/versions';
import { type EmbeddedS3, startS3 } from '../../local/s3';
import { modelVersionCopy } from '../support/model-version';
import { BREAST_CANCER, closeAgent, parity, postJson } from './helpers';

const BUCKET = 'mlship-test-registry';
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

let s3: EmbeddedS3;
let client: S3Client;
let scratch: string;
let server: RunningServer;
const copies: string[] = [];

/** Registers `version` as a training run does: the package, then evaluation.json with the verdict. */
async function register(version: string, opts: { handOver?: boolean; edit?: (m: Record<string, unknown>) => void } = {}) {
  const dir = modelVersionCopy(BREAST_CANCER, version, opts.edit);
  copies.push(dir);
  const archive = path.join(scratch, `${version}.tar.gz`);
  await packModel(dir, archive);
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: modelPackageKey('breast-cancer', version), Body: readFileSync(archive) }));
  const evaluation = { model: 'breast-cancer', version, verdict: { handOver: opts.handOver ?? true, reasons: [] } };
  await client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: `${registryPrefix('breast-cancer', version)}${REGISTRY_FILES.evaluation}`,
      Body: JSON.stringify(evaluation),
    }),
  );
}

const row = parity(BREAST_CANCER).rows[0]?.input;
const ask = (version: string) => postJson(server.url, { instances: [row] }, { [MODEL_VERSION_REQUEST_HEADER]: version });

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'mlship-registry-'));
  s3 = await startS3({ dir: path.join(scratch, 's3'), bucket: BUCKET });
  client = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials });
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
