/**
 * The IAM actions mlship grants, one set per purpose and each in one place (as aws-cdk-lib's perms.ts):
 * the grant methods name a set, never a list of their own.
 */

/** The prediction log table. */
export const LOG_TABLE_ACTIONS = {
  /** Write a log item; a conditional PutItem makes each write exactly-once. */
  write: ['dynamodb:PutItem'],
  /** Read, update and delete idempotency records (granted with a condition on the leading key). */
  idempotency: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  /** Read one prediction by id. */
  readItem: ['dynamodb:GetItem'],
  /** Read a prediction and set its label (feedback). */
  label: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  /** Query an index. */
  query: ['dynamodb:Query'],
  /** Read the versions' routing item, and store the deployment's own when none is stored (granted with a condition on the leading key). */
  routing: ['dynamodb:GetItem', 'dynamodb:PutItem'],
} as const;

/** What Lambda's SQS event source mapping calls with the function's role (no sqs:GetQueueUrl, which nothing calls). */
export const SQS_EVENT_SOURCE_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueAttributes',
] as const;

/** Sending one message to a queue. */
export const QUEUE_SEND_ACTIONS = ['sqs:SendMessage'] as const;

/** The dead-letter queue of log records the table refused. */
export const LOG_DLQ_ACTIONS = {
  send: QUEUE_SEND_ACTIONS,
  /** The replay function's event source mapping polls and deletes. */
  consume: SQS_EVENT_SOURCE_ACTIONS,
} as const;

/** Objects of the data bucket (always on one key prefix). */
export const DATA_BUCKET_ACTIONS = {
  put: ['s3:PutObject'],
  get: ['s3:GetObject'],
  /** Rewrite a prefix's objects: read them, write the merged object, delete what was merged. */
  rewrite: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
  /** List a prefix (granted on the bucket with an `s3:prefix` condition). */
  list: ['s3:ListBucket'],
} as const;

/** The batch prefixes of the data bucket, as the batch job (a transform job or the Fargate task) uses them. */
export const BATCH_DATA_ACTIONS = {
  /** Read input objects (and, for the Fargate task, the model package). */
  read: ['s3:GetObject'],
  /** Write result objects; multipart uploads that fail are aborted. */
  write: ['s3:PutObject', 's3:AbortMultipartUpload'],
  /** Batch Transform lists the input prefix (S3Prefix data source); granted with a prefix condition. */
  list: ['s3:ListBucket'],
} as const;

/** What SageMaker writes with a model's role while a transform job runs (its log group, its streams, its metrics). */
export const TRANSFORM_JOB_LOG_ACTIONS = {
  logGroup: ['logs:CreateLogGroup', 'logs:DescribeLogStreams'],
  logStreams: ['logs:CreateLogStream', 'logs:PutLogEvents'],
} as const;

/** A KMS key CloudWatch alarms publish through (an SNS topic encrypted with it). */
export const ALARM_TOPIC_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'] as const;

/** Publishing to an SNS topic (the quality job's promotion decisions). */
export const TOPIC_PUBLISH_ACTIONS = ['sns:Publish'] as const;

/** A publisher's calls on an encrypted topic's key: SNS makes a data key and decrypts it on its behalf. */
export const PUBLISH_ENCRYPTED_TOPIC_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'] as const;

/** Calling a SageMaker endpoint. */
export const ENDPOINT_INVOKE_ACTIONS = ['sagemaker:InvokeEndpoint'] as const;

/** What Lambda needs to attach a function to a VPC; EC2 offers no resource-level scope for them. */
export const VPC_ATTACHMENT_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
] as const;

/** A SageMaker model's own logs and metrics (its execution role). */
export const SAGEMAKER_ENDPOINT_LOG_ACTIONS = [
  'logs:CreateLogGroup',
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'logs:DescribeLogStreams',
] as const;
export const PUT_METRIC_DATA_ACTIONS = ['cloudwatch:PutMetricData'] as const;

/** Reading CloudWatch metrics and dashboards. */
export const READ_METRICS_ACTIONS = ['cloudwatch:GetMetricData', 'cloudwatch:ListMetrics', 'cloudwatch:GetDashboard'] as const;
