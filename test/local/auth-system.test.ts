/**
 * The local system with JWT on the operator routes (docs/auth.md), end to end: the operator key needs a
 * token to read every prediction, and on predict, whose routes take the key alone, it is a client's key
 * like any other — it can no longer send another caller's stored input as an `s3Key` (with the keys alone
 * it can: test/support/log-attacks.ts).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { INPUT_OWNER_METADATA, predictionInputKey } from '../../contract/bucket';
import { API_KEY_HEADER } from '../../contract/routes';
import { exampleRow } from '../../local/example';
import { DEFAULT_MODEL_DIR } from '../../local/paths';
import { s3Client } from '../../local/s3';
import { type LocalSystem, startLocal } from '../../local/system';
import { startIssuer, type TestIssuer } from '../support/jwt-issuer';
import { quietHandlerLogs } from '../support/quiet-logs';

let issuer: TestIssuer;
let local: LocalSystem;
const logs = quietHandlerLogs();

beforeAll(async () => {
  issuer = await startIssuer();
  local = await startLocal({
    port: 0,
    inMemory: true,
    replayIntervalMs: 0,
    analyticsIntervalMs: 0,
    auth: {
      modes: { operatorRoutes: 'jwt', otherRoutes: 'apiKey' },
      jwt: { issuer: issuer.issuer, audience: ['mlship-api'], jwksUri: issuer.jwksUri },
    },
  });
}, 120_000);
afterAll(async () => {
  await local?.stop();
  await issuer?.close();
  logs.restore();
});

async function call(path: string, key: string, opts: { token?: string; body?: unknown } = {}) {
  const res = await fetch(`${local.url}${path}`, {
    method: opts.body === undefined ? 'GET' : 'POST',
    headers: {
      [API_KEY_HEADER]: key,
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const body = (await res.json()) as { error?: { code: string }; items?: { id: string }[]; predictions?: { id: string }[] };
  return { status: res.status, code: body.error?.code, body };
}

test('the operator key reads every prediction with a token only, and is a client on predict', async () => {
  const row = exampleRow(DEFAULT_MODEL_DIR, local.manifest)?.instance;
  const token = await issuer.sign();
  const mine = (await call('/predict', local.clientApiKey, { body: { instances: [row] } })).body.predictions?.[0]?.id;
  expect(mine).toEqual(expect.any(String));

  // Operator routes: the key alone is 401, the key and a token see the client's prediction and the metrics.
  expect(await call('/predictions', local.apiKey)).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  const listed = await call('/predictions?limit=50', local.apiKey, { token });
  expect(listed.status).toBe(200);
  expect(listed.body.items?.map((i) => i.id)).toContain(mine);
  expect((await call('/metrics/summary?window=1h', local.apiKey, { token })).status).toBe(200);
  // The client key with a token still sees its own predictions only, and no metrics.
  expect(await call('/metrics/summary?window=1h', local.clientApiKey, { token })).toMatchObject({ status: 403, code: 'FORBIDDEN' });

  // Predict takes the key alone: an operator key there cannot use the client's stored input.
  const key = predictionInputKey(local.manifest.name, new Date().toISOString(), 'CLIENTS-INPUT', 'json');
  const s3 = s3Client(local.s3Url);
  await s3.send(
    new PutObjectCommand({
      Bucket: local.bucketName,
      Key: key,
      Body: JSON.stringify(row),
      Metadata: { [INPUT_OWNER_METADATA]: local.clientApiKeyId },
    }),
  );
  s3.destroy();
  expect(await call('/predict', local.apiKey, { body: { instances: [{ s3Key: key }] } })).toMatchObject({
    status: 403,
    code: 'S3_ACCESS_DENIED',
  });
  expect((await call('/predict', local.clientApiKey, { body: { instances: [{ s3Key: key }] } })).status).toBe(200);
  expect(local.auth).toEqual({ operatorRoutes: 'jwt', otherRoutes: 'apiKey' });
});
