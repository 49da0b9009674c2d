/**
 * InferenceApi: one method per route of the route table on the function of its handler, the client and
 * operator usage plans, the gateway responses; the same logical IDs as the Api stack's own resources had;
 * validation that says how to fix the props.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { OPERATOR_ROUTE_IDS } from '../../contract/auth';
import { HANDLERS, type HandlerName, ROUTES } from '../../contract/routes';
import { InferenceApi, type InferenceApiProps } from '../../lib';
import { GATEWAY_ERRORS } from '../../lib/api/gateway-responses';
import { constructStack, logicalIdIn } from '../support/construct-stack';

function fixture(overrides: Partial<InferenceApiProps> = {}, id = 'Api') {
  const { stack } = constructStack();
  const fn = (h: HandlerName) =>
    new lambda.Function(stack, `Fn-${h}`, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
    });
  const handlers: Record<HandlerName, lambda.IFunction> = {
    predict: fn('predict'),
    query: fn('query'),
    feedback: fn('feedback'),
    meta: fn('meta'),
  };
  // Every handler of the route table has its function.
  expect(Object.keys(handlers).sort()).toEqual([...HANDLERS].sort());
  const props: InferenceApiProps = {
    handlers,
    stageName: 'prod',
    throttleRateLimit: 50,
    throttleBurstLimit: 100,
    quotaPerDay: 1000,
    operatorKeyNames: ['ops', 'oncall'],
    operatorUsagePlanName: 'operators',
    logRetention: logs.RetentionDays.ONE_WEEK,
    removalPolicy: RemovalPolicy.DESTROY,
    ...overrides,
  };
  return { stack, handlers, props, make: () => new InferenceApi(stack, id, props) };
}

test('one method per route of the route table, integrated with the function of its handler', () => {
  // GIVEN
  const { stack, handlers, make } = fixture();
  // WHEN
  const api = make();
  // THEN
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::ApiGateway::Method', ROUTES.length);
  for (const route of ROUTES) {
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: route.method,
      OperationName: route.id,
      ApiKeyRequired: route.apiKey,
      Integration: Match.objectLike({
        Uri: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [logicalIdIn(handlers[route.handler]), 'Arn'] }])] }),
      }),
    });
  }
  t.hasResourceProperties('AWS::ApiGateway::Stage', {
    StageName: 'prod',
    TracingEnabled: true,
    AccessLogSetting: Match.objectLike({ DestinationArn: stack.resolve(api.accessLogs.logGroupArn) }),
    MethodSettings: [Match.objectLike({ DataTraceEnabled: false, ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 })],
  });
  t.resourceCountIs('AWS::ApiGateway::GatewayResponse', GATEWAY_ERRORS.length);
});

test('a client key in a plan with a daily quota, and one key per operator name in a plan without one', () => {
  // GIVEN / WHEN
  const { stack, make } = fixture();
  const api = make();
  // THEN
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::ApiGateway::ApiKey', 3);
  t.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
    Quota: { Limit: 1000, Period: 'DAY' },
    Throttle: { RateLimit: 50, BurstLimit: 100 },
  });
  t.hasResourceProperties('AWS::ApiGateway::UsagePlan', { UsagePlanName: 'operators', Quota: Match.absent() });
  for (const key of api.operatorKeys) {
    t.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
      KeyId: stack.resolve(key.keyId),
      UsagePlanId: stack.resolve(api.operatorUsagePlan.usagePlanId),
    });
  }
  // The functions tell operator keys apart by these ids.
  expect(stack.resolve(api.operatorKeyIds)).toEqual({ 'Fn::Join': [',', api.operatorKeys.map((k) => stack.resolve(k.keyId))] });
});

test("with the id 'Default' its resources keep the logical IDs they had as the stack's own children", () => {
  // GIVEN the construct as the Api stack adds it, and the same resources declared directly in another stack
  const { make } = fixture({ operatorKeyNames: ['operator'] }, 'Default');
  const api = make();
  const before = new Stack(undefined, 'Before');
  const restApi = new apigw.RestApi(before, 'InferenceApi');
  restApi.root.addMethod('GET');
  const key = new apigw.ApiKey(before, 'OperatorKey-operator');
  const accessLogs = new logs.LogGroup(before, 'AccessLogs');
  // THEN
  expect([api.api, api.operatorKeys[0], api.accessLogs].map(logicalIdIn)).toEqual([restApi, key, accessLogs].map(logicalIdIn));
});

test('refuses a missing handler, a burst below the rate, a bad quota and a repeated operator name, in one error', () => {
  // GIVEN
  const { handlers, make } = fixture({ throttleBurstLimit: 10, quotaPerDay: 0, operatorKeyNames: ['ops', 'ops'] });
  delete (handlers as Partial<Record<HandlerName, lambda.IFunction>>).meta;
  // WHEN
  let error: Error | undefined;
  try {
    make();
  } catch (e) {
    error = e as Error;
  }
  // THEN
  expect(error?.message).toMatch(/`handlers` has no function for meta: give one for every handler of the route table/);
  expect(error?.message).toMatch(/`throttleBurstLimit` \(10\) is below `throttleRateLimit` \(50\): raise the burst/);
  expect(error?.message).toMatch(/`quotaPerDay` must be a whole number above 0; got 0/);
  expect(error?.message).toMatch(/`operatorKeyNames` repeats ops: give each operator key its own name/);
});

describe('auth beyond the key (docs/auth.md)', () => {
  it('grants execute-api:Invoke on the operator routes, or on every route with a key, of this stage', () => {
    // GIVEN
    const { stack, make } = fixture({ authorization: { operatorRoutes: { mode: 'iam' }, otherRoutes: { mode: 'apiKey' } } });
    const api = make();
    const ops = new iam.Role(stack, 'Ops', { assumedBy: new iam.AccountRootPrincipal() });
    const all = new iam.Role(stack, 'All', { assumedBy: new iam.AccountRootPrincipal() });
    // WHEN
    api.grantInvoke(ops);
    api.grantInvoke(all, 'allRoutes');
    // THEN
    const t = Template.fromStack(stack);
    const resourcesOf = (role: iam.Role) => {
      const policy = Object.values(t.findResources('AWS::IAM::Policy')).find((p) =>
        (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === logicalIdIn(role)),
      );
      const [statement] = (policy?.Properties.PolicyDocument.Statement ?? []) as { Action: string; Resource: unknown[] }[];
      expect(statement?.Action).toBe('execute-api:Invoke');
      return (statement?.Resource ?? []).map((r) => JSON.stringify(r));
    };
    expect(resourcesOf(ops)).toHaveLength(OPERATOR_ROUTE_IDS.length);
    expect(resourcesOf(ops).some((r) => r.includes('/GET/predictions/*'))).toBe(true);
    expect(resourcesOf(all)).toHaveLength(ROUTES.filter((r) => r.apiKey).length);
  });

  it('puts the web ACL on the stage only once the stage exists, and answers blocked requests in the contract body', () => {
    // GIVEN / WHEN
    const { stack, make } = fixture({ waf: { rateLimit: 500 } });
    make();
    // THEN
    const t = Template.fromStack(stack);
    const [association] = Object.values(t.findResources('AWS::WAFv2::WebACLAssociation'));
    const [stageId] = Object.keys(t.findResources('AWS::ApiGateway::Stage'));
    expect(JSON.stringify(association?.Properties.ResourceArn)).toContain(JSON.stringify({ Ref: stageId }));
    t.hasResourceProperties('AWS::ApiGateway::GatewayResponse', { ResponseType: 'WAF_FILTERED', StatusCode: '403' });
    expect(() => fixture({ waf: { rateLimit: 10 } }, 'Other').make()).toThrow(/`rateLimit` must be a whole number from 100/);
  });
});
