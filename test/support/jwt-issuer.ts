/**
 * A real token issuer for tests: an ES256 key pair made with jose, its JWKS served on 127.0.0.1 (port 0),
 * and tokens signed with it. `fetches` counts the JWKS reads (the verifier keeps answers and keys).
 */
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { closeServer, listen } from '../../local/listen';

export interface TestIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly fetches: () => number;
  /** A token with `claims` over the defaults (iss, aud `mlship-api`, sub, an hour to live). */
  sign(claims?: JWTPayload, opts?: { expiresIn?: string | number; key?: 'own' | 'stranger' }): Promise<string>;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<TestIssuer> {
  const own = await generateKeyPair('ES256');
  const stranger = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(own.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  let fetches = 0;
  const server: Server = createServer((_req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  const port = await listen(server, 0, 'test issuer');
  const issuer = `http://127.0.0.1:${port}/`;
  return {
    issuer,
    jwksUri: `${issuer}.well-known/jwks.json`,
    fetches: () => fetches,
    sign: (claims = {}, opts = {}) =>
      new SignJWT({ aud: 'mlship-api', sub: 'ops-1', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(typeof claims.iss === 'string' ? claims.iss : issuer)
        .setIssuedAt()
        .setExpirationTime(opts.expiresIn ?? '1h')
        .sign(opts.key === 'stranger' ? stranger.privateKey : own.privateKey),
    close: () => closeServer(server),
  };
}
