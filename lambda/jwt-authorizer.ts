/**
 * The JWT authorizer's entry (auth mode `jwt` with an OIDC issuer, docs/auth.md): the verifier built once
 * per container from the environment the CDK sets, and the authorizer of lambda/auth/jwt-authorizer.ts.
 */
import { createJwtAuthorizer, jwtAuthorizerDepsFromEnv } from './auth/jwt-authorizer';

export const handler = createJwtAuthorizer(jwtAuthorizerDepsFromEnv(process.env));
