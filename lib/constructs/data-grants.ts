/**
 * Grants on the data stack's resources, by purpose: the prediction log table, the log dead-letter queue
 * and the data bucket's key prefixes. Each class has one private `grant()` and takes its actions from
 * perms.ts; callers (mostly `HandlerFunction.bind…()`) never write a policy statement.
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PREFIX } from '../../contract/bucket';
import { LOG_TABLE } from '../../contract/prediction-log';
import { grantActions } from './grant-actions';
import { acknowledgeWildcardResource } from './nag';
import { DATA_BUCKET_ACTIONS, LOG_DLQ_ACTIONS, LOG_TABLE_ACTIONS } from './perms';

/** What a function does with the prediction log; each is one policy statement. */
export enum PredictionLogAccess {
  /** PutItem of log items. */
  WRITE = 'write',
  /** GetItem, UpdateItem and DeleteItem of idempotency records only (ids `idem#…`). */
  IDEMPOTENCY = 'idempotency',
  /** GetItem of one prediction. */
  READ_ITEM = 'read-item',
  /** GetItem and UpdateItem: read a prediction and set its label. */
  LABEL = 'label',
  /** Query on both indexes (by model, by caller). */
  QUERY = 'query',
  /** Query on the by-model index only. */
  QUERY_BY_MODEL = 'query-by-model',
  /** GetItem and PutItem of the versions' routing item only (ids `routing#…`, docs/versions.md). */
  ROUTING = 'routing',
}

/** Grants on the prediction log table. */
export class PredictionLogGrants {
  constructor(private readonly table: dynamodb.ITable) {}

  /** Grants one access (one statement). */
  public grantAccess(grantee: iam.IGrantable, access: PredictionLogAccess): iam.Grant {
    const table = this.table.tableArn;
    const index = (name: string) => `${table}/index/${name}`;
    switch (access) {
      case PredictionLogAccess.WRITE:
        return this.grant(grantee, LOG_TABLE_ACTIONS.write, [table]);
      case PredictionLogAccess.IDEMPOTENCY:
        return this.grant(grantee, LOG_TABLE_ACTIONS.idempotency, [table], {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${LOG_TABLE.idempotencyPrefix}*`] },
        });
      case PredictionLogAccess.READ_ITEM:
        return this.grant(grantee, LOG_TABLE_ACTIONS.readItem, [table]);
      case PredictionLogAccess.LABEL:
        return this.grant(grantee, LOG_TABLE_ACTIONS.label, [table]);
      case PredictionLogAccess.QUERY:
        return this.grant(grantee, LOG_TABLE_ACTIONS.query, [index(LOG_TABLE.byModelIndex.name), index(LOG_TABLE.byCallerIndex.name)]);
      case PredictionLogAccess.ROUTING:
        return this.grant(grantee, LOG_TABLE_ACTIONS.routing, [table], {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${LOG_TABLE.routingPrefix}*`] },
        });
      case PredictionLogAccess.QUERY_BY_MODEL:
        return this.grant(grantee, LOG_TABLE_ACTIONS.query, [index(LOG_TABLE.byModelIndex.name)]);
    }
  }

  private grant(
    grantee: iam.IGrantable,
    actions: readonly string[],
    resourceArns: string[],
    conditions?: Record<string, Record<string, unknown>>,
  ): iam.Grant {
    const grant = grantActions(grantee, actions, resourceArns, conditions);
    // A table encrypted with a customer key also needs the key (the log uses an AWS-owned or managed key).
    this.table.encryptionKey?.grantDecrypt(grantee);
    return grant;
  }
}

/** What a function does with the log dead-letter queue. */
export enum LogDlqAccess {
  /** SendMessage: park a record the table refused. */
  SEND = 'send',
  /** What Lambda's SQS event source polls and deletes with. */
  CONSUME = 'consume',
}

/** Grants on the log dead-letter queue. */
export class LogDlqGrants {
  constructor(private readonly queue: sqs.IQueue) {}

