/**
 * `npm start` reads the `auth` key of mlship.config.json into the gateway's settings (docs/auth.md): an
 * OIDC issuer with its audiences and JWKS, or a Cognito pool by its ARN with what API Gateway's user-pools
 * authorizer checks there (the pool's issuer and keys, ID tokens only, no app client).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_FILE } from '../../contract/app-config';
import { localAuthFromConfigFile } from '../../local/auth/config-auth';

const principal = { credentials: { accessKeyId: 'A', secretAccessKey: 'S' }, region: 'us-east-1' };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function withConfig(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlship-config-auth-'));
  dirs.push(dir);
  writeFileSync(join(dir, CONFIG_FILE), JSON.stringify(config));
  return dir;
}

test('a Cognito pool: its issuer and JWKS from the ARN, ID tokens only, no audience', () => {
  const dir = withConfig({
    auth: { operatorRoutes: 'jwt', jwt: { userPoolArn: 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC123' } },
  });
  expect(localAuthFromConfigFile(dir, principal)?.jwt).toEqual({
    issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123',
    audience: [],
    jwksUri: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/jwks.json',
    tokenUse: 'id',
  });
});

test('an OIDC issuer: its audiences and JWKS, any token use', () => {
  const dir = withConfig({
    auth: { allRoutes: 'jwt', jwt: { issuer: 'https://login.example.com/', audience: 'mlship-api' } },
  });
  expect(localAuthFromConfigFile(dir, principal)).toMatchObject({
    modes: { operatorRoutes: 'jwt', otherRoutes: 'jwt' },
    jwt: { issuer: 'https://login.example.com/', audience: ['mlship-api'], jwksUri: 'https://login.example.com/.well-known/jwks.json' },
  });
  expect(localAuthFromConfigFile(dir, principal)?.jwt?.tokenUse).toBeUndefined();
});
