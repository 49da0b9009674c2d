#!/usr/bin/env node
/**
 * A CDK app of your own that serves an mlship model with resources it already has: its own VPC, data
 * bucket, prediction log table and dead-letter queue (the table and queue made outside this app, imported
 * by name). mlship's constructs add the model package, the Fargate service behind an internal load
 * balancer (with its security groups in your VPC), the prediction log's replay over your table and queue
 * (PredictionLog with `existingTableObj` and `existingQueueObj`), the predict function bound to your
 * table, queue and bucket, and the golden-set check of every rollout.
 *
 *   npx cdk synth --app "npx tsx examples/own-resources/app.ts"
 *
 * In your own repository, import from the package (`from 'mlship'`) instead of `../../lib`.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { ENV, NO_OPERATOR_KEYS } from '../../contract/env';
import { parseManifest } from '../../contract/manifest';
import { NO_CHALLENGER } from '../../contract/versions';
import {
  contextFromParts,
  DataBucketAccess,
  FargateModelService,
  GoldenSetCheck,
  HandlerFunction,
  LogDlqAccess,
  ModelImage,
  ModelNetwork,
  ModelPackage,
  PredictionLog,
  PredictionLogAccess,
} from '../../lib';

export interface OwnResourcesStackProps extends StackProps {
  /** The mlship folder (its `lambda/`, `container/` and `package-lock.json`). */
  readonly rootDir: string;
  /** The model folder. @default - `models/breast-cancer` under `rootDir` */
  readonly modelDir?: string;
  /** Where the model archive is staged. @default - `.mlship/build` under `rootDir` */
  readonly buildDir?: string;
  /** Name of your prediction log table, with the key design of contract/prediction-log.ts. @default 'mlship-predictions' */
  readonly tableName?: string;
  /** Name of your standard queue for log records the table refused. @default 'mlship-log-dead-letters' */
  readonly logDlqName?: string;
  /**
   * Ids of your API's operator keys: callers that may send any stored input back as an `s3Key` (others
   * only their own). @default - none: every caller reads only its own stored inputs
   */
  readonly operatorKeyIds?: string[];
}

export class OwnResourcesStack extends Stack {
  public readonly service: FargateModelService;
  public readonly predict: HandlerFunction;
  /** The prediction log over your own table and queue, with its replay function. */
  public readonly predictionLog: PredictionLog;
  /** Your table, as the functions are bound to it. */
  public readonly table: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: OwnResourcesStackProps) {
    super(scope, id, props);
    const deployment = contextFromParts({
      rootDir: props.rootDir,
      modelDir: props.modelDir ?? join(props.rootDir, 'models', 'breast-cancer'),
      backend: 'fargate',
      logRetention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const manifest = parseManifest(JSON.parse(readFileSync(deployment.manifestPath, 'utf8')), deployment.manifestPath);

    // ---- your resources ----------------------------------------------------------------------------
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', { retention: deployment.logRetention })),
    });
    const bucket = new s3.Bucket(this, 'Data', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Example app: server access logging of this bucket is configured account-wide by its owner.',
    });
    // Your prediction log table (with the key design of contract/prediction-log.ts) and its dead-letter queue.
    const table = dynamodb.Table.fromTableName(this, 'Predictions', props.tableName ?? 'mlship-predictions');
    const logDlq = sqs.Queue.fromQueueArn(
      this,
      'LogDlq',
      this.formatArn({ service: 'sqs', resource: props.logDlqName ?? 'mlship-log-dead-letters' }),
    );

    // ---- mlship's constructs -----------------------------------------------------------------------
    // The table and queue are adopted, not made: PredictionLog adds the function that replays the records
    // the table refused (and parks the ones it cannot write in your bucket).
    this.predictionLog = new PredictionLog(this, 'PredictionLog', {
      deployment,
      bucket,
      existingTableObj: table,
      existingQueueObj: logDlq,
    });
    this.table = this.predictionLog.table;
    const network = new ModelNetwork(this, 'Network', { vpc });
    const image = new ModelImage(this, 'ModelImage', { rootDir: deployment.rootDir }).asset;
    const modelPackage = new ModelPackage(this, 'ModelPackage', {
      bucket,
      manifest,
      modelDir: deployment.modelDir,
      buildDir: props.buildDir ?? join(deployment.rootDir, '.mlship', 'build'),
    });
    this.service = new FargateModelService(this, 'Model', {
      image,
      bucket,
      model: manifest,
      modelKey: modelPackage.key,
      modelUpload: modelPackage.deployment,
      network,
      logRetention: deployment.logRetention,
    });

    // Each binding sets the function's variable and grants exactly that access, together.
    this.predict = new HandlerFunction(this, 'Predict', {
      name: 'predict',
      deployment,
      memorySize: 1024,
      timeout: Duration.seconds(29),
      environment: {
        [ENV.BACKEND]: deployment.backend,
        [ENV.LOG_TTL_DAYS]: '30',
        [ENV.OPERATOR_KEY_IDS]: props.operatorKeyIds?.length ? props.operatorKeyIds.join(',') : NO_OPERATOR_KEYS,
        // This app hosts one model version (docs/versions.md adds a challenger through the full app's config).
        [ENV.CHALLENGER]: NO_CHALLENGER,
      },
      vpc: this.service.clientVpc,
      securityGroups: this.service.clientSecurityGroups,
    });
    this.predict.bindPredictionLog(this.table, PredictionLogAccess.WRITE, PredictionLogAccess.IDEMPOTENCY);
    this.predict.bindLogDlq(this.predictionLog.logDlq, LogDlqAccess.SEND);
    this.predict.bindDataBucket(bucket, DataBucketAccess.WRITE_PREDICTION_INPUTS, DataBucketAccess.READ_PREDICTION_INPUTS);
    this.predict.bindModel(this.service);

    const check = new GoldenSetCheck(this, 'GoldenSetCheck', { deployment, ...this.service.rolloutCheckPlacement });
    this.service.checkRolloutsWith(check, `${manifest.name}/${manifest.version}`);

    new CfnOutput(this, 'PredictFunction', { value: this.predict.function.functionName });
  }
}

if (require.main === module) {
  const app = new App();
  new OwnResourcesStack(app, 'MlshipOwnResources', { rootDir: resolve(__dirname, '..', '..') });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
}
