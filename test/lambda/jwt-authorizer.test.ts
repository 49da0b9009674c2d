/**
 * The JWT verifier and API Gateway's TOKEN authorizer over it, against real tokens signed with jose and a
 * JWKS served on 127.0.0.1: what passes, what is refused (401 `Unauthorized`), what fails (the issuer's keys
 * unreachable: never an allow), and that answers and keys are kept.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { build } from 'esbuild';
import { SignJWT } from 'jose';
import { ENV } from '../../contract/env';
import { createJwtAuthorizer, stageArnOf, UNAUTHORIZED } from '../../lambda/auth/jwt-authorizer';
import { createJwtVerifier } from '../../lambda/auth/jwt-verifier';
import type { Logger } from '../../lambda/runtime/logger';
import { ENTRY_NAME, lambdaBuildOptions } from '../../lib/constructs/lambda-bundle';
import { startIssuer, type TestIssuer } from '../support/jwt-issuer';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await startIssuer();
});
afterAll(() => issuer.close());

const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/predictions';
const event = (token: string): APIGatewayTokenAuthorizerEvent => ({ type: 'TOKEN', authorizationToken: token, methodArn: METHOD_ARN });
const verifierOf = (i: TestIssuer, extra: Partial<Parameters<typeof createJwtVerifier>[0]> = {}) =>
  createJwtVerifier({ issuer: i.issuer, audience: ['mlship-api'], jwksUri: i.jwksUri, ...extra });

describe('jwt verifier', () => {
  it('accepts a token of the issuer for the audience, and an access token naming the audience as client_id', async () => {
    const verify = verifierOf(issuer);
    expect(await verify(await issuer.sign())).toMatchObject({ ok: true, claims: { sub: 'ops-1' } });
    expect(await verify(await issuer.sign({ aud: undefined, client_id: 'mlship-api' }))).toMatchObject({ ok: true });
  });

  it.each([
    ['expired', () => issuer.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ['for another audience', () => issuer.sign({ aud: 'another-api' }), /not for this API/],
    ['from another issuer', () => issuer.sign({ iss: 'https://evil.example.com/' }), /iss/],
    ['signed by a key the issuer does not publish', () => issuer.sign({}, { key: 'stranger' }), /signature/],
    [
      'signed with a shared secret (HS256)',
      () =>
        new SignJWT({ aud: 'mlship-api' })
          .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
          .setIssuer(issuer.issuer)
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode('a-secret-anyone-could-guess-000000')),
      /alg/,
    ],
    [
      'unsigned (alg none) and without an expiry',
      () => new SignJWT({ aud: 'mlship-api' }).setProtectedHeader({ alg: 'none' }).setIssuer(issuer.issuer).sign(new Uint8Array(32)),
      /./,
    ],
  ])('refuses a token %s', async (_what, make, reason) => {
    let token: string;
    try {
      token = await make();
    } catch {
      // jose will not even sign `alg: none`: a hand-made unsigned token stands in for it.
      token = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: issuer.issuer, aud: 'mlship-api' })).toString('base64url')}.`;
    }
    const verdict = await verifierOf(issuer)(token);
    expect(verdict).toMatchObject({ ok: false, reason: 'invalid' });
    expect(verdict.ok ? '' : verdict.message).toMatch(reason);
  });

  it("takes a Cognito pool's ID tokens only when told to, as API Gateway's user-pools authorizer does", async () => {
    // A user pool's settings name no audience: any of the pool's app clients, as on AWS.
    const pool = verifierOf(issuer, { audience: [], tokenUse: 'id' });
    expect(await pool(await issuer.sign({ token_use: 'id', aud: 'any-app-client' }))).toMatchObject({ ok: true });
    expect(await pool(await issuer.sign({ token_use: 'access', aud: undefined, client_id: 'c1' }))).toMatchObject({
      ok: false,
      reason: 'invalid',
      message: expect.stringMatching(/not an id token \(token_use\)/),
    });
    expect(await pool(await issuer.sign({ aud: 'x' }))).toMatchObject({ ok: false });
  });

  it('keeps answers per token and fetches the JWKS once', async () => {
    const other = await startIssuer();
    try {
      const verify = verifierOf(other);
      const token = await other.sign();
      for (let i = 0; i < 5; i++) expect((await verify(token)).ok).toBe(true);
      expect((await verify(await other.sign({ sub: 'ops-2' }))).ok).toBe(true);
      expect(other.fetches()).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('does not keep an expired answer past the token expiry', async () => {
    let now = Date.now();
    const verify = verifierOf(issuer, { now: () => now, clockToleranceSeconds: 0 });
    const token = await issuer.sign({}, { expiresIn: Math.floor(now / 1000) + 2 });
    expect((await verify(token)).ok).toBe(true);
    now += 5_000;
    expect(await verify(token)).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('calls an unreachable JWKS unavailable, not the token invalid, and asks again next time', async () => {
    const gone = await startIssuer();
    const token = await gone.sign();
    await gone.close();
    const verify = createJwtVerifier({ issuer: gone.issuer, audience: ['mlship-api'], jwksUri: gone.jwksUri, fetchTimeoutMs: 500 });
    expect(await verify(token)).toMatchObject({ ok: false, reason: 'unavailable' });
    expect(await verify(token)).toMatchObject({ ok: false, reason: 'unavailable' });
  });
});

/** A logger that keeps its lines. */
function recordingLogger(): Logger & { text: () => string } {
  const lines: string[] = [];
  const log = (message: string, fields?: Record<string, unknown>) => lines.push(JSON.stringify({ message, ...fields }));
  const logger = { info: log, warn: log, error: log, child: () => logger, text: () => lines.join('\n') };
  return logger;
}

