/**
 * The analytics store on AWS, as a stack: a PredictionAnalytics over the prediction log's stream and the
 * data bucket's `analytics/` prefix (the writer, the compactor, the Glue tables and the Athena workgroup).
 * It holds no data of its own besides query results, so it can be removed and redeployed without touching
 * the log.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { ModelBaseline } from '../contract/baseline';
import type { ModelManifest } from '../contract/manifest';
import { type GrantQueryOptions, PredictionAnalytics } from './analytics/prediction-analytics';
import type { MlshipConfig } from './config';
import { importDataBucket } from './constructs/data-bucket-import';
import type { HandlerFunction } from './constructs/handler-function';
import type { DeploymentContext } from './deployment-context';

export interface AnalyticsStackProps extends StackProps {
  /** The validated configuration (stack prefix, Athena limits). */
  readonly config: MlshipConfig;
  /** Paths, backend, log retention and removal policy, derived once from the config. */
  readonly deployment: DeploymentContext;
  /** The served model's manifest (the table columns and the named queries). */
  readonly manifest: ModelManifest;
  /** The model's drift baseline; without one the drift queries are left out. @default - no drift queries */
  readonly baseline?: ModelBaseline;
  /** Export name of the data bucket ARN (DataStack.bucketArnExport). */
  readonly bucketArnExport: string;
  /** The prediction log, with its stream turned on. */
  readonly table: dynamodb.ITable;
}

export class AnalyticsStack extends Stack {
  /** The writer, compactor, Glue tables, Athena workgroup and its named queries. */
  public readonly analytics: PredictionAnalytics;
  /** Writes each batch of the log's stream as Parquet (`analytics.writer`). */
  public readonly writer: HandlerFunction;
  /** Rewrites closed days as one object per version (`analytics.compactor`). */
  public readonly compactor: HandlerFunction;
  /** Athena query results (`analytics.resultsBucket`). */
  public readonly resultsBucket: s3.Bucket;
  /** Export name of the results bucket ARN: a role of another stack (the query function's) imports it by name. */
  public readonly resultsBucketArnExport: string;

  constructor(scope: Construct, id: string, props: AnalyticsStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.resultsBucketArnExport = `${this.stackName}-QueryResultsArn`;
    // Id `Default` keeps the resources' logical IDs as they were before the construct (see PredictionAnalytics).
    this.analytics = new PredictionAnalytics(this, 'Default', {
      deployment: props.deployment,
      manifest: props.manifest,
      baseline: props.baseline,
      bucket: importDataBucket(this, 'DataBucket', props.bucketArnExport),
      table: props.table,
      namePrefix: config.stackPrefix,
      bytesScannedCutoffMiB: config.analyticsBytesScannedCutoffMiB,
      resultsExpirationDays: config.analyticsResultsExpirationDays,
      resultsBucketArnExportName: this.resultsBucketArnExport,
    });
    this.writer = this.analytics.writer;
    this.compactor = this.analytics.compactor;
    this.resultsBucket = this.analytics.resultsBucket;
  }

  /**
   * Lets `grantee` run queries in the workgroup over the tables, with `featureBins` the binned
   * feature counts (PredictionAnalytics.grantQuery). A grantee of another stack depends on this one only
   * by name: add the stack dependency.
   */
  public grantQuery(grantee: iam.IGrantable, opts: GrantQueryOptions = {}): iam.Grant {
    return this.analytics.grantQuery(grantee, opts);
  }
}