  public grantAccess(grantee: iam.IGrantable, access: LogDlqAccess): iam.Grant {
    return this.grant(grantee, access === LogDlqAccess.SEND ? LOG_DLQ_ACTIONS.send : LOG_DLQ_ACTIONS.consume);
  }

  private grant(grantee: iam.IGrantable, actions: readonly string[]): iam.Grant {
    return grantActions(grantee, actions, [this.queue.queueArn]);
  }
}

/** What a function does in the data bucket: exact actions on exact key prefixes, never the whole bucket. */
export enum DataBucketAccess {
  /** PutObject under `predictions/` (large prediction inputs). */
  WRITE_PREDICTION_INPUTS = 'write-prediction-inputs',
  /** GetObject under `datasets/` and `predictions/` (instances referenced by key). */
  READ_PREDICTION_INPUTS = 'read-prediction-inputs',
  /** PutObject under `parked/log-records/` (records the replay cannot write). */
  PARK_LOG_RECORDS = 'park-log-records',
  /** PutObject under `analytics/` (the Parquet files the analytics writer makes of each stream batch). */
  WRITE_ANALYTICS = 'write-analytics',
  /** Get, Put and DeleteObject under `analytics/`, and ListBucket of that prefix (the compactor's rewrite of closed days). */
  COMPACT_ANALYTICS = 'compact-analytics',
}

/**
 * Grants on key prefixes of the data bucket. A grantee that is a construct also gets the cdk-nag
 * acknowledgement of each prefix wildcard, with the reason the prefix is all it needs.
 */
export class DataBucketGrants {
  constructor(private readonly bucket: s3.IBucket) {}

  public grantAccess(grantee: iam.IGrantable, access: DataBucketAccess): iam.Grant {
    switch (access) {
      case DataBucketAccess.WRITE_PREDICTION_INPUTS:
        return this.grant(
          grantee,
          DATA_BUCKET_ACTIONS.put,
          [PREFIX.predictions],
          'Large prediction inputs are stored under predictions/ only.',
        );
      case DataBucketAccess.READ_PREDICTION_INPUTS:
        return this.grant(
          grantee,
          DATA_BUCKET_ACTIONS.get,
          [PREFIX.datasets, PREFIX.predictions],
          'Instances referenced by key are read under datasets/ and predictions/ only.',
        );
      case DataBucketAccess.PARK_LOG_RECORDS:
        return this.grant(
          grantee,
          DATA_BUCKET_ACTIONS.put,
          [PREFIX.parkedLogRecords],
          `Log records the table refused for good are written under ${PREFIX.parkedLogRecords} only, one object per record.`,
        );
      case DataBucketAccess.WRITE_ANALYTICS:
        return this.grant(
          grantee,
          DATA_BUCKET_ACTIONS.put,
          [PREFIX.analytics],
          `The writer puts one object per stream batch under ${PREFIX.analytics}, keyed by partition and content; only that prefix.`,
        );
      case DataBucketAccess.COMPACT_ANALYTICS: {
        const rewrite = this.grant(
          grantee,
          DATA_BUCKET_ACTIONS.rewrite,
          [PREFIX.analytics],
          `The compactor reads a closed day's Parquet objects under ${PREFIX.analytics}, writes the compacted object and deletes the files it merged; only that prefix.`,
        );
        const list = grantActions(grantee, DATA_BUCKET_ACTIONS.list, [this.bucket.bucketArn], {
          StringLike: { 's3:prefix': [`${PREFIX.analytics}*`] },
        });
        return rewrite.combine(list);
      }
    }
  }

  private grant(grantee: iam.IGrantable, actions: readonly string[], prefixes: string[], reason: string): iam.Grant {
    const resourceArns = prefixes.map((p) => this.bucket.arnForObjects(`${p}*`));
    if (Construct.isConstruct(grantee)) for (const arn of resourceArns) acknowledgeWildcardResource(grantee, arn, reason);
    return grantActions(grantee, actions, resourceArns);
  }
}
