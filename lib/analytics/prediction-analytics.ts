/**
 * Prediction analytics as one construct: the prediction log's DynamoDB stream feeds the analytics writer,
 * which writes each batch as Parquet under `analytics/` in the data bucket, and a scheduled compactor folds
 * each closed day into one object per version; a Glue database describes the tables with partition
 * projection (no crawler, no partition list), and an Athena workgroup with an enforced, encrypted result
 * location and a per-query scan limit holds the named queries. `grantQuery()` lets a role run them.
 *
 * Logical IDs: the functions, schedule, Glue and Athena resources and the results bucket are this
 * construct's children under the ids the Analytics stack gave them before the construct existed
 * (`Writer`, `Compactor`, `Database`, `QueryResults`, `Workgroup`...). The Analytics stack adds the
 * construct with the id `Default`, which CDK leaves out of logical IDs (aws-cdk-lib
 * core/lib/private/uniqueid.ts), so its deployed resources keep their logical IDs. Another app gives it any
 * id; its resources are then named below that id.
 */
import { Aws, CfnOutput, Duration, Fn, Stack, Token, Validations } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  ANSWERED_TABLES,
  type AnalyticsTable,
  athenaWorkgroupName,
  type ColumnSpec,
  glueDatabaseName,
  PARTITION_KEYS,
  tableColumns,
  tablePrefix,
} from '../../contract/analytics';
import { namedQueriesFor, namedQuerySql, QUERY_DESCRIPTIONS } from '../../contract/analytics-queries';
import type { ModelBaseline } from '../../contract/baseline';
import { PREFIX } from '../../contract/bucket';
import { FEATURE_BINS_COLUMNS, FEATURE_BINS_PREFIX, FEATURE_BINS_TABLE } from '../../contract/feature-bins';
import type { ModelManifest } from '../../contract/manifest';
import { DataBucketAccess } from '../constructs/data-grants';
import { grantActions } from '../constructs/grant-actions';
import { HandlerFunction } from '../constructs/handler-function';
import { acknowledgeWildcardResource } from '../constructs/nag';
import { QUEUE_SEND_ACTIONS, SQS_EVENT_SOURCE_ACTIONS } from '../constructs/perms';
import type { DeploymentContext } from '../deployment-context';

/** First day Athena's date projection lists; predictions logged before it are not visible to Athena. */
export const PROJECTION_FIRST_DAY = '2020-01-01';

/**
 * How often closed days are compacted. Hourly: the first run after midnight (UTC) folds the day that
 * just closed, later runs fold late batches in; a run with nothing to do lists the model's prefix only.
 */
export const COMPACTION_SCHEDULE = Duration.hours(1);

/** The compactor's timeout: the longest Lambda allows. */
const COMPACTOR_TIMEOUT = Duration.minutes(15);

/** The one FIFO message group of the compaction runs: one group, one run at a time. */
const COMPACTION_GROUP = 'compaction';

/** The construct id of each table's Glue table. */
const TABLE_IDS: Record<AnalyticsTable, string> = {
  predictions: 'PredictionsTable',
  feedback: 'FeedbackTable',
  shadow_predictions: 'ShadowPredictionsTable',
};

/** Athena's smallest per-query scan limit, in MiB. */
const ATHENA_MIN_CUTOFF_MIB = 10;

export interface PredictionAnalyticsProps {
  /** Paths, backend, log retention and removal policy of the deployment. */
  readonly deployment: DeploymentContext;
  /** The served model's manifest (the table columns and the named queries). */
  readonly manifest: ModelManifest;
  /** The model's drift baseline; without one the drift queries are left out. @default - no drift queries */
  readonly baseline?: ModelBaseline;
  /** The data bucket: the Parquet store lives under its `analytics/` prefix. */
  readonly bucket: s3.IBucket;
  /** The prediction log, with its stream of new images turned on (PredictionLog `stream: true`). */
  readonly table: dynamodb.ITable;
  /**
   * The prefix of the Glue database's and the Athena workgroup's names (`glueDatabaseName(namePrefix)`,
   * `athenaWorkgroupName(namePrefix)` of contract/analytics.ts, the names the query function is given).
   */
  readonly namePrefix: string;
  /** Athena cancels a query once it has scanned this many MiB (at least 10, Athena's minimum). */
  readonly bytesScannedCutoffMiB: number;
  /** Days the query results are kept. */
  readonly resultsExpirationDays: number;
  /**
   * Exports the results bucket's ARN under this name, so that `grantQuery` on a role of another stack
   * imports it by name and that stack depends on this one by name only.
   * @default - no export; a role of another stack gets the results bucket by CDK's own cross-stack reference
   */
  readonly resultsBucketArnExportName?: string;
}

