/**
 * The inference API as one construct: a regional REST API with one method per route of the route table
 * (contract/routes.ts), each integrated with the function serving its handler; the stage's access log,
 * tracing and throttling; the client key with its usage plan (throttle and daily quota) and the operator
 * keys with theirs (throttle only); and the gateway responses that give API Gateway's own answers the
 * contract's error body and codes.
 *
 * Logical IDs: the REST API (`InferenceApi`), its access log (`AccessLogs`) and the operator keys
 * (`OperatorKey-<name>`) are this construct's children under the ids the Api stack gave them before the
 * construct existed. The Api stack adds the construct with the id `Default`, which CDK leaves out of
 * logical IDs (aws-cdk-lib core/lib/private/uniqueid.ts), so a deployed API, its keys and its log group keep
 * their logical IDs. Another app gives it any id; its resources are then named below that id.
 */
import { Fn, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_KEY_ONLY, authModeOf, isOperatorRoute } from '../../contract/auth';
import { HANDLERS, type HandlerName, ROUTES } from '../../contract/routes';
import { ApiWebAcl } from './api-web-acl';
import { addGatewayResponses } from './gateway-responses';
import { methodAuthOptions, modesOf, type RouteAuthorization } from './route-authorization';

export interface InferenceApiProps {
  /** The function serving each handler of the route table. */
  readonly handlers: Record<HandlerName, lambda.IFunction>;
  /** The stage's name, the first path segment of every URL. */
  readonly stageName: string;
  /** Requests per second, for the stage and each usage plan. */
  readonly throttleRateLimit: number;
  /** Burst of requests, for the stage and each usage plan; at least `throttleRateLimit`. */
  readonly throttleBurstLimit: number;
  /** Requests a day the client key may make. */
  readonly quotaPerDay: number;
  /**
   * Names of the operator keys (they read every prediction and the metrics), one key each, in the operator
   * usage plan. Their ids are `operatorKeyIds`, which the query and feedback functions tell apart by.
   * @default - no operator keys
   */
  readonly operatorKeyNames?: readonly string[];
  /** Name of the operators' usage plan. @default - a name CloudFormation generates */
  readonly operatorUsagePlanName?: string;
  /** Retention of the stage's access log and execution log. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the access and execution logs when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * What the operator routes and the other routes with a key ask for besides the key: IAM or a JWT
   * authorizer (`routeAuthorization()`, docs/auth.md). The keys stay required: they meter and tell operators apart.
   * @default - the API key alone on every route
   */
  readonly authorization?: RouteAuthorization;
  /**
   * An AWS WAF web ACL on the stage: `rateLimit` requests per 5 minutes per IP address, and AWS's managed
   * rule sets unless `managedRules` is false (`ApiWebAcl`).
   * @default - no web ACL
   */
  readonly waf?: { readonly rateLimit: number; readonly managedRules?: boolean };
}

export class InferenceApi extends Construct {
  /** The REST API built from the route table. */
  public readonly api: apigw.RestApi;
  /** The client key: it reads and gives feedback on its own predictions only. */
  public readonly apiKey: apigw.IApiKey;
  /** The clients' usage plan (throttle and daily quota). */
  public readonly usagePlan: apigw.UsagePlan;
  /** Keys of the operator usage plan, in the order of `operatorKeyNames`. */
  public readonly operatorKeys: apigw.IApiKey[];
  /** The operator keys' ids, comma-separated: the value of `MLSHIP_OPERATOR_KEY_IDS`. */
  public readonly operatorKeyIds: string;
  /** The operators' usage plan (throttle, no quota). */
  public readonly operatorUsagePlan: apigw.UsagePlan;
  /** The stage's access log. */
  public readonly accessLogs: logs.LogGroup;
  /** The stage's execution log (`API-Gateway-Execution-Logs_<restApiId>/<stage>`), with the retention. */
  public readonly executionLogs: logs.LogGroup;
  /** The web ACL on the stage, when `waf` is given. */
  public readonly webAcl?: ApiWebAcl;
  private readonly authorization: RouteAuthorization;

