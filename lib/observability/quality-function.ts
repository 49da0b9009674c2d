/**
 * The scheduled model-quality function (`lambda/quality.ts`), built by HandlerFunction like every mlship
 * function (Node 22 on arm64, local esbuild, SDK bundled, source maps, X-Ray, its own log group and role),
 * which also copies `model.json` and `baseline.json` beside the code. Its data permission is Query on the
 * log's `byModel` index; with the automatic promotion policy, also GetItem and PutItem of the routing
 * item and Publish to the alarm topic.
 */
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { BASELINE_FILE } from '../../contract/baseline';
import { ENV } from '../../contract/env';
import type { QualityThresholds } from '../../contract/metrics/thresholds';
import { NO_PROMOTION, type PromotionPolicy } from '../../contract/promotion';
import { PredictionLogAccess } from '../constructs/data-grants';
import { HandlerFunction, QUALITY_FUNCTION } from '../constructs/handler-function';
import { grantTopicPublish } from '../constructs/topic-grants';
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
  /** Where the job's notices go (the alarm topic): promotion decisions. */
  readonly topic: sns.ITopic;
  /**
   * The automatic promotion policy each run evaluates (docs/versions.md); only with a split challenger.
   * @default - none: the job neither reads nor writes the routing item, nor publishes
   */
  readonly promotionPolicy?: PromotionPolicy;
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
        [ENV.PROMOTION_POLICY]: props.promotionPolicy === undefined ? NO_PROMOTION : JSON.stringify(props.promotionPolicy),
        [ENV.ALARM_TOPIC_ARN]: props.topic.topicArn,
      },
      // Reading and binning up to 20,000 items: more memory buys CPU and keeps the run short.
      memorySize: 1024,
      timeout: Duration.minutes(2),
    });
    this.function = fn.function;
    this.role = fn.role;
    this.logGroup = fn.logGroup;
    // Query on the index: the job never reads items by id, scans, or writes the log. With the policy, the
    // routing item too (its leading key only, as the predict function has it). (A table encrypted with a
    // customer key also gets Decrypt; the log uses an AWS-owned or managed key.)
    const routing = props.promotionPolicy === undefined ? [] : [PredictionLogAccess.ROUTING];
    fn.bindPredictionLog(props.table, PredictionLogAccess.QUERY_BY_MODEL, ...routing);
    if (props.promotionPolicy !== undefined) grantTopicPublish(this.role, props.topic);
  }
}
