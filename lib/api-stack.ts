/**
 * The inference API: a REST API built from the route table, one Lambda function per privilege level
 * (predict, query, feedback, meta), API key + usage plan, access logs and tracing. The meta function also
 * serves the web dashboard on the API's own origin (no CORS, no second distribution to secure). Each function's role
 * names exactly the table actions, bucket prefixes, queue and model it uses.
 */
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { athenaWorkgroupName, glueDatabaseName } from '../contract/analytics';
import { PREFIX } from '../contract/bucket';
import { ANALYTICS_OFF, ENV } from '../contract/env';
import { LOG_TABLE } from '../contract/prediction-log';
import { HANDLERS, type HandlerName, ROUTES } from '../contract/routes';
import { addGatewayResponses } from './api/gateway-responses';
import type { MlshipConfig } from './config';
import { importDataBucket } from './constructs/data-bucket-import';
import { HandlerFunction } from './constructs/handler-function';
import type { ModelBackend } from './serving/model-backend';

export interface ApiStackProps extends StackProps {
  readonly config: MlshipConfig;
  readonly rootDir: string;
  readonly manifestPath: string;
  /** Export name of the data bucket ARN (DataStack.bucketArnExport). */
  readonly bucketArnExport: string;
  readonly table: dynamodb.ITable;
  readonly logDlq: sqs.IQueue;
  readonly modelBackend: ModelBackend;
  /** Absolute folder of the built web dashboard (`web/dist`), bundled beside the meta function. */
  readonly dashboardDir: string;
}

export class ApiStack extends Stack {
  public readonly api: apigw.RestApi;
  /** The client key: it reads and gives feedback on its own predictions only. */
  public readonly apiKey: apigw.IApiKey;
  public readonly usagePlan: apigw.UsagePlan;
  /** Keys of the operator usage plan: every prediction and the metrics. */
  public readonly operatorKeys: apigw.IApiKey[];
  public readonly operatorUsagePlan: apigw.UsagePlan;
  public readonly accessLogs: logs.LogGroup;
  /** The API's functions by name. */
  public readonly functions: Record<HandlerName, HandlerFunction>;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, table, logDlq, modelBackend } = props;
    const data = importDataBucket(this, 'DataBucket', props.bucketArnExport);
    const bucket = data.bucket;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    const common = { backend: config.backend, rootDir: props.rootDir, manifestPath: props.manifestPath, logRetention, removalPolicy };

    const predict = new HandlerFunction(this, 'Predict', {
      ...common,
      name: 'predict',
      memorySize: 1024,
      // Two backend attempts with backoff fit in API Gateway's 29 s; the function must outlive them.
      timeout: Duration.seconds(29),
      environment: {
        [ENV.PREDICTION_TABLE]: table.tableName,
        [ENV.DATA_BUCKET]: bucket.bucketName,
        [ENV.BACKEND]: config.backend,
        [ENV.LOG_DLQ_URL]: logDlq.queueUrl,
        [ENV.LOG_TTL_DAYS]: String(config.predictionTtlDays),
        ...modelBackend.clientEnvironment,
      },
      vpc: modelBackend.clientVpc,
      securityGroups: modelBackend.clientSecurityGroups,
    });
    // Operator keys are made apart from the API's stage (their usage plan binds them to it), so the
    // functions can be given their ids without a dependency cycle through the deployment.
    this.operatorKeys = config.operatorKeyNames.map(
      (name) => new apigw.ApiKey(this, `OperatorKey-${name}`, { description: `mlship operator key "${name}"`, enabled: true }),
    );
    const tenancy = {
      [ENV.PREDICTION_TABLE]: table.tableName,
      [ENV.OPERATOR_KEY_IDS]: Fn.join(
        ',',
        this.operatorKeys.map((k) => k.keyId),
      ),
    };
    const query = new HandlerFunction(this, 'Query', {
      ...common,
      name: 'query',
      // Summary windows over 24 h wait for Athena: the function may use all of API Gateway's 29 s.
      timeout: Duration.seconds(29),
      environment: {
        ...tenancy,
        // Names, not references: the Analytics stack grants this role (AnalyticsStack.grantQuery) and may be left out.
        [ENV.ANALYTICS_WORKGROUP]: config.analytics ? athenaWorkgroupName(config.stackPrefix) : ANALYTICS_OFF,
        [ENV.ANALYTICS_DATABASE]: config.analytics ? glueDatabaseName(config.stackPrefix) : ANALYTICS_OFF,
      },
    });
    const feedback = new HandlerFunction(this, 'Feedback', { ...common, name: 'feedback', environment: tenancy });
    // meta also reads the model's baseline and the dashboard files, which HandlerFunction bundles beside it.
    const meta = new HandlerFunction(this, 'Meta', {
      ...common,
      name: 'meta',
      memorySize: 256,
      dashboardDir: props.dashboardDir,
      environment: { [ENV.BACKEND]: config.backend },
    });
    this.functions = { predict, query, feedback, meta };

    const indexArn = `${table.tableArn}/index/${LOG_TABLE.byModelIndex.name}`;
    const callerIndexArn = `${table.tableArn}/index/${LOG_TABLE.byCallerIndex.name}`;
    // predict: write log items; read, update and delete only its idempotency records (ids `idem#...`).
    allow(predict, ['dynamodb:PutItem'], [table.tableArn]);
    allow(predict, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], [table.tableArn], {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${LOG_TABLE.idempotencyPrefix}*`] },
    });
    allow(predict, ['sqs:SendMessage'], [logDlq.queueArn]);
    allow(predict, ['s3:PutObject'], [bucket.arnForObjects(`${PREFIX.predictions}*`)]);
    allow(predict, ['s3:GetObject'], [bucket.arnForObjects(`${PREFIX.datasets}*`), bucket.arnForObjects(`${PREFIX.predictions}*`)]);
    modelBackend.grantInvoke(predict.role);
    Validations.of(predict.role).acknowledge(
      { id: data.wildcardFinding(`${PREFIX.predictions}*`), reason: 'predict stores and reads large inputs under predictions/ only.' },
      {
        id: data.wildcardFinding(`${PREFIX.datasets}*`),
        reason: 'predict reads instances the caller references by key under datasets/ only.',
      },
    );
    // query: reads only.
    allow(query, ['dynamodb:GetItem'], [table.tableArn]);
    allow(query, ['dynamodb:Query'], [indexArn, callerIndexArn]);
    // feedback: reads a prediction and sets its label.
    allow(feedback, ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [table.tableArn]);
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
    this.operatorKeys.forEach((k, i) =>
      out(
        `OperatorApiKeyId${i + 1}`,
        k.keyId,
        `Id of operator key "${config.operatorKeyNames[i]}" (aws apigateway get-api-key --include-value --api-key <id>)`,
      ),
    );
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

function allow(fn: HandlerFunction, actions: string[], resources: string[], conditions?: Record<string, unknown>): void {
  fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources, conditions }));
}