export interface GrantQueryOptions {
  /**
   * Also the shadow predictions' table, which only the `versions-side-by-side` named query reads.
   * @default false
   */
  readonly shadowPredictions?: boolean;
  /**
   * Also the table of binned feature counts, which the feature-drift named query reads (the model must
   * have that query: a baseline and tabular inputs).
   * @default false - the answered predictions and feedback only, what the summary windows and the training snapshots read
   */
  readonly featureBins?: boolean;
}

export class PredictionAnalytics extends Construct {
  /** Writes each batch of the log's stream as Parquet (lambda/analytics-writer.ts). */
  public readonly writer: HandlerFunction;
  /** Where Lambda describes a stream batch the writer still failed on after its retries. */
  public readonly writerFailures: sqs.Queue;
  /** Rewrites closed days as one object per version (lambda/analytics-compactor.ts), one run per message of `compactionRuns`. */
  public readonly compactor: HandlerFunction;
  /** Sends a run to `compactionRuns` every COMPACTION_SCHEDULE. */
  public readonly compactionSchedule: events.Rule;
  /** The scheduled runs, in one FIFO message group: the compactor takes them one at a time. */
  public readonly compactionRuns: sqs.Queue;
  public readonly database: glue.CfnDatabase;
  public readonly tables: Record<AnalyticsTable, glue.CfnTable>;
  /**
   * The compactor's binned feature counts of closed days (contract/feature-bins.ts), which the
   * feature-drift query reads; only when that query exists (a baseline and tabular inputs).
   */
  public readonly featureBinsTable?: glue.CfnTable;
  public readonly workgroup: athena.CfnWorkGroup;
  /** Athena query results (encrypted, expiring). */
  public readonly resultsBucket: s3.Bucket;
  public readonly namedQueries: athena.CfnNamedQuery[];
  /** The Glue database's name. */
  public readonly databaseName: string;
  /** The Athena workgroup's name. */
  public readonly workgroupName: string;
  private readonly dataBucket: s3.IBucket;
  private readonly resultsBucketArnExportName?: string;

