/**
 * What each group of routes asks for besides its API key (docs/auth.md), as API Gateway method options:
 * IAM (SigV4), or a JWT authorizer (Cognito user pools, or a TOKEN Lambda authorizer for any OIDC issuer).
 * The JWT authorizer is built once here and shared by every method that uses it.
 */
import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { AUTHORIZATION_HEADER, type AuthMode, JWT_AUTHORIZER_CACHE_SECONDS, type RouteAuthModes } from '../../contract/auth';

/** One group's authorization: the key alone, IAM, or a JWT authorizer. */
export type MethodAuthorization =
  | { readonly mode: 'apiKey' }
  | { readonly mode: 'iam' }
  | { readonly mode: 'jwt'; readonly authorizer: apigw.IAuthorizer };

/** The authorization of the operator routes and of every other route that takes a key (contract/auth.ts). */
export interface RouteAuthorization {
  readonly operatorRoutes: MethodAuthorization;
  readonly otherRoutes: MethodAuthorization;
}

/** The modes of a route authorization. */
export function modesOf(auth: RouteAuthorization): RouteAuthModes {
  return { operatorRoutes: auth.operatorRoutes.mode, otherRoutes: auth.otherRoutes.mode };
}

/** The method options of one group's authorization. */
export function methodAuthOptions(auth: MethodAuthorization): Pick<apigw.MethodOptions, 'authorizationType' | 'authorizer'> {
  if (auth.mode === 'iam') return { authorizationType: apigw.AuthorizationType.IAM };
  if (auth.mode === 'jwt') return { authorizer: auth.authorizer };
  return {};
}

/** Where a JWT authorizer finds its tokens' issuer. */
export type JwtAuthorizerSource =
  /** A Cognito user pool: API Gateway's own user-pools authorizer checks its ID tokens. */
  | { readonly userPoolArn: string }
  /** Any OIDC issuer: a TOKEN authorizer function (lambda/jwt-authorizer.ts) checks the tokens against its JWKS. */
  | { readonly handler: lambda.IFunction };

/**
 * The route authorization of `modes`, building the JWT authorizer when a group uses it. `jwt` must be
 * given exactly when a mode is `jwt`.
 */
export function routeAuthorization(scope: Construct, modes: RouteAuthModes, jwt?: JwtAuthorizerSource): RouteAuthorization {
  const usesJwt = modes.operatorRoutes === 'jwt' || modes.otherRoutes === 'jwt';
  if (usesJwt !== (jwt !== undefined))
    throw new Error(usesJwt ? 'A route uses jwt: give the JWT authorizer source.' : 'No route uses jwt: give no JWT authorizer source.');
  const resultsCacheTtl = Duration.seconds(JWT_AUTHORIZER_CACHE_SECONDS);
  let authorizer: apigw.IAuthorizer | undefined;
  if (jwt !== undefined && 'userPoolArn' in jwt) {
    authorizer = new apigw.CognitoUserPoolsAuthorizer(scope, 'JwtAuthorizer', {
      cognitoUserPools: [cognito.UserPool.fromUserPoolArn(scope, 'UserPool', jwt.userPoolArn)],
      resultsCacheTtl,
    });
  } else if (jwt !== undefined) {
    authorizer = new apigw.TokenAuthorizer(scope, 'JwtAuthorizer', {
      handler: jwt.handler,
      identitySource: apigw.IdentitySource.header(AUTHORIZATION_HEADER),
      // Anything but a bearer token is refused (401) before the function runs.
      validationRegex: '^[Bb]earer +[A-Za-z0-9\\-_.~+/]+=*$',
      resultsCacheTtl,
    });
  }
  const of = (mode: AuthMode): MethodAuthorization => (mode === 'jwt' ? { mode, authorizer: authorizer as apigw.IAuthorizer } : { mode });
  return { operatorRoutes: of(modes.operatorRoutes), otherRoutes: of(modes.otherRoutes) };
}
