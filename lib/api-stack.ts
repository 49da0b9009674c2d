/**
 * The inference API: one Lambda function per privilege level (predict, query, feedback, meta) behind an
 * InferenceApi (the REST API built from the route table, API keys + usage plans, access logs and tracing). The meta function also
 * serves the web dashboard on the API's own origin (no CORS, no second distribution to secure). Each function's role
 * names exactly the table actions, bucket prefixes, queue and model it uses.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { athenaWorkgroupName, glueDatabaseName } from '../contract/analytics';
import { API_AUTH_OUTPUT, defaultJwksUri, operatorPrivilegeOf } from '../contract/auth';
import { ANALYTICS_OFF, ENV, NO_OPERATOR_KEYS } from '../contract/env';
import type { HandlerName } from '../contract/routes';
import { type ChallengerSetting, challengerSetting } from '../contract/versions';
import { InferenceApi } from './api/inference-api';
import { type JwtAuthorizerSource, routeAuthorization } from './api/route-authorization';
import { authModesOf, type MlshipConfig } from './config';
import { importDataBucket } from './constructs/data-bucket-import';
import { DataBucketAccess, LogDlqAccess, PredictionLogAccess } from './constructs/data-grants';
import { HandlerFunction } from './constructs/handler-function';
import { acknowledgeWildcardResource } from './constructs/nag';
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
  /** The challenger the model server hosts beside the model, and how it takes traffic (docs/versions.md). @default - none */
  readonly challenger?: ChallengerSetting;
  /**
   * The retraining loop may hand a registered version over as the challenger (docs/retraining.md): the
   * predict function reads the routing state even with no challenger configured. @default false
   */
  readonly handOver?: boolean;
}

export class ApiStack extends Stack {
  /** The REST API with its keys, usage plans, access log and gateway responses. */
  public readonly inferenceApi: InferenceApi;
  /** The REST API built from the route table (`inferenceApi.api`). */
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
    const bucket = importDataBucket(this, 'DataBucket', props.bucketArnExport);
    const { removalPolicy, logRetention } = deployment;

    const predict = new HandlerFunction(this, 'Predict', {
      name: 'predict',
      deployment,
      memorySize: 1024,
      // Two backend attempts with backoff fit in API Gateway's 29 s; the function must outlive them.
      timeout: Duration.seconds(29),
      environment: {
        [ENV.BACKEND]: config.backend,
        [ENV.LOG_TTL_DAYS]: String(config.predictionTtlDays),
        [ENV.CHALLENGER]: challengerSetting(props.challenger, props.handOver ?? false),
      },
      vpc: modelBackend.clientVpc,
      securityGroups: modelBackend.clientSecurityGroups,
    });
    const query = new HandlerFunction(this, 'Query', {
      name: 'query',
      deployment,
      // Summary windows over 24 h wait for Athena: the function may use all of API Gateway's 29 s.
      timeout: Duration.seconds(29),
      environment: {
        // Names, not references: the Analytics stack grants this role (AnalyticsStack.grantQuery) and may be left out.
        [ENV.ANALYTICS_WORKGROUP]: config.analytics ? athenaWorkgroupName(config.stackPrefix) : ANALYTICS_OFF,
        [ENV.ANALYTICS_DATABASE]: config.analytics ? glueDatabaseName(config.stackPrefix) : ANALYTICS_OFF,
      },
    });
    const feedback = new HandlerFunction(this, 'Feedback', { name: 'feedback', deployment });
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
    predict.bindPredictionLog(
      table,
      PredictionLogAccess.WRITE,
      PredictionLogAccess.IDEMPOTENCY,
      // The champion and challenger's routing state is an item of the table (docs/versions.md).
      ...(props.challenger || props.handOver ? [PredictionLogAccess.ROUTING] : []),
    );
    predict.bindLogDlq(logDlq, LogDlqAccess.SEND);
    // Large inputs are stored and read under predictions/, referenced instances under datasets/ (acknowledged by the binding).
    predict.bindDataBucket(bucket, DataBucketAccess.WRITE_PREDICTION_INPUTS, DataBucketAccess.READ_PREDICTION_INPUTS);
    predict.bindModel(modelBackend);
    // query: reads only (operators the model's index, a client key its own partition of the caller index).
    query.bindPredictionLog(table, PredictionLogAccess.READ_ITEM, PredictionLogAccess.QUERY);
    // feedback: reads a prediction and sets its label.
    feedback.bindPredictionLog(table, PredictionLogAccess.LABEL);
    // meta: serves the bundled manifest, baseline, route table and dashboard; it needs no permission.

    // IAM or a JWT authorizer besides the keys, where the config asks (docs/auth.md).
    const authModes = authModesOf(config);
    const authorization = routeAuthorization(this, authModes, this.jwtAuthorizerSource(config, deployment));

