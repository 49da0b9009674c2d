/**
 * The local gateway enforces the deployed API's auth modes (docs/auth.md): JWT routes take a bearer token
 * checked by the authorizer's own verifier against a JWKS on 127.0.0.1 (401 UNAUTHORIZED otherwise), IAM
 * routes a SigV4 signature by the local credentials (403 FORBIDDEN otherwise), the key is still required,
 * and the CLI's client signs or sends the token as the target says.
 */
import { request, type Server } from 'node:http';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ApiCallError, callApi } from '../../cli/api';
import type { Target } from '../../cli/target';
import { API_KEY_ONLY, AUTH_TOKEN_ENV, type RouteAuthModes } from '../../contract/auth';
import { API_KEY_HEADER, HANDLERS, type HandlerName } from '../../contract/routes';
import { createRequestAuthorizer } from '../../local/auth/gateway-auth';
import { signCall } from '../../local/auth/sigv4';
import { apiKeyIdOf, createGateway, type ProxyHandler } from '../../local/gateway';
import { closeServer, listen } from '../../local/listen';
import { LOCAL_NAMES, S3RVER_CREDENTIALS } from '../../local/paths';
import { startIssuer, type TestIssuer } from '../support/jwt-issuer';

const KEY = 'test-key-0123456789abcdef';
const ok: ProxyHandler = async (event): Promise<APIGatewayProxyResult> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ resource: event.resource, body: event.body }),
});
const handlers = Object.fromEntries(HANDLERS.map((h) => [h, ok])) as Record<HandlerName, ProxyHandler>;

let issuer: TestIssuer;
const servers: Server[] = [];
beforeAll(async () => {
  issuer = await startIssuer();
});
afterAll(async () => {
  await Promise.all(servers.map(closeServer));
  await issuer.close();
});

async function gateway(modes: RouteAuthModes): Promise<string> {
  const server = createGateway({
    handlers,
    apiKey: KEY,
    apiKeyId: apiKeyIdOf(KEY),
    stage: 'local',
    authorize: createRequestAuthorizer({
      modes,
      jwt: { issuer: issuer.issuer, audience: ['mlship-api'], jwksUri: issuer.jwksUri },
      iam: { credentials: S3RVER_CREDENTIALS, region: LOCAL_NAMES.region },
    }),
  });
  servers.push(server);
  return `http://127.0.0.1:${await listen(server, 0, 'test gateway')}`;
}

