/**
 * Who may call which route, beyond the API key: the authorization modes a deployment (and `npm start`)
 * can put on the routes, which routes are operator routes, and the settings shared by the stacks, the JWT
 * authorizer, the local gateway and the CLI (docs/auth.md). API keys stay on every route that has one:
 * they meter (usage plans) and tell operators from clients; IAM or a JWT proves who holds them.
 */
import { HANDLERS, type HandlerName, ROUTES, type RouteId, type RouteSpec } from './routes';

/** `apiKey`: the key alone; `iam`: a SigV4-signed request besides the key; `jwt`: a bearer token besides the key. */
export const AUTH_MODES = ['apiKey', 'iam', 'jwt'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/**
 * Operator routes: the routes through which an operator key reads other callers' data (every prediction,
 * their feedback, the metrics). Client keys call them too, for their own predictions only.
 */
export const OPERATOR_ROUTE_IDS = [
  'listPredictions',
  'getPrediction',
  'postFeedback',
  'metricsSummary',
] as const satisfies readonly RouteId[];

/** The modes of a deployment's routes (the `auth` config key without the issuer settings). */
export interface RouteAuthModes {
  /** Mode of the operator routes. */
  readonly operatorRoutes: AuthMode;
  /** Mode of every other route that takes an API key. */
  readonly otherRoutes: AuthMode;
}

/** Every route behind its API key alone: the default. */
export const API_KEY_ONLY: RouteAuthModes = { operatorRoutes: 'apiKey', otherRoutes: 'apiKey' };

/** A JWT issuer: any OIDC issuer by its JWKS, or a Cognito user pool. */
export interface JwtIssuerSettings {
  /** The token's `iss`, exactly (`https://cognito-idp.<region>.amazonaws.com/<pool id>` for a user pool). */
  readonly issuer: string;
  /** Accepted `aud` values; empty for a user pool, whose API Gateway authorizer checks the pool, not the audience. */
  readonly audience: readonly string[];
  /** Where the issuer's signing keys are. */
  readonly jwksUri: string;
  /**
   * The Cognito `token_use` a token must carry: `id` for a user pool, whose API Gateway authorizer (with
   * no OAuth scopes on the methods) takes ID tokens only. @default - any (an OIDC issuer's tokens carry none)
   */
  readonly tokenUse?: 'id';
}

/** The mode of one route; `none` for the public routes (health, OpenAPI, the dashboard page). */
export function authModeOf(route: Pick<RouteSpec, 'id' | 'apiKey'>, modes: RouteAuthModes): AuthMode | 'none' {
  if (!route.apiKey) return 'none';
  return isOperatorRoute(route) ? modes.operatorRoutes : modes.otherRoutes;
}

export function isOperatorRoute(route: Pick<RouteSpec, 'id'>): boolean {
  return (OPERATOR_ROUTE_IDS as readonly string[]).includes(route.id);
}

/**
 * Whether the function of `handler` may treat operator keys as operators. An operator key is worth as much
 * as the weakest route it reaches a handler by: when operator routes ask for more than the key, a handler
 * also serving other routes under the key alone (predict, which lets operators send any stored input as
 * an `s3Key`) treats every key as a client's, so a key alone never reads another caller's data.
 */
export function operatorPrivilegeOf(handler: HandlerName, modes: RouteAuthModes): boolean {
  if (modes.operatorRoutes === 'apiKey') return true;
  return ROUTES.filter((r) => r.handler === handler && r.apiKey).every((r) => authModeOf(r, modes) !== 'apiKey');
}

/** The handlers whose functions treat operator keys as operators under `modes`. */
export function operatorHandlers(modes: RouteAuthModes): HandlerName[] {
  return HANDLERS.filter((h) => operatorPrivilegeOf(h, modes));
}

/** Header of the bearer token (`Authorization: Bearer <JWT>`), as API Gateway's authorizers read it. */
export const AUTHORIZATION_HEADER = 'authorization';

/** The token of an `Authorization: Bearer <token>` value; undefined when the value is not one. */
export function bearerTokenOf(value: string | undefined): string | undefined {
  const m = value === undefined ? null : /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i.exec(value);
  return m?.[1];
}

/** Output of the Api stack with the routes' modes as JSON (`RouteAuthModes`); absent when every route takes the key alone. */
export const API_AUTH_OUTPUT = 'ApiAuth';

/** Environment variable the CLI reads the bearer token from (`--token` overrides it). */
export const AUTH_TOKEN_ENV = 'MLSHIP_AUTH_TOKEN';

/** The service name of API Gateway's SigV4 signatures. */
export const EXECUTE_API_SERVICE = 'execute-api';

/** How long API Gateway keeps a JWT authorizer's answer for a token (seconds); the local gateway keeps it as long. */
export const JWT_AUTHORIZER_CACHE_SECONDS = 300;

/** Largest clock difference a SigV4 signature may show (API Gateway's, and SigV4's, 15 minutes). */
export const SIGV4_MAX_SKEW_MS = 15 * 60 * 1000;

/** The JWKS address of an OIDC issuer without one given: its discovery default. */
export function defaultJwksUri(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
}

/** The issuer of a Cognito user pool's tokens, from the pool's ARN. */
export function cognitoIssuerOf(userPoolArn: string): string {
  const m = COGNITO_USER_POOL_ARN.exec(userPoolArn);
  if (!m) throw new Error(`Not a Cognito user pool ARN: ${userPoolArn}`);
  return `https://cognito-idp.${m[1]}.amazonaws.com/${m[2]}`;
}

/** `arn:<partition>:cognito-idp:<region>:<account>:userpool/<region>_<id>`. */
export const COGNITO_USER_POOL_ARN = /^arn:aws[a-z-]*:cognito-idp:([a-z0-9-]+):\d{12}:userpool\/([a-z0-9-]+_[A-Za-z0-9]+)$/;
