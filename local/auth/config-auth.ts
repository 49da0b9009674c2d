/**
 * `npm start` enforces the `auth` setting of `mlship.config.json` as the deployed API does (docs/auth.md):
 * the same modes on the same routes, JWTs from the configured issuer (a Cognito pool's by its ARN), and
 * SigV4 by the local credentials for IAM routes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { authModesOfSetting, authSchema, CONFIG_FILE } from '../../contract/app-config';
import { cognitoIssuerOf, defaultJwksUri } from '../../contract/auth';
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
  const jwt = auth.jwt;
  const issuer = jwt?.userPoolArn !== undefined ? cognitoIssuerOf(jwt.userPoolArn) : jwt?.issuer;
  return {
    modes,
    iam: principal,
    ...(jwt !== undefined && issuer !== undefined
      ? { jwt: { issuer, audience: jwt.audience ?? [], jwksUri: jwt.jwksUri ?? defaultJwksUri(issuer) } }
      : {}),
  };
}
