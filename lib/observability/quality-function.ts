/**
 * The scheduled model-quality function (`lambda/quality.ts`), built by HandlerFunction like every mlship
 * function (Node 22 on arm64, local esbuild, SDK bundled, source maps, X-Ray, its own log group and role),
 * which also copies `model.json` and `baseline.json` beside the code. Its only data permission is Query
 * on the log's `byModel` index.
 */
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BASELINE_FILE } from '../../contract/baseline';
import { ENV } from '../../contract/env';
import type { QualityThresholds } from '../../contract/metrics/thresholds';
import { PredictionLogAccess } from '../constructs/data-grants';
import { HandlerFunction, QUALITY_FUNCTION } from '../constructs/handler-function';
import type { DeploymentContext } from '../deployment-context';

export interface QualityFunctionProps {
  /** Paths (the model folder holds `model.json` and `baseline.json`), backend, log retention and removal policy. */
  readonly deployment: DeploymentContext;
  /** The prediction log: the job queries its by-model index. */
  readonly table: dynamodb.ITable;
  /** Minutes of log read per run. */
  readonly windowMinutes: number;
  /** Overrides of the job's thresholds (drift test, drifted share, minimum sample), passed as JSON. */
  readonly thresholds: Partial<QualityThresholds>;
}

export class QualityFunction extends Construct {
  /** The job's Lambda function. */
  public readonly function: lambda.Function;
  /** The function's role. */
  public readonly role: iam.Role;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: QualityFunctionProps) {
    super(scope, id);
    const fn = new HandlerFunction(this, 'Handler', {
      name: QUALITY_FUNCTION,
      deployment: props.deployment,
      baselinePath: join(props.deployment.modelDir, BASELINE_FILE),
      environment: {
        [ENV.QUALITY_WINDOW_MINUTES]: String(props.windowMinutes),
        [ENV.QUALITY_THRESHOLDS]: JSON.stringify(props.thresholds),
      },
      // Reading and binning up to 20,000 items: more memory buys CPU and keeps the run short.
      memorySize: 1024,
      timeout: Duration.minutes(2),
    });
    this.function = fn.function;
    this.role = fn.role;
    this.logGroup = fn.logGroup;
    // Query on the index only: the job never reads items by id, scans, or writes. (A table encrypted with a
    // customer key also gets Decrypt; the log uses an AWS-owned or managed key.)
    fn.bindPredictionLog(props.table, PredictionLogAccess.QUERY_BY_MODEL);
  }
}