  constructor(scope: Construct, id: string, props: InferenceApiProps) {
    super(scope, id);
    checkInferenceApiProps(props);
    const throttle = { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit };
    this.authorization = props.authorization ?? { operatorRoutes: { mode: 'apiKey' }, otherRoutes: { mode: 'apiKey' } };
    const modes = props.authorization ? modesOf(props.authorization) : API_KEY_ONLY;

    // Operator keys are made apart from the API's stage (their usage plan binds them to it), so the
    // functions can be given their ids without a dependency cycle through the deployment.
    this.operatorKeys = (props.operatorKeyNames ?? []).map(
      (name) => new apigw.ApiKey(this, `OperatorKey-${name}`, { description: `mlship operator key "${name}"`, enabled: true }),
    );
    this.operatorKeyIds = Fn.join(
      ',',
      this.operatorKeys.map((k) => k.keyId),
    );

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.api = new apigw.RestApi(this, 'InferenceApi', {
      description: 'mlship inference API',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // API Gateway needs an account-level role to write execution logs (one per region).
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: props.stageName,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        // Bodies hold model inputs: never copy them into execution logs.
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
      },
    });
    // API Gateway writes the execution log (level ERROR) to a group of this name, creating it without an
    // expiry if it does not exist: made here first, with the retention, before the stage can log.
    this.executionLogs = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${props.stageName}`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.api.deploymentStage.node.addDependency(this.executionLogs);
    const validator = this.api.addRequestValidator('Parameters', { validateRequestParameters: true, validateRequestBody: true });

    const integrations = new Map(HANDLERS.map((h) => [h, new apigw.LambdaIntegration(props.handlers[h], { allowTestInvoke: false })]));
    for (const route of ROUTES) {
      const resource = this.api.root.resourceForPath(route.path);
      const pathParams = route.path.match(/\{[^}]+\}/g)?.map((p) => p.slice(1, -1)) ?? [];
      const auth =
        authModeOf(route, modes) === 'none'
          ? undefined
          : isOperatorRoute(route)
            ? this.authorization.operatorRoutes
            : this.authorization.otherRoutes;
      resource.addMethod(route.method, integrations.get(route.handler), {
        operationName: route.id,
        apiKeyRequired: route.apiKey,
        ...(auth ? methodAuthOptions(auth) : {}),
        requestParameters: Object.fromEntries(pathParams.map((p) => [`method.request.path.${p}`, true])),
        requestValidator: pathParams.length > 0 ? validator : undefined,
      });
    }
    const uses = (mode: string) => modes.operatorRoutes === mode || modes.otherRoutes === mode;
    addGatewayResponses(this.api, { iam: uses('iam'), jwt: uses('jwt'), waf: props.waf !== undefined });

    this.apiKey = this.api.addApiKey('ApiKey', { description: 'mlship default API key' });
    this.usagePlan = this.api.addUsagePlan('UsagePlan', {
      throttle,
      quota: { limit: props.quotaPerDay, period: apigw.Period.DAY },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    this.usagePlan.addApiKey(this.apiKey);
    this.operatorUsagePlan = this.api.addUsagePlan('OperatorUsagePlan', {
      name: props.operatorUsagePlanName,
      description: 'Operator keys: every prediction and the metrics',
      throttle,
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    for (const key of this.operatorKeys) this.operatorUsagePlan.addApiKey(key);

    if (props.waf) {
      this.webAcl = new ApiWebAcl(this, 'WebAcl', {
        stage: this.api.deploymentStage,
        rateLimit: props.waf.rateLimit,
        managedRules: props.waf.managedRules,
        logRetention: props.logRetention,
        removalPolicy: props.removalPolicy,
      });
    } else {
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'No WAF unless the `waf` setting asks for one: it costs from $5/month plus rules; API keys, the usage plan and stage throttling bound abuse (docs/auth.md).',
      });
    }
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Every data route takes an API key (metering, operator or client), with IAM or a JWT authorizer where `auth` asks for one (docs/auth.md); health, OpenAPI and the dashboard page (which holds no data) are public on purpose.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Routes without a Cognito authorizer authenticate with API keys, IAM or a JWT authorizer of any OIDC issuer, as `auth` configures (docs/auth.md).',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: "The API Gateway account role uses AWS's AmazonAPIGatewayPushToCloudWatchLogs, the documented policy for execution logs.",
      },
    );
  }

  /**
   * Lets `grantee` call the routes of `scope` with IAM authorization (SigV4, `execute-api:Invoke` on their
   * methods of this stage). It grants the call, not the data: the caller's API key still decides between
   * an operator's view and a client's.
   */
  public grantInvoke(grantee: iam.IGrantable, scope: InvokeScope = 'operatorRoutes'): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: this.invokeArns(scope) });
  }

  /** The statement `grantInvoke` adds, for a policy of its own (a managed policy operators attach). */
  public invokeStatement(scope: InvokeScope = 'operatorRoutes'): iam.PolicyStatement {
    return new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: this.invokeArns(scope) });
  }

  private invokeArns(scope: InvokeScope): string[] {
    const stage = this.api.deploymentStage.stageName;
    return ROUTES.filter((r) => r.apiKey && (scope === 'allRoutes' || isOperatorRoute(r))).map((r) =>
      // A path parameter is one segment: `*` stands for it.
      this.api.arnForExecuteApi(r.method, r.path.replace(/\{[^}]+\}/g, '*'), stage),
    );
  }
}

/** Which routes an IAM grant covers: the operator routes, or every route with a key. */
export type InvokeScope = 'operatorRoutes' | 'allRoutes';

/** Every problem with the props, in one error, each saying how to fix it. */
function checkInferenceApiProps(props: InferenceApiProps): void {
  const problems: string[] = [];
  const missing = HANDLERS.filter((h) => props.handlers[h] === undefined);
  if (missing.length)
    problems.push(`\`handlers\` has no function for ${missing.join(', ')}: give one for every handler of the route table.`);
  const { throttleRateLimit: rate, throttleBurstLimit: burst, quotaPerDay } = props;
  if (!Token.isUnresolved(rate) && !Token.isUnresolved(burst) && burst < rate) {
    problems.push(`\`throttleBurstLimit\` (${burst}) is below \`throttleRateLimit\` (${rate}): raise the burst to at least the rate.`);
  }
  if (!Token.isUnresolved(quotaPerDay) && !(Number.isInteger(quotaPerDay) && quotaPerDay > 0)) {
    problems.push(`\`quotaPerDay\` must be a whole number above 0; got ${quotaPerDay}.`);
  }
  const names = props.operatorKeyNames ?? [];
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length)
    problems.push(`\`operatorKeyNames\` repeats ${[...new Set(repeated)].join(', ')}: give each operator key its own name.`);
  if (problems.length) throw new Error(`InferenceApi:\n  - ${problems.join('\n  - ')}`);
}
