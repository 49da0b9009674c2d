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
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLERS, type HandlerName, ROUTES } from '../../contract/routes';
import { addGatewayResponses } from './gateway-responses';

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

  constructor(scope: Construct, id: string, props: InferenceApiProps) {
    super(scope, id);
    checkInferenceApiProps(props);
    const throttle = { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit };

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
      resource.addMethod(route.method, integrations.get(route.handler), {
        operationName: route.id,
        apiKeyRequired: route.apiKey,
        requestParameters: Object.fromEntries(pathParams.map((p) => [`method.request.path.${p}`, true])),
        requestValidator: pathParams.length > 0 ? validator : undefined,
      });
    }
    addGatewayResponses(this.api);

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

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'No WAF by default: it costs from $5/month plus rules; API keys, the usage plan and stage throttling bound abuse. Attach a web ACL for public production use.',
      },
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Callers are identified by API key and limited by the usage plan; health, OpenAPI and the dashboard page (which holds no data and asks for the key) are public on purpose.',
      },
      { id: 'AwsSolutions-COG4', reason: 'No Cognito user pool: machine clients authenticate with API keys.' },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: "The API Gateway account role uses AWS's AmazonAPIGatewayPushToCloudWatchLogs, the documented policy for execution logs.",
      },
    );
  }
}

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