describe('TOKEN authorizer', () => {
  const logs = recordingLogger();

  it('allows a good bearer token on the whole stage, with the subject as principal', async () => {
    const authorize = createJwtAuthorizer({ verify: verifierOf(issuer), logger: logs });
    const result = await authorize(event(`Bearer ${await issuer.sign()}`));
    expect(result).toEqual({
      principalId: 'ops-1',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*' },
        ],
      },
      context: { sub: 'ops-1', iss: issuer.issuer },
    });
    expect(stageArnOf(METHOD_ARN)).toBe('arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*');
  });

  it('refuses a missing, malformed or bad token with Unauthorized (API Gateway: 401), logging why without the token', async () => {
    const authorize = createJwtAuthorizer({ verify: verifierOf(issuer), logger: logs });
    const bad = await issuer.sign({ aud: 'another-api' });
    for (const header of ['', 'Basic dXNlcjpwYXNz', `Bearer ${bad}`])
      await expect(authorize(event(header))).rejects.toThrow(new Error(UNAUTHORIZED));
    expect(logs.text()).toMatch(/not for this API/);
    expect(logs.text()).not.toContain(bad);
  });

  it('fails (API Gateway: 500), never allows, when the issuer keys cannot be read', async () => {
    const gone = await startIssuer();
    const token = await gone.sign();
    await gone.close();
    const authorize = createJwtAuthorizer({
      logger: logs,
      verify: createJwtVerifier({ issuer: gone.issuer, audience: ['mlship-api'], jwksUri: gone.jwksUri, fetchTimeoutMs: 500 }),
    });
    await expect(authorize(event(`Bearer ${token}`))).rejects.toThrow(/JWKS unavailable/);
  });
});

describe('the bundled authorizer', () => {
  const out = mkdtempSync(join(tmpdir(), 'mlship-jwt-authorizer-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  /** One invocation of the esbuild bundle, as deployed, in a fresh process. */
  async function invoke(token: string): Promise<string> {
    const script = `import(${JSON.stringify(pathToFileURL(join(out, `${ENTRY_NAME}.mjs`)).href)})
      .then((m) => m.handler(${JSON.stringify(event(token))}))
      .then((r) => process.stderr.write('RESULT ' + JSON.stringify(r) + '\\n'), (e) => process.stderr.write('ERROR ' + e.message + '\\n'))`;
    // Only the authorizer's variables: the bundle must need nothing else from its environment.
    const env = {
      [ENV.JWT_ISSUER]: issuer.issuer,
      [ENV.JWT_AUDIENCE]: 'mlship-api',
      [ENV.JWT_JWKS_URI]: issuer.jwksUri,
    };
    const { stderr } = await promisify(execFile)(process.execPath, ['--no-warnings', '-e', script], { env, cwd: tmpdir() });
    return stderr.split('\n').find((l) => l.startsWith('RESULT ') || l.startsWith('ERROR ')) ?? stderr;
  }

  it('bundles jose and verifies from a fresh process: allows a good token, refuses a bad one', async () => {
    await build(lambdaBuildOptions(join(__dirname, '..', '..', 'lambda', 'jwt-authorizer.ts'), out));
    expect(await invoke(`Bearer ${await issuer.sign()}`)).toMatch(/^RESULT .*"Effect":"Allow"/);
    expect(await invoke(`Bearer ${await issuer.sign({ aud: 'another-api' })}`)).toBe(`ERROR ${UNAUTHORIZED}`);
  });
});
