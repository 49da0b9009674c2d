/**
 * The local gateway's auth beyond the key, the same modes as the deployed API (contract/auth.ts,
 * docs/auth.md): a JWT route takes `Authorization: Bearer <JWT>` checked by the authorizer's own verifier
 * (401 `UNAUTHORIZED`, as API Gateway answers), an IAM route a SigV4 signature by the local credentials
 * (403 `FORBIDDEN`). The gateway checks them before the key, as API Gateway checks authorization first.
 */
import { AUTHORIZATION_HEADER, type AuthMode, authModeOf, bearerTokenOf, type RouteAuthModes } from '../../contract/auth';
import { ApiError } from '../../contract/errors';
import type { RouteSpec } from '../../contract/routes';
import { createJwtVerifier, type JwtVerifierOptions } from '../../lambda/auth/jwt-verifier';
import { checkSigV4, type ReceivedCall, type SigV4CheckOptions } from './sigv4';

export interface LocalAuthOptions {
  readonly modes: RouteAuthModes;
  /** The issuer of the tokens, when a mode is `jwt`. */
  readonly jwt?: JwtVerifierOptions;
  /** The credentials and region signatures are checked against, when a mode is `iam`. */
  readonly iam?: SigV4CheckOptions;
}

/** The gateway's checks of a route's token or signature, by the route's mode. */
export interface RequestAuthorizer {
  /** What `route` asks for besides its key; undefined for the key alone. */
  modeOf(route: RouteSpec): 'iam' | 'jwt' | undefined;
  /** A JWT route's bearer token, from the headers alone: a refusal, or undefined to let it through. */
  checkToken(rawHeaders: readonly string[]): Promise<ApiError | undefined>;
  /** An IAM route's signature, which covers the body as sent: a refusal, or undefined. */
  checkSignature(call: ReceivedCall): Promise<ApiError | undefined>;
}

export function createRequestAuthorizer(opts: LocalAuthOptions): RequestAuthorizer {
  const uses = (mode: AuthMode) => opts.modes.operatorRoutes === mode || opts.modes.otherRoutes === mode;
  if (uses('jwt') && opts.jwt === undefined) throw new Error('A route uses jwt: give the issuer (`jwt`).');
  if (uses('iam') && opts.iam === undefined) throw new Error('A route uses iam: give the credentials (`iam`).');
  const verify = opts.jwt === undefined ? undefined : createJwtVerifier(opts.jwt);
  const iam = opts.iam;

  return {
    modeOf(route) {
      const mode = authModeOf(route, opts.modes);
      return mode === 'iam' || mode === 'jwt' ? mode : undefined;
    },
    async checkSignature(call) {
      return iam === undefined ? undefined : checkSigV4(call, iam);
    },
    async checkToken(rawHeaders) {
      if (verify === undefined) return undefined;
      const token = bearerTokenOf(headerOf(rawHeaders, AUTHORIZATION_HEADER));
      if (token === undefined)
        return new ApiError(
          'UNAUTHORIZED',
          'Missing or invalid bearer token: send Authorization: Bearer <JWT> from the configured issuer.',
        );
      const verdict = await verify(token);
      if (verdict.ok) return undefined;
      // API Gateway answers an authorizer that failed 500; the reason stays in the log, as there.
      if (verdict.reason === 'unavailable') {
        process.stderr.write(`gateway: jwt authorizer: ${verdict.message}\n`);
        return new ApiError('INTERNAL', 'The authorizer could not check the token; retry.');
      }
      return new ApiError('UNAUTHORIZED', `Invalid bearer token: ${verdict.message}.`);
    },
  };
}

function headerOf(raw: readonly string[], name: string): string | undefined {
  for (let i = raw.length - 2; i >= 0; i -= 2) if ((raw[i] as string).toLowerCase() === name) return raw[i + 1];
  return undefined;
}
