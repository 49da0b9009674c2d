/**
 * The `auth` and `waf` settings on the whole app (fargate): IAM on the operator routes with a web ACL, and
 * a JWT authorizer on every route (an OIDC issuer's TOKEN authorizer; a Cognito user pool). Each synthesizes
 * with no unacknowledged cdk-nag or CloudFormation finding and passes cfn-lint.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { isOperatorRoute, OPERATOR_ROUTE_IDS } from '../../contract/auth';
import { ENV, NO_OPERATOR_KEYS } from '../../contract/env';
import { ROUTES } from '../../contract/routes';
import { describeWithTools } from '../support/external-tools';
import { cfnLint, isIgnored } from './cfn-lint';
import { type SynthResult, synthBackend } from './synth';

function once(synth: () => SynthResult): () => SynthResult {
  let result: SynthResult | undefined;
  return () => (result ??= synth());
}

const ISSUER = 'https://issuer.example.com/';
const iamWaf = once(() => synthBackend('fargate', { auth: { operatorRoutes: 'iam' }, waf: { rateLimit: 1000, managedRules: true } }));
const jwtAll = once(() =>
  synthBackend('fargate', { auth: { allRoutes: 'jwt', jwt: { issuer: ISSUER, audience: ['mlship-api'] } } } as never),
);
const cognitoOps = once(() =>
  synthBackend('fargate', {
    auth: { operatorRoutes: 'jwt', jwt: { userPoolArn: 'arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf' } },
  } as never),
);

function methodOf(r: SynthResult, id: string): Record<string, unknown> {
  const methods = r.templates.api.findResources('AWS::ApiGateway::Method', { Properties: { OperationName: id } });
  const [m] = Object.values(methods);
  if (m === undefined) throw new Error(`no method ${id}`);
  return m.Properties as Record<string, unknown>;
}

/** Every route's method has the authorization type `typeOf` gives it. */
function expectAuthorizationTypes(r: SynthResult, typeOf: (route: (typeof ROUTES)[number]) => string): void {
  for (const route of ROUTES)
    expect({ id: route.id, type: methodOf(r, route.id).AuthorizationType }).toEqual({ id: route.id, type: typeOf(route) });
}

function variableOf(r: SynthResult, fn: 'predict' | 'query' | 'feedback'): unknown {
  const logical = r.api.getLogicalId(r.api.functions[fn].function.node.defaultChild as never);
  return (r.templates.api.toJSON().Resources[logical].Properties.Environment.Variables as Record<string, unknown>)[ENV.OPERATOR_KEY_IDS];
}

describe.each([
  ['iam on operator routes, web ACL', iamWaf],
  ['jwt (OIDC issuer) on all routes', jwtAll],
  ['jwt (Cognito) on operator routes', cognitoOps],
])('%s', (_name, synth) => {
  it('synthesizes with zero unacknowledged cdk-nag or CloudFormation findings', () => {
    const r = synth();
    expect(r.synthError?.message).toBeUndefined();
    expect(r.violations).toEqual([]);
  });

  it('keeps the API key on every route that has one', () => {
    for (const route of ROUTES)
      expect({ id: route.id, key: methodOf(synth(), route.id).ApiKeyRequired }).toEqual({ id: route.id, key: route.apiKey });
  });
});