  constructor(scope: Construct, id: string, props: PredictionAnalyticsProps) {
    super(scope, id);
    checkPredictionAnalyticsProps(props);
    const { table, manifest, deployment } = props;
    const streamArn = table.tableStreamArn as string;
    this.dataBucket = props.bucket;
    this.resultsBucketArnExportName = props.resultsBucketArnExportName;
    const { removalPolicy, autoDeleteObjects } = deployment;

    this.writer = new HandlerFunction(this, 'Writer', {
      name: 'analytics-writer',
      deployment,
      // Encoding a 1,000-record batch takes well under a second; the margin covers slow S3 writes.
      memorySize: 1024,
      timeout: Duration.seconds(60),
    });
    // A batch still failing after its retries is described (shard, sequence numbers) in this queue, where
    // an alarm sees it, instead of being skipped unseen.
    this.writerFailures = new sqs.Queue(this, 'WriterFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(this.writerFailures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the on-failure destination of the analytics writer; a person reads it.',
    });
    // Lambda sends the failure record with the function's role: SendMessage on this one queue (SqsDlq would
    // add sqs:GetQueueAttributes and sqs:GetQueueUrl, which nothing calls).
    grantActions(this.writer, QUEUE_SEND_ACTIONS, [this.writerFailures.queueArn]);
    const onFailure: lambda.IEventSourceDlq = { bind: () => ({ destination: this.writerFailures.queueArn }) };
    // A plain event source mapping with exactly the rights Lambda's stream poller uses.
    this.writer.function.addEventSourceMapping('LogStream', {
      onFailure,
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 1000,
      // Larger, fewer files: Parquet pays off per row group, and "within minutes" is the promise.
      maxBatchingWindow: Duration.seconds(60),
      // A retried batch is the same batch (no bisecting), so it rewrites the same object keys.
      bisectBatchOnError: false,
      retryAttempts: 10,
    });
    // Exactly what Lambda's stream poller calls: DescribeStream, GetRecords and GetShardIterator on the one
    // stream, and dynamodb:ListStreams, which takes no resource narrower than "*".
    table.grantStreamRead(this.writer);
    this.writer.bindDataBucket(props.bucket, DataBucketAccess.WRITE_ANALYTICS);
    Validations.of(this.writer).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing and dynamodb:ListStreams (which Lambda stream polling uses) have no resource-level permissions; the stream reads themselves name the one stream.',
    });

    this.compactor = new HandlerFunction(this, 'Compactor', {
      name: 'analytics-compactor',
      deployment,
      // A day's rows are held in memory while the day is rewritten (about 0.5 KB each).
      memorySize: 2048,
      // A run starts no day in its last two minutes; days left over go to the next run.
      timeout: COMPACTOR_TIMEOUT,
    });
    this.compactor.bindDataBucket(props.bucket, DataBucketAccess.COMPACT_ANALYTICS);
    // Runs must not overlap: two runs could each rewrite a day from a different listing of its files. The
    // schedule sends each run as a message of one FIFO message group, and Lambda's FIFO event source
    // invokes at most one batch of a group at a time, so runs queue up instead of overlapping: no reserved
    // concurrency, which an account with a small concurrency quota cannot grant.
    this.compactionRuns = new sqs.Queue(this, 'CompactionRuns', {
      fifo: true,
      // Each scheduled event has its own id and time, so its body is its deduplication id.
      contentBasedDeduplication: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda needs at least the function's timeout; a failed run is tried again once it has passed.
      visibilityTimeout: COMPACTOR_TIMEOUT,
      // A run not started within the hour is no loss: the next one finds the same days.
      retentionPeriod: COMPACTION_SCHEDULE,
    });
    Validations.of(this.compactionRuns).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'A compaction run that keeps failing needs no keeping: its message expires within the hour and the next run compacts the same days.',
    });
    this.compactionSchedule = new events.Rule(this, 'CompactionSchedule', {
      description: 'mlship analytics: compact the closed days of the Parquet store',
      schedule: events.Schedule.rate(COMPACTION_SCHEDULE),
      targets: [new targets.SqsQueue(this.compactionRuns, { messageGroupId: COMPACTION_GROUP })],
    });
    this.compactor.function.addEventSourceMapping('CompactionRunsSource', {
      eventSourceArn: this.compactionRuns.queueArn,
      batchSize: 1,
    });
    grantActions(this.compactor, SQS_EVENT_SOURCE_ACTIONS, [this.compactionRuns.queueArn]);

    this.databaseName = glueDatabaseName(props.namePrefix);
    this.workgroupName = athenaWorkgroupName(props.namePrefix);
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: `mlship prediction analytics of model ${manifest.name}` },
    });
    const tableOf = (name: AnalyticsTable) =>
      this.newTable(name, TABLE_IDS[name], tablePrefix(name), tableColumns(name, manifest), manifest);
    this.tables = { predictions: tableOf('predictions'), feedback: tableOf('feedback'), shadow_predictions: tableOf('shadow_predictions') };
    const queries = namedQueriesFor(manifest, props.baseline);
    if (queries.includes('feature-drift'))
      this.featureBinsTable = this.newTable(FEATURE_BINS_TABLE, 'FeatureBinsTable', FEATURE_BINS_PREFIX, FEATURE_BINS_COLUMNS, manifest);

    this.resultsBucket = new s3.Bucket(this, 'QueryResults', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [
        { expiration: Duration.days(props.resultsExpirationDays) },
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy,
      autoDeleteObjects,
    });
    Validations.of(this.resultsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Athena query results only, expiring after analyticsResultsExpirationDays; the queries themselves are recorded in the workgroup history and CloudTrail.',
    });
    if (props.resultsBucketArnExportName !== undefined) {
      new CfnOutput(this, 'QueryResultsArn', { value: this.resultsBucket.bucketArn, exportName: props.resultsBucketArnExportName });
    }

    this.workgroup = new athena.CfnWorkGroup(this, 'Workgroup', {
      name: this.workgroupName,
      description: 'mlship prediction analytics: encrypted results, per-query scan limit',
      state: 'ENABLED',
      // Deleting the stack deletes the named queries and the query history with the workgroup.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffMiB * 1024 * 1024,
        publishCloudWatchMetricsEnabled: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });

    this.namedQueries = queries.map((name) => {
      // The workgroup Ref orders the creation: a named query needs its workgroup.
      return new athena.CfnNamedQuery(this, `Query-${name}`, {
        name,
        description: `${QUERY_DESCRIPTIONS[name]}. Parameters: the first day (yyyy-mm-dd) of the window, once per ?.`,
        database: this.database.ref,
        workGroup: this.workgroup.ref,
        queryString: namedQuerySql(name, manifest, props.baseline),
      });
    });
  }

  /**
   * Lets `grantee` run queries in the workgroup over the two tables of answered predictions and feedback
   * (and, with `shadowPredictions`, the shadow predictions; with `featureBins`, the binned counts): start
   * and read its queries, read the catalog entries, the Parquet objects and the results it writes.
   * Nothing else in the bucket.
   * A grantee of another stack names the workgroup and database by their fixed names and, with
   * `resultsBucketArnExportName`, imports the results bucket by that export, so its stack depends on this
   * one only by name (add the stack dependency).
   */
  public grantQuery(grantee: iam.IGrantable, opts: GrantQueryOptions = {}): iam.Grant {
    if (opts.featureBins === true && this.featureBinsTable === undefined)
      throw new Error('grantQuery: `featureBins` needs the feature-drift query, which needs a baseline and tabular inputs; leave it out.');
    const stack = Stack.of(this);
    const local = !Construct.isConstruct(grantee) || Stack.of(grantee) === stack;
    const workgroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: local ? this.workgroup.ref : this.workgroupName,
    });
    const database = local ? this.database.ref : this.databaseName;
    const exported = this.resultsBucketArnExportName;
    const resultsBucketArn = local || exported === undefined ? this.resultsBucket.bucketArn : Fn.importValue(exported);
    const dataBucketArn = this.dataBucket.bucketArn;
    const catalog = [
      stack.formatArn({ service: 'glue', resource: 'catalog' }),
      stack.formatArn({ service: 'glue', resource: 'database', resourceName: database }),
      ...[
        ...ANSWERED_TABLES,
        ...(opts.shadowPredictions === true ? (['shadow_predictions'] as const) : []),
        ...(opts.featureBins === true ? [FEATURE_BINS_TABLE] : []),
      ].map((t) => stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${database}/${t}` })),
    ];
    const statements: [readonly string[], string[], Record<string, Record<string, unknown>>?][] = [
      [
        // What the query function's Athena engine calls (lambda/analytics/athena-engine.ts).
        ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
        [workgroupArn],
      ],
      [['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'], catalog],
      [['s3:GetObject'], [`${dataBucketArn}/${PREFIX.analytics}*`]],
      [['s3:ListBucket'], [dataBucketArn], { StringLike: { 's3:prefix': [`${PREFIX.analytics}*`] } }],
      [['s3:GetBucketLocation'], [dataBucketArn, resultsBucketArn]],
      [['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'], [`${resultsBucketArn}/results/*`]],
      [['s3:ListBucket'], [resultsBucketArn], { StringLike: { 's3:prefix': ['results/*'] } }],
    ];
    const grants = statements.map(([actions, resourceArns, conditions]) => grantActions(grantee, actions, resourceArns, conditions));
    if (Construct.isConstruct(grantee)) {
      acknowledgeWildcardResource(
        grantee,
        `${dataBucketArn}/${PREFIX.analytics}*`,
        'Athena reads the Parquet objects of the tables, which live under analytics/ only.',
      );
      acknowledgeWildcardResource(
        grantee,
        `${resultsBucketArn}/results/*`,
        'Athena writes and reads query results under results/ of the results bucket, one object per query.',
      );
    }
    return grants.reduce((all, g) => all.combine(g));
  }

  /** One Glue table over the Parquet objects under `prefix`, with partition projection on model and day. */
  private newTable(name: string, id: string, prefix: string, columns: readonly ColumnSpec[], manifest: ModelManifest): glue.CfnTable {
    const location = `s3://${this.dataBucket.bucketName}/${prefix}`;
    return new glue.CfnTable(this, id, {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.database.ref,
      tableInput: {
        name,
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          classification: 'parquet',
          // Partition projection: Athena computes the partitions from these rules, no crawler or partition list.
          'projection.enabled': 'true',
          'projection.model.type': 'enum',
          'projection.model.values': manifest.name,
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': `${PROJECTION_FIRST_DAY},NOW`,
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'storage.location.template': `${location}model=\${model}/dt=\${dt}/`,
        },
        partitionKeys: PARTITION_KEYS.map((k) => ({ name: k, type: 'string' })),
        storageDescriptor: {
          location,
          columns: columns.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        },
      },
    });
  }
}

/** Every problem with the props, in one error, each saying how to fix it. */
function checkPredictionAnalyticsProps(props: PredictionAnalyticsProps): void {
  const problems: string[] = [];
  if (props.table.tableStreamArn === undefined) {
    problems.push('The analytics writer reads the prediction log stream: turn the table stream on (config `analytics: true` does).');
  }
  const cutoff = props.bytesScannedCutoffMiB;
  if (!Token.isUnresolved(cutoff) && !(Number.isInteger(cutoff) && cutoff >= ATHENA_MIN_CUTOFF_MIB)) {
    problems.push(
      `\`bytesScannedCutoffMiB\` must be a whole number of at least ${ATHENA_MIN_CUTOFF_MIB} (Athena's minimum); got ${cutoff}.`,
    );
  }
  const days = props.resultsExpirationDays;
  if (!Token.isUnresolved(days) && !(Number.isInteger(days) && days >= 1)) {
    problems.push(`\`resultsExpirationDays\` must be a whole number of days, at least 1; got ${days}.`);
  }
  if (problems.length) throw new Error(`PredictionAnalytics:\n  - ${problems.join('\n  - ')}`);
}
