/**
 * The auth contract (docs/auth.md): which routes are operator routes, which mode each route gets, which
 * functions keep operator privilege, and `npm start` reading the same `auth` setting as the CDK app.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_KEY_ONLY,
  authModeOf,
  bearerTokenOf,
  cognitoIssuerOf,
  OPERATOR_ROUTE_IDS,
  operatorHandlers,
  operatorPrivilegeOf,
} from '../../contract/auth';
import { ROUTES } from '../../contract/routes';
import { localAuthFromConfigFile } from '../../local/auth/config-auth';
import { LOCAL_NAMES, S3RVER_CREDENTIALS } from '../../local/paths';

describe('operator routes', () => {
  it('are exactly the routes of the functions that read the prediction log (query and feedback), all behind a key', () => {
    const logReaders = ROUTES.filter((r) => r.handler === 'query' || r.handler === 'feedback').map((r) => r.id);
    expect([...OPERATOR_ROUTE_IDS].sort()).toEqual(logReaders.sort());
    for (const id of OPERATOR_ROUTE_IDS) expect(ROUTES.find((r) => r.id === id)?.apiKey).toBe(true);
  });

  it('take their mode from operatorRoutes, other key routes from otherRoutes, public routes none', () => {
    const modes = { operatorRoutes: 'iam', otherRoutes: 'jwt' } as const;
    const byId = Object.fromEntries(ROUTES.map((r) => [r.id, authModeOf(r, modes)]));
    expect(byId).toMatchObject({
      listPredictions: 'iam',
      metricsSummary: 'iam',
      predict: 'jwt',
      getModel: 'jwt',
      health: 'none',
      dashboard: 'none',
    });
  });
});

describe('operator privilege', () => {
  it('stays with every function under the keys alone', () => {
    expect(operatorHandlers(API_KEY_ONLY)).toEqual(['predict', 'query', 'feedback', 'meta']);
  });

  it('leaves predict when only the operator routes ask for more than the key', () => {
    const modes = { operatorRoutes: 'jwt', otherRoutes: 'apiKey' } as const;
    expect(operatorPrivilegeOf('predict', modes)).toBe(false);
    expect(operatorPrivilegeOf('query', modes)).toBe(true);
    expect(operatorPrivilegeOf('feedback', modes)).toBe(true);
    expect(operatorPrivilegeOf('predict', { operatorRoutes: 'jwt', otherRoutes: 'iam' })).toBe(true);
  });
});

describe('helpers', () => {
  it('read a bearer token and a Cognito issuer', () => {
    expect(bearerTokenOf('Bearer a.b.c')).toBe('a.b.c');
    expect(bearerTokenOf('bearer  a.b-_c')).toBe('a.b-_c');
    expect(bearerTokenOf('Basic a')).toBeUndefined();
    expect(bearerTokenOf('Bearer a b')).toBeUndefined();
    expect(cognitoIssuerOf('arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC')).toBe(
      'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC',
    );
  });
});

describe('npm start reads the auth setting of mlship.config.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlship-auth-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const principal = { credentials: S3RVER_CREDENTIALS, region: LOCAL_NAMES.region };
  const withAuth = (auth: unknown) => {
    writeFileSync(join(dir, 'mlship.config.json'), JSON.stringify({ backend: 'fargate', ...(auth === undefined ? {} : { auth }) }));
    return localAuthFromConfigFile(dir, principal);
  };

  it('gives nothing without the file, the key, or with the keys alone', () => {
    expect(localAuthFromConfigFile(join(dir, 'missing'), principal)).toBeUndefined();
    expect(withAuth(undefined)).toBeUndefined();
    expect(withAuth({ allRoutes: 'apiKey' })).toBeUndefined();
  });

  it('gives the modes, the issuer (a Cognito pool by its ARN, its ID tokens only) and the local principal', () => {
    expect(withAuth({ operatorRoutes: 'jwt', jwt: { issuer: 'https://id.example.com', audience: 'api' } })).toEqual({
      modes: { operatorRoutes: 'jwt', otherRoutes: 'apiKey' },
      iam: principal,
      jwt: { issuer: 'https://id.example.com', audience: ['api'], jwksUri: 'https://id.example.com/.well-known/jwks.json' },
    });
    expect(
      withAuth({ allRoutes: 'jwt', jwt: { userPoolArn: 'arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_X1' } })?.jwt,
    ).toEqual({
      issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X1',
      audience: [],
      jwksUri: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X1/.well-known/jwks.json',
      // API Gateway's user-pools authorizer without OAuth scopes takes ID tokens, of any app client of the pool.
      tokenUse: 'id',
    });
  });

  it('refuses a bad setting as the CDK app does, naming the key', () => {
    expect(() => withAuth({ operatorRoutes: 'jwt' })).toThrow(/mlship\.config\.json: auth\.jwt: the token issuer/);
  });
});
