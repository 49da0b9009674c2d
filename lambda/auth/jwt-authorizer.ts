/**
 * API Gateway's TOKEN authorizer of bearer tokens (auth mode `jwt` with an OIDC issuer): `Authorization:
 * Bearer <JWT>` checked by the shared verifier. A token that fails is refused with API Gateway's
 * `Unauthorized` (401, `UNAUTHORIZED`); an issuer whose keys cannot be read is a failure of the
 * authorizer (500), never an allow. The policy covers the whole stage: API Gateway keeps the answer for the
 * token and uses it for every method the token calls in that time.
 */
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { bearerTokenOf } from '../../contract/auth';
import { ENV } from '../../contract/env';
import { readConfig, required } from '../runtime/config';
import { createLogger, type Logger } from '../runtime/logger';
import { createJwtVerifier, type JwtVerifier } from './jwt-verifier';

export interface JwtAuthorizerDeps {
  readonly verify: JwtVerifier;
  /** @default - a logger of the authorizer */
  readonly logger?: Logger;
}

/** The authorizer's dependencies from the environment the CDK sets. */
export function jwtAuthorizerDepsFromEnv(env: NodeJS.ProcessEnv): JwtAuthorizerDeps {
  const config = readConfig('jwt-authorizer', env);
  return {
    verify: createJwtVerifier({
      issuer: required(config, ENV.JWT_ISSUER),
      audience: required(config, ENV.JWT_AUDIENCE)
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== ''),
      jwksUri: required(config, ENV.JWT_JWKS_URI),
    }),
  };
}

/** What API Gateway reads as "refuse with 401": an error with exactly this message. */
export const UNAUTHORIZED = 'Unauthorized';

export function createJwtAuthorizer(deps: JwtAuthorizerDeps) {
  const logger = deps.logger ?? createLogger('jwt-authorizer');
  return async (event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const token = bearerTokenOf(event.authorizationToken);
    if (token === undefined) {
      logger.warn('refused', { reason: 'no bearer token' });
      throw new Error(UNAUTHORIZED);
    }
    const verdict = await deps.verify(token);
    if (!verdict.ok) {
      if (verdict.reason === 'unavailable') {
        logger.error('issuer keys unavailable', { reason: verdict.message });
        throw new Error(`JWKS unavailable: ${verdict.message}`);
      }
      logger.warn('refused', { reason: verdict.message });
      throw new Error(UNAUTHORIZED);
    }
    const { sub, iss, scope } = verdict.claims;
    return {
      principalId: typeof sub === 'string' && sub !== '' ? sub : 'jwt',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stageArnOf(event.methodArn) }],
      },
      // Handed to the function as requestContext.authorizer (strings, numbers and booleans only).
      context: { sub: String(sub ?? ''), iss: String(iss ?? ''), ...(typeof scope === 'string' ? { scope } : {}) },
    };
  };
}

/** `arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>` → every method of the stage. */
export function stageArnOf(methodArn: string): string {
  const [base, stage] = methodArn.split('/');
  return `${base}/${stage}/*`;
}
