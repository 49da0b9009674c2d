/**
 * The prediction log as one construct: the table with the contract's key design and its two indexes, the
 * dead-letter queue of log records the table refused (with a poison queue behind it), and the replay
 * function that writes those records back later or parks them in the data bucket. It can adopt a table
 * and a queue the app already has (`existingTableObj`, `existingQueueObj`), as aws-solutions-constructs do.
 *
 * Logical IDs: the table, queues and function are this construct's children under the ids the Data stack
 * gave them before the construct existed (`PredictionLog`, `LogDeadLetters`, `LogReplayFailures`,
 * `Replay`). The Data stack adds the construct with the id `Default`, which CDK leaves out of logical IDs
 * (aws-cdk-lib core/lib/private/uniqueid.ts), so a deployed table and its queues keep their logical IDs and
 * are not replaced. Another app gives it any id; its resources are then named below that id.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LIMITS } from '../../contract/limits';
import { LOG_TABLE } from '../../contract/prediction-log';
import { DataBucketAccess, LogDlqAccess, LogDlqGrants, PredictionLogAccess, PredictionLogGrants } from '../constructs/data-grants';
import { HandlerFunction } from '../constructs/handler-function';
import type { DeploymentContext } from '../deployment-context';

/** How long the dead-letter queues keep a message: SQS's longest, time for a person to look. */
const DEAD_LETTER_RETENTION = Duration.days(14);
/** The replay function's timeout; the queue's visibility timeout is six times it, as Lambda's SQS source recommends. */
const REPLAY_TIMEOUT = Duration.seconds(30);

export interface PredictionLogProps {
  /** Paths, backend and log retention of the replay function; the removal policy of the table and queues it makes. */
  readonly deployment: DeploymentContext;
  /** The data bucket: the replay function parks a record the table refuses for good under `parked/log-records/`. */
  readonly bucket: s3.IBucket;
  /**
   * Turn on the table's stream of new images, which the analytics writer reads. With `existingTableObj`,
   * that table's stream must already be on.
   * @default false
   */
  readonly stream?: boolean;
  /**
   * Protect the table this construct makes from deletion (DynamoDB refuses DeleteTable until it is turned off).
   * @default - on, unless the deployment's removal policy is DESTROY (a throw-away stack must be able to go)
   */
  readonly deletionProtection?: boolean;
  /**
   * A table the app already has, used instead of a new one. It must have the key design of
   * contract/prediction-log.ts (`LOG_TABLE`): its partition key and both indexes (checked when it is a
   * `dynamodb.Table` of this app).
   * @default - a new table (on-demand, point-in-time recovery, TTL on the contract's attribute)
   */
  readonly existingTableObj?: dynamodb.ITable;
  /**
   * A standard queue the app already has, used as the log dead-letter queue instead of a new one. Its
   * visibility timeout must be at least the replay function's 30 s; its own redrive is the app's.
   * @default - a new encrypted queue with a poison queue behind it
   */
  readonly existingQueueObj?: sqs.IQueue;
}

export class PredictionLog extends Construct {
  /** The prediction log table (made here, or `existingTableObj`). */
  public readonly table: dynamodb.ITable;
  /** Log records the table refused; the replay function writes them later (made here, or `existingQueueObj`). */
  public readonly logDlq: sqs.IQueue;
  /**
   * Messages the replay function failed on repeatedly, kept for a person to look at.
   * @default - none when the log dead-letter queue is adopted (its redrive is its owner's)
   */
  public readonly poisonQueue?: sqs.Queue;
  /** Writes the dead-lettered log records back to the table. */
  public readonly replay: HandlerFunction;