    // Id `Default` keeps the API's, its keys' and its log group's logical IDs as they were before the construct (see InferenceApi).
    this.inferenceApi = new InferenceApi(this, 'Default', {
      handlers: { predict: predict.function, query: query.function, feedback: feedback.function, meta: meta.function },
      stageName: config.stageName,
      throttleRateLimit: config.apiThrottleRateLimit,
      throttleBurstLimit: config.apiThrottleBurstLimit,
      quotaPerDay: config.apiQuotaPerDay,
      operatorKeyNames: config.operatorKeyNames,
      operatorUsagePlanName: config.operatorUsagePlanName,
      logRetention,
      removalPolicy,
      authorization,
      waf: config.waf,
    });
    this.api = this.inferenceApi.api;
    this.apiKey = this.inferenceApi.apiKey;
    this.usagePlan = this.inferenceApi.usagePlan;
    this.operatorKeys = this.inferenceApi.operatorKeys;
    this.operatorUsagePlan = this.inferenceApi.operatorUsagePlan;
    this.accessLogs = this.inferenceApi.accessLogs;
    // query and feedback tell operator keys from client keys by id.
    // Operators may send any stored input back as an s3Key (predict); they read every caller's predictions (query, feedback).
    // A function reached under the key alone while operator routes ask for more treats every key as a client's (contract/auth.ts).
    for (const [name, fn] of [
      ['predict', predict],
      ['query', query],
      ['feedback', feedback],
    ] as const)
      fn.setVariable(ENV.OPERATOR_KEY_IDS, operatorPrivilegeOf(name, authModes) ? this.inferenceApi.operatorKeyIds : NO_OPERATOR_KEYS);

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
    if (authModes.operatorRoutes !== 'apiKey' || authModes.otherRoutes !== 'apiKey') {
      // The CLI reads it to sign its requests or send a token (docs/auth.md).
      out(API_AUTH_OUTPUT, JSON.stringify(authModes), 'What the routes ask for besides the API key');
    }
    const iamScope = authModes.otherRoutes === 'iam' ? 'allRoutes' : authModes.operatorRoutes === 'iam' ? 'operatorRoutes' : undefined;
    if (iamScope !== undefined) {
      const policy = new iam.ManagedPolicy(this, 'ApiInvokePolicy', {
        description: `Calls the mlship API's ${iamScope === 'allRoutes' ? 'routes' : 'operator routes'} with SigV4 (attach to operators' roles)`,
        statements: [this.inferenceApi.invokeStatement(iamScope)],
      });
      for (const arn of this.inferenceApi.invokeStatement(iamScope).resources.filter((r) => r.includes('*')))
        acknowledgeWildcardResource(
          policy,
          arn,
          'A path parameter of a route is one segment of any value: the ARN names the route and method, `*` the parameter.',
        );
      out('ApiInvokePolicyArn', policy.managedPolicyArn, 'Managed policy allowing SigV4 calls to the IAM routes (attach to operators)');
    }
    out('BucketName', bucket.bucketName, 'Data bucket');
    out('TableName', table.tableName, 'Prediction log table');
    out('DlqUrl', logDlq.queueUrl, 'Dead-letter queue of prediction log records');
    out('Backend', config.backend, 'Model serving backend');
    const modelTarget = modelBackend.clientEnvironment[ENV.MODEL_URL] ?? modelBackend.clientEnvironment[ENV.SAGEMAKER_ENDPOINT];
    if (modelTarget)
      out(config.backend === 'fargate' ? 'ModelUrl' : 'EndpointName', modelTarget, 'Where the predict function sends instances');
  }

  /** The JWT authorizer's source when a route uses jwt: the user pool, or the authorizer function of the issuer. */
  private jwtAuthorizerSource(config: MlshipConfig, deployment: DeploymentContext): JwtAuthorizerSource | undefined {
    const jwt = config.auth?.jwt;
    if (jwt === undefined) return undefined;
    if (jwt.userPoolArn !== undefined) return { userPoolArn: jwt.userPoolArn };
    if (jwt.issuer === undefined || jwt.audience === undefined)
      throw new Error('auth.jwt: issuer and audience are required without userPoolArn');
    const authorizer = new HandlerFunction(this, 'JwtAuthorizerFunction', {
      name: 'jwt-authorizer',
      deployment,
      memorySize: 256,
      environment: {
        [ENV.JWT_ISSUER]: jwt.issuer,
        [ENV.JWT_AUDIENCE]: jwt.audience.join(','),
        [ENV.JWT_JWKS_URI]: jwt.jwksUri ?? defaultJwksUri(jwt.issuer),
      },
    });
    return { handler: authorizer.function };
  }
}
