/**
 * The inference API: a REST API built from the route table, one Lambda function per privilege level
 * (predict, query, feedback, meta), API key + usage plan, access logs and tracing. The meta function also
 * serves the web dashboard on the API's own origin (no CORS, no second distribution to secure). Each function's role
 * names exactly the table actions, bucket prefixes, queue and model it uses.
 */
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { athenaWorkgroupName, glueDatabaseName } from '../contract/analytics';
import { ANALYTICS_OFF, ENV } from '../contract/env';
import { HANDLERS, type HandlerName, ROUTES } from '../contract/routes';
import { addGatewayResponses } from './api/gateway-responses';
import type { MlshipConfig } from './config';
import { importDataBucket } from './constructs/data-bucket-import';
import { DataBucketAccess, LogDlqAccess, PredictionLogAccess } from './constructs/data-grants';
import { HandlerFunction } from './constructs/handler-function';
import type { DeploymentContext } from './deployment-context';
import type { ModelBackend } from './serving/model-backend';

export interface ApiStackProps extends StackProps {
  /** The validated configuration (stage, throttling, quota, operator keys, prediction TTL). */
  readonly config: MlshipConfig;
  /** Paths, backend, log retention and removal policy, derived once from the config. */
  readonly deployment: DeploymentContext;
  /** Export name of the data bucket ARN (DataStack.bucketArnExport). */
  readonly bucketArnExport: string;
  /** The prediction log (DataStack `table`). */
  readonly table: dynamodb.ITable;
  /** Queue of log records the table refused (DataStack `logDlq`). */
  readonly logDlq: sqs.IQueue;
  /** The serving backend the predict function calls (ServingStack `modelBackend`). */
  readonly modelBackend: ModelBackend;
  /** Absolute folder of the built web dashboard (`web/dist`), bundled beside the meta function. */
  readonly dashboardDir: string;
}