  constructor(scope: Construct, id: string, props: PredictionLogProps) {
    super(scope, id);
    checkPredictionLogProps(props);
    const { deployment } = props;
    const { removalPolicy } = deployment;

    this.table = props.existingTableObj ?? newTable(this, props);

    if (props.existingQueueObj) {
      this.logDlq = props.existingQueueObj;
    } else {
      this.poisonQueue = new sqs.Queue(this, 'LogReplayFailures', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: DEAD_LETTER_RETENTION,
        removalPolicy,
      });
      Validations.of(this.poisonQueue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter queue of the log dead-letter queue; it is the end of the line.',
      });
      this.logDlq = new sqs.Queue(this, 'LogDeadLetters', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: DEAD_LETTER_RETENTION,
        visibilityTimeout: Duration.seconds(REPLAY_TIMEOUT.toSeconds() * 6),
        // Replay parks a record in the bucket after LIMITS.replayMaxReceives deliveries; the redrive is the
        // backstop for when parking itself fails.
        deadLetterQueue: { queue: this.poisonQueue, maxReceiveCount: LIMITS.logDlqMaxReceives },
        removalPolicy,
      });
    }

    this.replay = new HandlerFunction(this, 'Replay', { name: 'replay', deployment, timeout: REPLAY_TIMEOUT });
    // A conditional PutItem makes each replay write exactly-once; nothing else on the table.
    this.replay.bindPredictionLog(this.table, PredictionLogAccess.WRITE);
    // Records it cannot write are parked under their own prefix, never anywhere else in the bucket.
    this.replay.bindDataBucket(props.bucket, DataBucketAccess.PARK_LOG_RECORDS);
    // A plain event source mapping with the exact rights Lambda's poller uses: `SqsEventSource` would grant
    // `grantConsumeMessages`, which adds sqs:GetQueueUrl that nothing calls.
    this.replay.function.addEventSourceMapping('LogDlqSource', {
      eventSourceArn: this.logDlq.queueArn,
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(5),
      reportBatchItemFailures: true,
    });
    this.replay.bindLogDlq(this.logDlq, LogDlqAccess.CONSUME);
  }

  /**
   * Grants each access to the table, in order (one statement each). A function that also needs the
   * table's name uses `HandlerFunction.bindPredictionLog`, which sets the variable with the grant.
   */
  public grantTable(grantee: iam.IGrantable, ...access: PredictionLogAccess[]): iam.Grant {
    const grants = new PredictionLogGrants(this.table);
    const [first, ...rest] = access.map((a) => grants.grantAccess(grantee, a));
    if (first === undefined) throw new Error('grantTable: name at least one PredictionLogAccess.');
    return rest.reduce((all, g) => all.combine(g), first);
  }

  /** Grants one access to the log dead-letter queue (`HandlerFunction.bindLogDlq` also sets its URL). */
  public grantLogDlq(grantee: iam.IGrantable, access: LogDlqAccess): iam.Grant {
    return new LogDlqGrants(this.logDlq).grantAccess(grantee, access);
  }
}

/** Every problem with the props, in one error, each saying how to fix it. */
function checkPredictionLogProps(props: PredictionLogProps): void {
  const problems: string[] = [];
  const table = props.existingTableObj;
  if (table && props.stream && table.tableStreamArn === undefined) {
    problems.push(
      '`stream: true` needs the stream of `existingTableObj`: turn on its NEW_IMAGE stream, or import it with `tableStreamArn`.',
    );
  }
  if (table instanceof dynamodb.Table) {
    for (const ix of [LOG_TABLE.byModelIndex, LOG_TABLE.byCallerIndex]) {
      if (!hasIndex(table, ix.name)) {
        problems.push(
          `\`existingTableObj\` has no index "${ix.name}": add it with partition key "${ix.partitionKey}" and sort key "${ix.sortKey}" (contract/prediction-log.ts).`,
        );
      }
    }
  }
  if (table && props.deletionProtection !== undefined) {
    problems.push('`deletionProtection` applies to a table this construct makes: set it on `existingTableObj` itself, or leave it out.');
  }
  const queue = props.existingQueueObj;
  if (queue?.fifo) problems.push('`existingQueueObj` is a FIFO queue: the log dead-letter queue must be a standard queue.');
  if (problems.length) throw new Error(`PredictionLog:\n  - ${problems.join('\n  - ')}`);
}

/** Whether the table declares the index (`schema()` throws for an index it does not know). */
function hasIndex(table: dynamodb.Table, indexName: string): boolean {
  try {
    table.schema(indexName);
    return true;
  } catch {
    return false;
  }
}

/** The table with the contract's key design: the handlers query these indexes. */
function newTable(scope: Construct, props: PredictionLogProps): dynamodb.Table {
  const table = new dynamodb.Table(scope, 'PredictionLog', {
    partitionKey: { name: LOG_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    timeToLiveAttribute: LOG_TABLE.ttlAttribute,
    // The analytics writer reads new and updated items from the stream; the new image is all it needs.
    stream: props.stream ? dynamodb.StreamViewType.NEW_IMAGE : undefined,
    removalPolicy: props.deployment.removalPolicy,
    // A stack deletion or a replacing change leaves a retained table, but only this stops a DeleteTable call.
    deletionProtection: props.deletionProtection ?? props.deployment.removalPolicy !== RemovalPolicy.DESTROY,
  });
  for (const ix of [LOG_TABLE.byModelIndex, LOG_TABLE.byCallerIndex]) {
    table.addGlobalSecondaryIndex({
      indexName: ix.name,
      partitionKey: { name: ix.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: ix.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return table;
}