describe('iam on operator routes', () => {
  it('puts IAM on the operator routes only, and NONE on the others', () => {
    const r = iamWaf();
    expectAuthorizationTypes(r, (route) => (isOperatorRoute(route) ? 'AWS_IAM' : 'NONE'));
  });

  it('gives operator privilege only to the functions behind IAM (predict treats every key as a client)', () => {
    const r = iamWaf();
    expect(variableOf(r, 'predict')).toBe(NO_OPERATOR_KEYS);
    expect(variableOf(r, 'query')).not.toBe(NO_OPERATOR_KEYS);
    expect(variableOf(r, 'feedback')).not.toBe(NO_OPERATOR_KEYS);
  });

  it('offers a managed policy to call the operator routes, and tells the CLI the modes', () => {
    const t = iamWaf().templates.api;
    const policy = Object.values(t.findResources('AWS::IAM::ManagedPolicy'))[0];
    const statements = policy?.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown[] }[];
    expect(statements.map((s) => s.Action)).toEqual(['execute-api:Invoke']);
    expect(statements[0]?.Resource).toHaveLength(OPERATOR_ROUTE_IDS.length);
    t.hasOutput('ApiAuth', { Value: JSON.stringify({ operatorRoutes: 'iam', otherRoutes: 'apiKey' }) });
    t.hasOutput('ApiInvokePolicyArn', {});
  });

  it('answers an unsigned request with 403 FORBIDDEN naming both causes', () => {
    iamWaf().templates.api.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'MISSING_AUTHENTICATION_TOKEN',
      StatusCode: '403',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"FORBIDDEN".*SigV4') },
    });
  });

  it('puts a REGIONAL web ACL with a per-IP rate rule (429 THROTTLED) and the managed rules on the stage, logging blocks with keys redacted', () => {
    const t = iamWaf().templates.api;
    t.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: Match.arrayWith([
        Match.objectLike({
          Name: 'RateLimitPerIp',
          Action: { Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: 'throttled' } } },
          Statement: { RateBasedStatement: { Limit: 1000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
        }),
        Match.objectLike({
          Name: 'AWSManagedRulesCommonRuleSet',
          Statement: {
            ManagedRuleGroupStatement: Match.objectLike({
              RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
            }),
          },
        }),
      ]),
      CustomResponseBodies: { throttled: Match.objectLike({ Content: Match.stringLikeRegexp('"THROTTLED"') }) },
    });
    t.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    t.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
      RedactedFields: [{ SingleHeader: { Name: 'x-api-key' } }, { SingleHeader: { Name: 'authorization' } }],
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: Match.stringLikeRegexp('^aws-waf-logs-') });
  });
});

describe('jwt on all routes (OIDC issuer)', () => {
  it('checks tokens with a TOKEN authorizer function on every key route, its answers cached 5 minutes', () => {
    const r = jwtAll();
    const t = r.templates.api;
    t.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.authorization',
      AuthorizerResultTtlInSeconds: 300,
    });
    expectAuthorizationTypes(r, (route) => (route.apiKey ? 'CUSTOM' : 'NONE'));
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.JWT_ISSUER]: ISSUER,
          [ENV.JWT_AUDIENCE]: 'mlship-api',
          [ENV.JWT_JWKS_URI]: 'https://issuer.example.com/.well-known/jwks.json',
        }),
      },
    });
    // Every route behind a token: operators keep their privilege everywhere.
    expect(variableOf(r, 'predict')).not.toBe(NO_OPERATOR_KEYS);
  });
});

describe('jwt on operator routes (Cognito)', () => {
  it("uses API Gateway's user-pools authorizer on the operator routes, and no authorizer function", () => {
    const r = cognitoOps();
    const t = r.templates.api;
    t.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'COGNITO_USER_POOLS',
      ProviderARNs: ['arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf'],
    });
    expectAuthorizationTypes(r, (route) => (isOperatorRoute(route) ? 'COGNITO_USER_POOLS' : 'NONE'));
    t.hasResourceProperties('AWS::ApiGateway::GatewayResponse', { ResponseType: 'UNAUTHORIZED', StatusCode: '401' });
    const issuers = Object.values(t.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.[ENV.JWT_ISSUER],
    );
    expect(issuers).toEqual([]);
  });
});

describeWithTools(['cfn-lint'], 'cfn-lint over the auth variants', () => {
  it('finds no error or warning apart from the acknowledged false positives', () => {
    const findings = cfnLint([iamWaf(), jwtAll(), cognitoOps()].map((r) => r.app.outdir));
    expect(findings.filter((f) => !isIgnored(f))).toEqual([]);
  }, 180_000);
});