export class ApiStack extends Stack {
  /** The REST API built from the route table. */
  public readonly api: apigw.RestApi;
  /** The client key: it reads and gives feedback on its own predictions only. */
  public readonly apiKey: apigw.IApiKey;
  /** The clients' usage plan (throttle and daily quota). */
  public readonly usagePlan: apigw.UsagePlan;
  /** Keys of the operator usage plan: every prediction and the metrics. */
  public readonly operatorKeys: apigw.IApiKey[];
  /** The operators' usage plan (throttle, no quota). */
  public readonly operatorUsagePlan: apigw.UsagePlan;
  /** The stage's access log. */
  public readonly accessLogs: logs.LogGroup;
  /** The API's functions by name. */
  public readonly functions: Record<HandlerName, HandlerFunction>;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, deployment, table, logDlq, modelBackend } = props;
    const data = importDataBucket(this, 'DataBucket', props.bucketArnExport);
    const bucket = data.bucket;
    const { removalPolicy, logRetention } = deployment;

    const predict = new HandlerFunction(this, 'Predict', {
      name: 'predict',
      deployment,
      memorySize: 1024,
      // Two backend attempts with backoff fit in API Gateway's 29 s; the function must outlive them.
      timeout: Duration.seconds(29),
      environment: { [ENV.BACKEND]: config.backend, [ENV.LOG_TTL_DAYS]: String(config.predictionTtlDays) },
      vpc: modelBackend.clientVpc,
      securityGroups: modelBackend.clientSecurityGroups,
    });
    // Operator keys are made apart from the API's stage (their usage plan binds them to it), so the
    // functions can be given their ids without a dependency cycle through the deployment.
    this.operatorKeys = config.operatorKeyNames.map(
      (name) => new apigw.ApiKey(this, `OperatorKey-${name}`, { description: `mlship operator key "${name}"`, enabled: true }),
    );
    const tenancy = {
      [ENV.OPERATOR_KEY_IDS]: Fn.join(
        ',',
        this.operatorKeys.map((k) => k.keyId),
      ),
    };
    predict.setVariable(ENV.OPERATOR_KEY_IDS, tenancy[ENV.OPERATOR_KEY_IDS]);
    const query = new HandlerFunction(this, 'Query', {
      name: 'query',
      deployment,
      // Summary windows over 24 h wait for Athena: the function may use all of API Gateway's 29 s.
      timeout: Duration.seconds(29),
      environment: {
        ...tenancy,
        // Names, not references: the Analytics stack grants this role (AnalyticsStack.grantQuery) and may be left out.
        [ENV.ANALYTICS_WORKGROUP]: config.analytics ? athenaWorkgroupName(config.stackPrefix) : ANALYTICS_OFF,
        [ENV.ANALYTICS_DATABASE]: config.analytics ? glueDatabaseName(config.stackPrefix) : ANALYTICS_OFF,
      },
    });
    const feedback = new HandlerFunction(this, 'Feedback', { name: 'feedback', deployment, environment: tenancy });
    // meta also reads the model's baseline and the dashboard files, which HandlerFunction bundles beside it.
    const meta = new HandlerFunction(this, 'Meta', {
      name: 'meta',
      deployment,
      memorySize: 256,
      dashboardDir: props.dashboardDir,
      environment: { [ENV.BACKEND]: config.backend },
    });
    this.functions = { predict, query, feedback, meta };

    // predict: write log items; read, update and delete only its idempotency records (ids `idem#...`).
    predict.bindPredictionLog(table, PredictionLogAccess.WRITE, PredictionLogAccess.IDEMPOTENCY);
    predict.bindLogDlq(logDlq, LogDlqAccess.SEND);
    // Large inputs are stored and read under predictions/, referenced instances under datasets/ (acknowledged by the binding).
    predict.bindDataBucket(bucket, DataBucketAccess.WRITE_PREDICTION_INPUTS, DataBucketAccess.READ_PREDICTION_INPUTS);
    predict.bindModel(modelBackend);
    // query: reads only (operators the model's index, a client key its own partition of the caller index).
    query.bindPredictionLog(table, PredictionLogAccess.READ_ITEM, PredictionLogAccess.QUERY);
    // feedback: reads a prediction and sets its label.
    feedback.bindPredictionLog(table, PredictionLogAccess.LABEL);
    // meta: serves the bundled manifest, baseline, route table and dashboard; it needs no permission.

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy });
    this.api = new apigw.RestApi(this, 'InferenceApi', {
      description: 'mlship inference API',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // API Gateway needs an account-level role to write execution logs (one per region).
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: config.stageName,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        // Bodies hold model inputs: never copy them into execution logs.
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        throttlingRateLimit: config.apiThrottleRateLimit,
        throttlingBurstLimit: config.apiThrottleBurstLimit,
      },
    });
    const validator = this.api.addRequestValidator('Parameters', { validateRequestParameters: true, validateRequestBody: true });

    const integrations = new Map(
      HANDLERS.map((h) => [h, new apigw.LambdaIntegration(this.functions[h].function, { allowTestInvoke: false })]),
    );
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
      throttle: { rateLimit: config.apiThrottleRateLimit, burstLimit: config.apiThrottleBurstLimit },
      quota: { limit: config.apiQuotaPerDay, period: apigw.Period.DAY },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    this.usagePlan.addApiKey(this.apiKey);
    this.operatorUsagePlan = this.api.addUsagePlan('OperatorUsagePlan', {
      name: config.operatorUsagePlanName,
      description: 'Operator keys: every prediction and the metrics',
      throttle: { rateLimit: config.apiThrottleRateLimit, burstLimit: config.apiThrottleBurstLimit },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    for (const key of this.operatorKeys) this.operatorUsagePlan.addApiKey(key);

    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('ApiUrl', this.api.url, 'Base URL of the inference API');
    out('DashboardUrl', this.api.url, 'The web dashboard (it asks for the API key)');
    out('ApiKeyId', this.apiKey.keyId, 'Id of the client API key (aws apigateway get-api-key --include-value --api-key <id>)');
    this.operatorKeys.forEach((k, i) => {
      out(
        `OperatorApiKeyId${i + 1}`,
        k.keyId,
        `Id of operator key "${config.operatorKeyNames[i]}" (aws apigateway get-api-key --include-value --api-key <id>)`,
      );
    });
    out('BucketName', bucket.bucketName, 'Data bucket');
    out('TableName', table.tableName, 'Prediction log table');
    out('DlqUrl', logDlq.queueUrl, 'Dead-letter queue of prediction log records');
    out('Backend', config.backend, 'Model serving backend');
    const modelTarget = modelBackend.clientEnvironment[ENV.MODEL_URL] ?? modelBackend.clientEnvironment[ENV.SAGEMAKER_ENDPOINT];
    if (modelTarget)
      out(config.backend === 'fargate' ? 'ModelUrl' : 'EndpointName', modelTarget, 'Where the predict function sends instances');

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
