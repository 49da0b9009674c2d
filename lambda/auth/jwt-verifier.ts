/**
 * Checks a bearer token against its issuer: signature by a key of the issuer's JWKS (asymmetric
 * algorithms only, so `none` and HMAC tokens are refused), `iss` exactly, `aud` (or an access token's
 * `client_id`) among the accepted audiences, `exp` present and not past, `nbf` reached, and for a Cognito
 * user pool `token_use` (an ID token). The API's JWT
 * authorizer on AWS and the local gateway both use this one module, so a token is accepted alike in both.
 * Answers are kept per token for a few minutes (never past the token's expiry), as API Gateway keeps an
 * authorizer's answer, and the JWKS is fetched once and again only for an unknown key id.
 */
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { JWT_AUTHORIZER_CACHE_SECONDS, type JwtIssuerSettings } from '../../contract/auth';

/** Signature algorithms a token may use: public-key ones. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Most answers kept at once: a flood of distinct tokens cannot grow the cache without bound. */
const MAX_CACHED = 1000;

export interface JwtVerifierOptions extends JwtIssuerSettings {
  /** Seconds of clock difference tolerated on `exp` and `nbf`. @default 5 */
  readonly clockToleranceSeconds?: number;
  /** Longest wait for the JWKS. @default 3000 ms */
  readonly fetchTimeoutMs?: number;
  /** Seconds an answer is kept for its token. @default JWT_AUTHORIZER_CACHE_SECONDS */
  readonly cacheSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The verdict on one token: its claims, or why not (`invalid`: the token's fault; `unavailable`: the issuer's keys could not be read). */
export type TokenVerdict =
  | { readonly ok: true; readonly claims: JWTPayload }
  | { readonly ok: false; readonly reason: 'invalid' | 'unavailable'; readonly message: string };

export type JwtVerifier = (token: string) => Promise<TokenVerdict>;

export function createJwtVerifier(opts: JwtVerifierOptions): JwtVerifier {
  const jwks = createRemoteJWKSet(new URL(opts.jwksUri), { timeoutDuration: opts.fetchTimeoutMs ?? 3000 });
  const now = opts.now ?? Date.now;
  const cacheMs = (opts.cacheSeconds ?? JWT_AUTHORIZER_CACHE_SECONDS) * 1000;
  const cache = new Map<string, { verdict: TokenVerdict; until: number }>();
  const audiences = new Set(opts.audience);

  async function check(token: string): Promise<TokenVerdict> {
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: opts.issuer,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp'],
        clockTolerance: opts.clockToleranceSeconds ?? 5,
        currentDate: new Date(now()),
      });
      if (audiences.size > 0 && !audienceOf(payload).some((a) => audiences.has(a)))
        return { ok: false, reason: 'invalid', message: 'the token is not for this API (aud / client_id)' };
      if (opts.tokenUse !== undefined && payload.token_use !== opts.tokenUse)
        return { ok: false, reason: 'invalid', message: `the token is not an ${opts.tokenUse} token (token_use)` };
      return { ok: true, claims: payload };
    } catch (e) {
      return verdictOf(e);
    }
  }

  return async (token) => {
    const t = now();
    const kept = cache.get(token);
    if (kept !== undefined && kept.until > t) return kept.verdict;
    const verdict = await check(token);
    // An issuer that could not be reached is asked again next time; a verdict on the token itself is kept.
    if (verdict.ok || verdict.reason === 'invalid') {
      const expiry = verdict.ok && typeof verdict.claims.exp === 'number' ? verdict.claims.exp * 1000 : Number.POSITIVE_INFINITY;
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
      cache.set(token, { verdict, until: Math.min(t + cacheMs, expiry) });
    }
    return verdict;
  };
}

/** The audiences a token names: `aud` (an ID token, most OIDC access tokens) or `client_id` (a Cognito access token). */
function audienceOf(payload: JWTPayload): string[] {
  const aud = payload.aud;
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud;
  return typeof payload.client_id === 'string' ? [payload.client_id] : [];
}

function verdictOf(e: unknown): TokenVerdict {
  // The issuer's keys could not be fetched or read: not the caller's fault, and not a reason to let it in.
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid || !(e instanceof errors.JOSEError))
    return { ok: false, reason: 'unavailable', message: `the issuer's keys could not be read: ${(e as Error).message}` };
  if (e instanceof errors.JWTExpired) return { ok: false, reason: 'invalid', message: 'the token has expired' };
  if (e instanceof errors.JWTClaimValidationFailed) return { ok: false, reason: 'invalid', message: `claim ${e.claim}: ${e.reason}` };
  if (e instanceof errors.JWKSNoMatchingKey)
    return { ok: false, reason: 'invalid', message: "no key of the issuer's JWKS matches the token" };
  return { ok: false, reason: 'invalid', message: e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ? 'bad signature' : e.message };
}