async function call(url: string, path: string, headers: Record<string, string> = {}, init: RequestInit = {}) {
  const res = await fetch(`${url}${path}`, { ...init, headers: { [API_KEY_HEADER]: KEY, ...headers } });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

describe('jwt on operator routes', () => {
  let url: string;
  beforeAll(async () => {
    url = await gateway({ operatorRoutes: 'jwt', otherRoutes: 'apiKey' });
  });

  it('lets an operator route through with the key and a good token, and other routes with the key alone', async () => {
    const token = await issuer.sign();
    expect((await call(url, '/predictions', { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await call(url, '/model')).status).toBe(200);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('answers 401 UNAUTHORIZED without a token, or with a bad one, in the contract body', async () => {
    const wrongAudience = await issuer.sign({ aud: 'another-api' });
    const stranger = await issuer.sign({}, { key: 'stranger' });
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: `Bearer ${wrongAudience}` },
      { authorization: `Bearer ${stranger}` },
      { authorization: 'Basic eDp5' },
    ]) {
      const r = await call(url, '/metrics/summary', headers);
      expect({ status: r.status, code: r.body.error?.code }).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    }
  });

  it('still wants the key with a good token (403 FORBIDDEN)', async () => {
    const res = await fetch(`${url}/predictions`, { headers: { authorization: `Bearer ${await issuer.sign()}` } });
    expect(res.status).toBe(403);
  });

  it('checks the token before the key, as API Gateway does: neither gets 401 UNAUTHORIZED', async () => {
    // API Gateway runs a method's authorizer before its key check (the INVALID_API_KEY answer comes after).
    for (const [path, init] of <[string, RequestInit][]>[
      ['/predictions', {}],
      ['/predictions/abc/feedback', { method: 'POST', body: '{"label":"benign"}' }],
    ]) {
      const res = await fetch(`${url}${path}`, init);
      const body = (await res.json()) as { error?: { code: string; message: string } };
      expect({ status: res.status, code: body.error?.code }).toEqual({ status: 401, code: 'UNAUTHORIZED' });
      expect(body.error?.message).toMatch(/bearer token/);
    }
    // A key-only route still refuses a missing key at once.
    expect((await fetch(`${url}/model`)).status).toBe(403);
  });

  it('refuses a missing token before the body is sent: no 100 Continue', async () => {
    const { status, continued } = await new Promise<{ status: number; continued: boolean }>((done, fail) => {
      let continued = false;
      const req = request(`${url}/predictions/abc/feedback`, {
        method: 'POST',
        headers: { [API_KEY_HEADER]: KEY, 'content-type': 'application/json', 'content-length': '18', expect: '100-continue' },
      });
      req.on('continue', () => {
        continued = true;
        req.end('{"label":"benign"}');
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => done({ status: res.statusCode ?? 0, continued }));
      });
      req.on('error', fail);
      req.flushHeaders();
    });
    expect({ status, continued }).toEqual({ status: 401, continued: false });
  });
});

describe('iam on every route', () => {
  let url: string;
  beforeAll(async () => {
    url = await gateway({ operatorRoutes: 'iam', otherRoutes: 'iam' });
  });

  const signed = async (
    path: string,
    init: { method?: string; body?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
  ) => {
    const headers = { [API_KEY_HEADER]: KEY, ...(init.body ? { 'content-type': 'application/json' } : {}) };
    const sig = await signCall(
      { method: init.method ?? 'GET', url: `${url}${path}`, headers, body: init.body },
      init.credentials ?? S3RVER_CREDENTIALS,
      LOCAL_NAMES.region,
    );
    return { ...headers, ...sig };
  };

  it('lets a request signed by the local credentials through, GET with a query and POST with a body', async () => {
    expect((await call(url, '/predictions?limit=5&version=1.0.0', await signed('/predictions?limit=5&version=1.0.0'))).status).toBe(200);
    const body = JSON.stringify({ label: 'benign' });
    const r = await call(url, '/predictions/abc/feedback', await signed('/predictions/abc/feedback', { method: 'POST', body }), {
      method: 'POST',
      body,
    });
    expect(r).toMatchObject({ status: 200, body: { body } });
  });

  it('refuses unsigned, wrongly signed, tampered and foreign-key requests with 403 FORBIDDEN', async () => {
    const body = JSON.stringify({ label: 'benign' });
    const cases: [Record<string, string>, RequestInit, string][] = [
      [{}, {}, '/model'],
      [await signed('/model', { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'wrong' } }), {}, '/model'],
      [await signed('/model', { credentials: { accessKeyId: 'SOMEONE', secretAccessKey: 'S3RVER' } }), {}, '/model'],
      // Signed for one path, sent to another.
      [await signed('/model'), {}, '/predictions'],
      // Signed with one body, sent with another.
      [
        await signed('/predictions/abc/feedback', { method: 'POST', body }),
        { method: 'POST', body: body.replace('benign', 'malignant') },
        '/predictions/abc/feedback',
      ],
    ];
    for (const [headers, init, path] of cases) {
      const r = await call(url, path, headers, init);
      expect({ path, status: r.status, code: r.body.error?.code }).toEqual({ path, status: 403, code: 'FORBIDDEN' });
    }
  });

  it('checks the signature before the key: a request with neither is refused for its signature', async () => {
    const res = await fetch(`${url}/predictions`);
    const body = (await res.json()) as { error?: { code: string; message: string } };
    expect({ status: res.status, code: body.error?.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(body.error?.message).toMatch(/SigV4/);
    // Signed but without the key: the key is checked next.
    const signedOnly = await signCall({ method: 'GET', url: `${url}/predictions`, headers: {} }, S3RVER_CREDENTIALS, LOCAL_NAMES.region);
    const r = await fetch(`${url}/predictions`, { headers: signedOnly });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error?: { message: string } }).error?.message).toMatch(/API key/);
  });
});

describe('the CLI client', () => {
  const target = (url: string, modes: RouteAuthModes): Target => ({
    kind: 'local',
    label: 'local system',
    apiUrl: url,
    apiKey: KEY,
    bucketName: 'b',
    tableName: 't',
    logDlqUrl: 'q',
    awsEnv: {},
    s3: {},
    sqs: {},
    auth: { modes, region: LOCAL_NAMES.region, credentials: { ...S3RVER_CREDENTIALS } },
  });

  it('signs its calls to IAM routes', async () => {
    const modes: RouteAuthModes = { operatorRoutes: 'iam', otherRoutes: 'iam' };
    const t = target(await gateway(modes), modes);
    await expect(callApi(t, '/predictions?limit=1')).resolves.toMatchObject({ resource: '/predictions' });
    await expect(callApi(t, '/predict', { method: 'POST', body: '{"instances":[[1]]}' })).resolves.toMatchObject({ resource: '/predict' });
    // The same call without the target's auth is refused: the signature is what let it through.
    await expect(callApi({ ...t, auth: { ...t.auth, modes: API_KEY_ONLY } as Target['auth'] }, '/predictions')).rejects.toThrow(
      ApiCallError,
    );
  });

  it(`sends ${AUTH_TOKEN_ENV} as the bearer token of JWT routes, and says what to set without one`, async () => {
    const modes: RouteAuthModes = { operatorRoutes: 'jwt', otherRoutes: 'apiKey' };
    const t = target(await gateway(modes), modes);
    const before = process.env[AUTH_TOKEN_ENV];
    try {
      delete process.env[AUTH_TOKEN_ENV];
      await expect(callApi(t, '/predictions')).rejects.toThrow(new RegExp(`set ${AUTH_TOKEN_ENV}`));
      await expect(callApi(t, '/model')).resolves.toMatchObject({ resource: '/model' });
      process.env[AUTH_TOKEN_ENV] = await issuer.sign();
      await expect(callApi(t, '/predictions')).resolves.toMatchObject({ resource: '/predictions' });
      process.env[AUTH_TOKEN_ENV] = await issuer.sign({}, { key: 'stranger' });
      await expect(callApi(t, '/predictions')).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    } finally {
      if (before === undefined) delete process.env[AUTH_TOKEN_ENV];
      else process.env[AUTH_TOKEN_ENV] = before;
    }
  });
});
