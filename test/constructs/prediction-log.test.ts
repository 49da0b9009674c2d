/**
 * PredictionLog: the table with the contract's keys and indexes, the dead-letter queue with its poison
 * queue, the replay function bound to both; the same logical IDs as the Data stack's own resources had;
 * adoption of an existing table and queue; validation that says how to fix the props.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { ENV } from '../../contract/env';
import { LIMITS } from '../../contract/limits';
import { LOG_TABLE } from '../../contract/prediction-log';
import { PredictionLog, PredictionLogAccess } from '../../lib';
import { constructStack, logicalIdIn } from '../support/construct-stack';

function fixture() {
  const { app, stack, deployment } = constructStack();
  const bucket = new s3.Bucket(stack, 'Data');
  return { app, stack, deployment, bucket };
}

test('makes the table with the contract keys and both indexes, the queues with their redrive, and the replay', () => {
  // GIVEN
  const { stack, deployment, bucket } = fixture();
  // WHEN
  const log = new PredictionLog(stack, 'Log', { deployment, bucket });
  // THEN
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::DynamoDB::Table', {
    KeySchema: [{ AttributeName: LOG_TABLE.partitionKey, KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    TimeToLiveSpecification: { AttributeName: LOG_TABLE.ttlAttribute, Enabled: true },
    GlobalSecondaryIndexes: [LOG_TABLE.byModelIndex, LOG_TABLE.byCallerIndex].map((ix) =>
      Match.objectLike({
        IndexName: ix.name,
        KeySchema: [
          { AttributeName: ix.partitionKey, KeyType: 'HASH' },
          { AttributeName: ix.sortKey, KeyType: 'RANGE' },
        ],
      }),
    ),
  });
  expect(t.findResources('AWS::DynamoDB::Table', { Properties: { StreamSpecification: Match.anyValue() } })).toEqual({});
  t.resourceCountIs('AWS::SQS::Queue', 2);
  t.hasResourceProperties('AWS::SQS::Queue', {
    VisibilityTimeout: 180,
    RedrivePolicy: { deadLetterTargetArn: stack.resolve(log.poisonQueue?.queueArn), maxReceiveCount: LIMITS.logDlqMaxReceives },
  });
  t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: stack.resolve(log.logDlq.queueArn),
    FunctionName: { Ref: logicalIdIn(log.replay.function) },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  });
  t.hasResourceProperties('AWS::Lambda::Function', {
    Environment: {
      Variables: Match.objectLike({
        [ENV.PREDICTION_TABLE]: stack.resolve(log.table.tableName),
        [ENV.LOG_DLQ_URL]: stack.resolve(log.logDlq.queueUrl),
        [ENV.DATA_BUCKET]: stack.resolve(bucket.bucketName),
      }),
    },
  });
});

test('protects the table from deletion unless the stack is a throw-away one', () => {
  // GIVEN a retained deployment and a throw-away one (the fixture's removal policy is DESTROY)
  const { stack, deployment, bucket } = fixture();
  new PredictionLog(stack, 'Kept', { deployment: { ...deployment, removalPolicy: RemovalPolicy.RETAIN }, bucket });
  new PredictionLog(stack, 'Dev', { deployment, bucket });
  // THEN DynamoDB refuses to delete the kept table, and the dev table can go with its stack
  const tables = Template.fromStack(stack).findResources('AWS::DynamoDB::Table');
  expect(Object.values(tables).map((r) => [r.DeletionPolicy, r.Properties.DeletionProtectionEnabled])).toEqual([
    ['Retain', true],
    ['Delete', false],
  ]);
});

test('stream: true turns on the stream of new images that the analytics writer reads', () => {
  const { stack, deployment, bucket } = fixture();
  const log = new PredictionLog(stack, 'Log', { deployment, bucket, stream: true });
  Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_IMAGE' } });
  expect(log.table.tableStreamArn).toBeDefined();
});

test("with the id 'Default' its resources keep the logical IDs they had as the stack's own children", () => {
  // GIVEN the construct as the Data stack adds it, and the same resources declared directly in another stack
  const { stack, deployment, bucket } = fixture();
  const log = new PredictionLog(stack, 'Default', { deployment, bucket });
  const before = new Stack(undefined, 'Before');
  const table = new dynamodb.Table(before, 'PredictionLog', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
  const poison = new sqs.Queue(before, 'LogReplayFailures');
  const dlq = new sqs.Queue(before, 'LogDeadLetters');
  // (any resource at the path Replay/Function/Resource gets the replay function's logical ID)
  const replay = new sqs.Queue(new Construct(before, 'Replay'), 'Function');
  // THEN the logical IDs are the same (CDK leaves `Default` out of them)
  expect([log.table, log.poisonQueue, log.logDlq, log.replay.function].map((c) => logicalIdIn(c as IConstruct))).toEqual(
    [table, poison, dlq, replay].map(logicalIdIn),
  );
});

test('adopts an existing table and queue: it makes neither, and binds the replay to them', () => {
  // GIVEN a table and a queue the app already has
  const { stack, deployment, bucket } = fixture();
  const table = dynamodb.Table.fromTableName(stack, 'Existing', 'my-predictions');
  const queue = sqs.Queue.fromQueueArn(stack, 'ExistingDlq', 'arn:aws:sqs:eu-west-1:123456789012:my-dead-letters');
  // WHEN
  const log = new PredictionLog(stack, 'Log', { deployment, bucket, existingTableObj: table, existingQueueObj: queue });
  // THEN
  expect(log.table).toBe(table);
  expect(log.logDlq).toBe(queue);
  expect(log.poisonQueue).toBeUndefined();
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::DynamoDB::Table', 0);
  t.resourceCountIs('AWS::SQS::Queue', 0);
  t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { EventSourceArn: queue.queueArn });
  t.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([{ Action: 'dynamodb:PutItem', Effect: 'Allow', Resource: stack.resolve(table.tableArn) }]),
    },
  });
});

test('refuses an adopted table without the indexes, a stream it lacks and a FIFO queue, all in one error saying how to fix each', () => {
  // GIVEN a table of the app with no indexes and no stream, and a FIFO queue
  const { stack, deployment, bucket } = fixture();
  const table = new dynamodb.Table(stack, 'Bare', { partitionKey: { name: LOG_TABLE.partitionKey, type: dynamodb.AttributeType.STRING } });
  const queue = new sqs.Queue(stack, 'Fifo', { fifo: true });
  // WHEN
  let error: Error | undefined;
  try {
    new PredictionLog(stack, 'Log', {
      deployment,
      bucket,
      stream: true,
      deletionProtection: true,
      existingTableObj: table,
      existingQueueObj: queue,
    });
  } catch (e) {
    error = e as Error;
  }
  // THEN
  expect(error?.message).toMatch(/`stream: true` needs the stream of `existingTableObj`: turn on its NEW_IMAGE stream/);
  expect(error?.message).toMatch(new RegExp(`no index "${LOG_TABLE.byModelIndex.name}": add it with partition key`));
  expect(error?.message).toMatch(new RegExp(`no index "${LOG_TABLE.byCallerIndex.name}"`));
  expect(error?.message).toMatch(/FIFO queue: the log dead-letter queue must be a standard queue/);
  expect(error?.message).toMatch(/`deletionProtection` applies to a table this construct makes: set it on `existingTableObj` itself/);
});

test('grantTable grants each access as one statement on the table or its indexes', () => {
  // GIVEN
  const { stack, deployment, bucket } = fixture();
  const log = new PredictionLog(stack, 'Log', { deployment, bucket });
  const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  // WHEN
  const grant = log.grantTable(role, PredictionLogAccess.READ_ITEM, PredictionLogAccess.QUERY_BY_MODEL);
  // THEN
  expect(grant.success).toBe(true);
  const policy = Template.fromStack(stack).findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as iam.CfnRole) }] },
  });
  const statements = Object.values(policy).flatMap((p) => p.Properties.PolicyDocument.Statement);
  const tableArn = stack.resolve(log.table.tableArn);
  expect(statements).toEqual([
    { Action: 'dynamodb:GetItem', Effect: 'Allow', Resource: tableArn },
    { Action: 'dynamodb:Query', Effect: 'Allow', Resource: { 'Fn::Join': ['', [tableArn, `/index/${LOG_TABLE.byModelIndex.name}`]] } },
  ]);
  expect(() => log.grantTable(role)).toThrow(/name at least one PredictionLogAccess/);
});
