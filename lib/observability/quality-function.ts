/**
 * The scheduled model-quality function (`lambda/quality.ts`). It has the settings of every mlship
 * function (see lib/constructs/handler-function.ts: Node 22 on arm64, local esbuild, SDK bundled,
 * source maps, X-Ray, its own log group and role) and copies both `model.json` and `baseline.json`
 * beside the code. Its only data permission is Query on the log's `byModel` index.
 */
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BASELINE_FILE } from '../../contract/baseline';
import { ENV } from '../../contract/env';
import { MANIFEST_FILE } from '../../contract/manifest';
import { LOG_TABLE } from '../../contract/prediction-log';

export interface QualityFunctionProps {
  /** Repository root (holds `lambda/` and `package-lock.json`). */
  readonly rootDir: string;
  /** Absolute model directory holding `model.json` and `baseline.json`. */
  readonly modelDir: string;
  readonly table: dynamodb.ITable;
  /** Minutes of log read per run. */
  readonly windowMinutes: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class QualityFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: QualityFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: 'mlship quality function' });
    this.logGroup.grantWrite(this.role);
    // Query on the index only: the job never reads items by id, scans, or writes.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.table.tableArn}/index/${LOG_TABLE.byModelIndex.name}`] }),
    );
    // A table encrypted with a customer key also needs Decrypt (the log uses an AWS-owned or managed key).
    props.table.encryptionKey?.grantDecrypt(this.role);

    const copy = [MANIFEST_FILE, BASELINE_FILE].map((f) => `cp "${join(props.modelDir, f)}" "%OUT%/${f}"`);
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(props.rootDir, 'lambda', 'quality.ts'),
      handler: 'handler',
      projectRoot: props.rootDir,
      depsLockFilePath: join(props.rootDir, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      // Reading and binning up to 20,000 items: more memory buys CPU and keeps the run short.
      memorySize: 1024,
      timeout: Duration.minutes(2),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        [ENV.PREDICTION_TABLE]: props.table.tableName,
        [ENV.MODEL_MANIFEST_PATH]: MANIFEST_FILE,
        [ENV.MODEL_BASELINE_PATH]: BASELINE_FILE,
        [ENV.QUALITY_WINDOW_MINUTES]: String(props.windowMinutes),
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: 'node22',
        minify: true,
        sourceMap: true,
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) => copy.map((c) => c.replace('%OUT%', outputDir)),
        },
      },
    });
    Validations.of(this).acknowledge(
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions.' },
      { id: 'AwsSolutions-L1', reason: 'Node.js 22 on purpose, like every mlship function: the handlers, the container and the tests target it.' },
    );
  }
}
