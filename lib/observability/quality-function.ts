/**
 * The scheduled model-quality function (`lambda/quality.ts`), built by HandlerFunction like every mlship
 * function (Node 22 on arm64, local esbuild, SDK bundled, source maps, X-Ray, its own log group and role),
 * which also copies `model.json` and `baseline.json` beside the code. Its only data permission is Query
 * on the log's `byModel` index.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BASELINE_FILE } from '../../contract/baseline';
import { ENV } from '../../contract/env';
import type { Backend } from '../../contract/limits';
import { MANIFEST_FILE } from '../../contract/manifest';
import { LOG_TABLE } from '../../contract/prediction-log';
import { HandlerFunction, QUALITY_FUNCTION } from '../constructs/handler-function';

export interface QualityFunctionProps {
  /** Repository root (holds `lambda/` and `package-lock.json`). */
  readonly rootDir: string;
  /** Absolute model directory holding `model.json` and `baseline.json`. */
  readonly modelDir: string;
  /** The serving backend (the job does not call it; HandlerFunction records it). */
  readonly backend: Backend;
  readonly table: dynamodb.ITable;
  /** Minutes of log read per run. */
  readonly windowMinutes: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class QualityFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: QualityFunctionProps) {
    super(scope, id);
    const fn = new HandlerFunction(this, 'Handler', {
      name: QUALITY_FUNCTION,
      backend: props.backend,
      rootDir: props.rootDir,
      manifestPath: `${props.modelDir}/${MANIFEST_FILE}`,
      baselinePath: `${props.modelDir}/${BASELINE_FILE}`,
      environment: {
        [ENV.PREDICTION_TABLE]: props.table.tableName,
        [ENV.QUALITY_WINDOW_MINUTES]: String(props.windowMinutes),
      },
      // Reading and binning up to 20,000 items: more memory buys CPU and keeps the run short.
      memorySize: 1024,
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.function = fn.function;
    this.role = fn.role;
    this.logGroup = fn.logGroup;
    // Query on the index only: the job never reads items by id, scans, or writes.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.table.tableArn}/index/${LOG_TABLE.byModelIndex.name}`] }),
    );
    // A table encrypted with a customer key also needs Decrypt (the log uses an AWS-owned or managed key).
    props.table.encryptionKey?.grantDecrypt(this.role);
  }
}
