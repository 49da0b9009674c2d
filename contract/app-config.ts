/**
 * The parts of `mlship.config.json` that the local system reads too: the file's name, and the `auth`
 * setting (docs/auth.md), which the CDK app (lib/config.ts, where every other key is) deploys and `npm start`
 * enforces alike. Apart from contract/auth.ts so that the functions that only need the modes do not
 * bundle the schema library.
 */
import { z } from 'zod';
import { API_KEY_ONLY, AUTH_MODES, COGNITO_USER_POOL_ARN, type RouteAuthModes } from './auth';

/** The app's configuration file, at the repository root. */
export const CONFIG_FILE = 'mlship.config.json';

/** An https URL (an issuer or a JWKS address: API Gateway and the authorizer fetch them over TLS only). */
const httpsUrl = z.url({ protocol: /^https$/, error: 'an https:// URL' });

/** The `jwt` key of `auth`: any OIDC issuer (`issuer`, `audience`, `jwksUri`) or a Cognito user pool (`userPoolArn`). */
export const jwtSchema = z
  .object({
    /** The tokens' `iss`, exactly as they carry it. */
    issuer: httpsUrl.optional(),
    /** The `aud` (or `client_id`) the tokens must carry: one value or a list. */
    audience: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1, { error: 'at least one audience' })], {
        error: 'a string or a non-empty list of strings',
      })
      .transform((a) => (Array.isArray(a) ? a : [a]))
      .optional(),
    /** Where the issuer publishes its signing keys. @default `<issuer>/.well-known/jwks.json` */
    jwksUri: httpsUrl.optional(),
    /** A Cognito user pool: API Gateway's own user-pools authorizer checks its ID tokens. */
    userPoolArn: z
      .string()
      .regex(COGNITO_USER_POOL_ARN, 'a Cognito user pool ARN (arn:aws:cognito-idp:<region>:<account>:userpool/<id>)')
      .optional(),
  })
  .strict();

/**
 * The `auth` key (docs/auth.md): what operator routes and all other routes with a key ask for besides the
 * key. `allRoutes` sets every route with a key; `operatorRoutes` (default: `allRoutes`) the operator routes.
 */
export const authSchema = z
  .object({
    operatorRoutes: z.enum(AUTH_MODES).optional(),
    allRoutes: z.enum(AUTH_MODES).optional(),
    jwt: jwtSchema.optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    const all = a.allRoutes ?? 'apiKey';
    const operator = a.operatorRoutes ?? all;
    if (operator === 'apiKey' && all !== 'apiKey')
      ctx.addIssue({
        code: 'custom',
        path: ['operatorRoutes'],
        message: `iam or jwt with allRoutes "${all}": operator routes are never the weakest`,
      });
    const usesJwt = operator === 'jwt' || all === 'jwt';
    const jwt = a.jwt;
    if (usesJwt && jwt === undefined)
      ctx.addIssue({ code: 'custom', path: ['jwt'], message: 'the token issuer: {"issuer", "audience"} or {"userPoolArn"}' });
    if (!usesJwt && jwt !== undefined)
      ctx.addIssue({ code: 'custom', path: ['jwt'], message: 'nothing: no route uses jwt (set operatorRoutes or allRoutes to "jwt")' });
    if (jwt === undefined) return;
    if (jwt.userPoolArn !== undefined && (jwt.issuer ?? jwt.audience ?? jwt.jwksUri) !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['jwt'],
        message: 'either userPoolArn (Cognito) or issuer and audience (any OIDC issuer), not both',
      });
    if (jwt.userPoolArn === undefined && jwt.issuer === undefined)
      ctx.addIssue({ code: 'custom', path: ['jwt', 'issuer'], message: 'an https:// URL (or give userPoolArn instead)' });
    if (jwt.issuer !== undefined && jwt.audience === undefined)
      ctx.addIssue({ code: 'custom', path: ['jwt', 'audience'], message: 'the aud your tokens carry (a string or a list)' });
  });

export type AuthSetting = z.infer<typeof authSchema>;

/** The modes of the routes under an `auth` setting: the key alone without one. */
export function authModesOfSetting(auth: AuthSetting | undefined): RouteAuthModes {
  if (auth === undefined) return API_KEY_ONLY;
  const otherRoutes = auth.allRoutes ?? API_KEY_ONLY.otherRoutes;
  return { operatorRoutes: auth.operatorRoutes ?? otherRoutes, otherRoutes };
}
