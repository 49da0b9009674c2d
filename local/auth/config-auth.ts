/**
 * `npm start` enforces the `auth` setting of `mlship.config.json` as the deployed API does (docs/auth.md):
 * the same modes on the same routes, JWTs from the configured issuer (a Cognito pool's ID tokens by its ARN), and
 * SigV4 by the local credentials for IAM routes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AuthSetting, authModesOfSetting, authSchema, CONFIG_FILE } from '../../contract/app-config';
import { cognitoIssuerOf, defaultJwksUri, type JwtIssuerSettings } from '../../contract/auth';
import { errorMessage } from '../../contract/errors';
import type { LocalAuthOptions } from './gateway-auth';

export interface LocalPrincipal {
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly region: string;
}

/** The gateway's auth options from the config file at `rootDir`; undefined without one, or with the keys alone. */
export function localAuthFromConfigFile(rootDir: string, principal: LocalPrincipal): LocalAuthOptions | undefined {
  const file = join(rootDir, CONFIG_FILE);
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = (JSON.parse(readFileSync(file, 'utf8')) as { auth?: unknown } | null)?.auth;
  } catch (e) {
    throw new Error(`${CONFIG_FILE} is not valid JSON: ${errorMessage(e)}`);
  }
  if (raw === undefined) return undefined;
  const parsed = authSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(`${CONFIG_FILE}: ${parsed.error.issues.map((i) => `auth.${i.path.map(String).join('.')}: ${i.message}`).join('; ')}`);
  const auth = parsed.data;
  const modes = authModesOfSetting(auth);
  if (modes.operatorRoutes === 'apiKey' && modes.otherRoutes === 'apiKey') return undefined;
  return { modes, iam: principal, ...(auth.jwt !== undefined ? { jwt: jwtIssuerOf(auth.jwt) } : {}) };
}

/**
 * The issuer settings of the `jwt` key. A Cognito pool's come from its ARN, with what API Gateway's
 * user-pools authorizer checks: the pool's issuer and keys, and ID tokens only; the config names no app
 * client, so no audience is checked (as there).
 */
export function jwtIssuerOf(jwt: NonNullable<AuthSetting['jwt']>): JwtIssuerSettings {
  if (jwt.userPoolArn !== undefined) {
    const issuer = cognitoIssuerOf(jwt.userPoolArn);
    return { issuer, audience: [], jwksUri: defaultJwksUri(issuer), tokenUse: 'id' };
  }
  // The schema refuses a `jwt` key with neither.
  if (jwt.issuer === undefined) throw new Error('auth.jwt: give issuer and audience, or userPoolArn.');
  return { issuer: jwt.issuer, audience: jwt.audience ?? [], jwksUri: jwt.jwksUri ?? defaultJwksUri(jwt.issuer) };
}
