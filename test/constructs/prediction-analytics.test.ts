/**
 * PredictionAnalytics: the writer on the log's stream, the scheduled compactor, the Glue tables, the
 * workgroup and its named queries; the results export only when asked for; grantQuery on exact resources;
 * the same logical IDs as the Analytics stack's own resources had; validation that says how to fix.
 */
import { join } from 'node:path';
import { CfnResource, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { athenaWorkgroupName, glueDatabaseName } from '../../contract/analytics';
import { namedQueriesFor } from '../../contract/analytics-queries';
import { FEATURE_BINS_TABLE } from '../../contract/feature-bins';
import { readBaselineFile, readManifestFile } from '../../contract/model-files';
import { LOG_TABLE } from '../../contract/prediction-log';
import { PredictionAnalytics, type PredictionAnalyticsProps } from '../../lib';
import { constructStack, logicalIdIn, ROOT } from '../support/construct-stack';

const MODEL_DIR = join(ROOT, 'models', 'breast-cancer');
const manifest = readManifestFile(join(MODEL_DIR, 'model.json'));
const baseline = readBaselineFile(join(MODEL_DIR, 'baseline.json'));

function fixture(overrides: Partial<PredictionAnalyticsProps> = {}, stream = true) {
  const { stack, deployment } = constructStack();
  const bucket = new s3.Bucket(stack, 'Data');
  const table = new dynamodb.Table(stack, 'Log', {
    partitionKey: { name: LOG_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
    stream: stream ? dynamodb.StreamViewType.NEW_IMAGE : undefined,
  });
  const props: PredictionAnalyticsProps = {
    deployment,
    manifest,
    baseline,
    bucket,
    table,
    namePrefix: 'Test',
    bytesScannedCutoffMiB: 100,
    resultsExpirationDays: 7,
    ...overrides,
  };
  return { stack, bucket, table, props };
}

test('the writer reads the stream, the compactor runs on its schedule, the catalog and workgroup hold the queries', () => {
  // GIVEN
  const { stack, table, props } = fixture();
  // WHEN
  const analytics = new PredictionAnalytics(stack, 'Analytics', props);
  // THEN
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: stack.resolve(table.tableStreamArn),
    FunctionName: { Ref: logicalIdIn(analytics.writer.function) },
    StartingPosition: 'TRIM_HORIZON',
    BisectBatchOnFunctionError: false,
  });
  t.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'rate(1 hour)',
    Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalIdIn(analytics.compactionRuns), 'Arn'] } })],
  });
  t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [logicalIdIn(analytics.compactionRuns), 'Arn'] },
    FunctionName: { Ref: logicalIdIn(analytics.compactor.function) },
  });
  t.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: Match.objectLike({ Name: glueDatabaseName('Test') }) });
  // Predictions, feedback and shadow predictions, and the binned feature counts the feature-drift query reads
  t.resourceCountIs('AWS::Glue::Table', 4);
  expect(analytics.featureBinsTable?.tableInput).toMatchObject({ name: FEATURE_BINS_TABLE });
  t.hasResourceProperties('AWS::Athena::WorkGroup', {
    Name: athenaWorkgroupName('Test'),
    WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 100 * 1024 * 1024, EnforceWorkGroupConfiguration: true }),
  });
  t.resourceCountIs('AWS::Athena::NamedQuery', namedQueriesFor(manifest, baseline).length);
  t.hasResourceProperties('AWS::S3::Bucket', {
    LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 7 })]) },
  });
  // No export unless one is named.
  expect(t.toJSON().Outputs ?? {}).toEqual({});
});

test('without a baseline there is no feature-drift query, and no table of binned counts for it', () => {
  // GIVEN / WHEN
  const { stack, props } = fixture({ baseline: undefined });
  const analytics = new PredictionAnalytics(stack, 'Analytics', props);
  // THEN
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::Glue::Table', 3);
  expect(analytics.featureBinsTable).toBeUndefined();
  expect(analytics.namedQueries.map((q) => q.name)).not.toContain('feature-drift');
  // AND a grant on that table says why it cannot be had
  const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  expect(() => analytics.grantQuery(role, { featureBins: true })).toThrow(/`featureBins` needs the feature-drift query/);
});

test('resultsBucketArnExportName exports the results bucket, and a role of another stack imports it by that name', () => {
  // GIVEN the construct with an export, and a role in another stack of the app
  const { stack, props } = fixture({ resultsBucketArnExportName: 'Test-QueryResultsArn' });
  const analytics = new PredictionAnalytics(stack, 'Analytics', props);
  const other = new Stack(stack.node.root, 'Other');
  const role = new iam.Role(other, 'Query', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  // WHEN
  analytics.grantQuery(role);
  // THEN the export is there, and the role's policy names the workgroup by name and imports the results bucket
  Template.fromStack(stack).hasOutput('*', { Export: { Name: 'Test-QueryResultsArn' } });
  const policy = JSON.stringify(Template.fromStack(other).findResources('AWS::IAM::Policy'));
  expect(policy).toContain(`workgroup/${athenaWorkgroupName('Test')}`);
  expect(policy).toContain('{"Fn::ImportValue":"Test-QueryResultsArn"}');
  expect(policy).not.toContain('Fn::GetAtt');
});

test('grantQuery gives a role of the stack the workgroup, the catalog, the analytics objects and its results only', () => {
  // GIVEN
  const { stack, bucket, props } = fixture();
  const analytics = new PredictionAnalytics(stack, 'Analytics', props);
  const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const analyst = new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() });
  // WHEN
  const grant = analytics.grantQuery(role);
  analytics.grantQuery(analyst, { shadowPredictions: true });
  // THEN
  expect(grant.success).toBe(true);
  const template = Template.fromStack(stack);
  const statementsOf = (r: iam.Role) =>
    Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: stack.getLogicalId(r.node.defaultChild as iam.CfnRole) }] },
      }),
    ).flatMap((p) => p.Properties.PolicyDocument.Statement);
  const statements = statementsOf(role);
  expect(JSON.stringify(statements[0].Resource)).toContain(JSON.stringify(stack.resolve(analytics.workgroup.ref)));
  expect(statements.map((s) => s.Action)).toEqual([
    ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
    ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
    's3:GetObject',
    's3:ListBucket',
    's3:GetBucketLocation',
    ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
    's3:ListBucket',
  ]);
  expect(statements[2].Resource).toEqual({ 'Fn::Join': ['', [stack.resolve(bucket.bucketArn), '/analytics/*']] });
  // The answered predictions and feedback only: the shadow predictions' table when asked for
  // (each table's ARN ends in `"/<table>"` after the database's Ref)
  const tables = (of: unknown) => [...JSON.stringify(of).matchAll(/"\/([a-z_]+)"/g)].map((m) => m[1]);
  expect(tables(statements[1].Resource)).toEqual(['predictions', 'feedback']);
  expect(tables(statementsOf(analyst)[1].Resource)).toEqual(['predictions', 'feedback', 'shadow_predictions']);
});

test("with the id 'Default' its resources keep the logical IDs they had as the stack's own children", () => {
  // GIVEN the construct as the Analytics stack adds it, and the same resources declared directly in another stack
  const { stack, props } = fixture();
  const analytics = new PredictionAnalytics(stack, 'Default', props);
  const before = new Stack(undefined, 'Before');
  const database = new CfnResource(before, 'Database', { type: 'AWS::Glue::Database' });
  const results = new s3.Bucket(before, 'QueryResults');
  const workgroup = new CfnResource(before, 'Workgroup', { type: 'AWS::Athena::WorkGroup' });
  // THEN (resources at the same paths get the same logical IDs, whatever their type)
  expect([analytics.database, analytics.resultsBucket, analytics.workgroup].map(logicalIdIn)).toEqual(
    [database, results, workgroup].map(logicalIdIn),
  );
  expect(logicalIdIn(analytics.writer.function)).toMatch(/^WriterFunction[0-9A-F]{8}$/);
});

test('refuses a table without a stream, a scan limit below Athena minimum and a result expiry under a day, in one error', () => {
  // GIVEN a table whose stream is off
  const { stack, props } = fixture({ bytesScannedCutoffMiB: 5, resultsExpirationDays: 0 }, false);
  // WHEN
  let error: Error | undefined;
  try {
    new PredictionAnalytics(stack, 'Analytics', props);
  } catch (e) {
    error = e as Error;
  }
  // THEN
  expect(error?.message).toMatch(/reads the prediction log stream: turn the table stream on/);
  expect(error?.message).toMatch(/`bytesScannedCutoffMiB` must be a whole number of at least 10 \(Athena's minimum\); got 5/);
  expect(error?.message).toMatch(/`resultsExpirationDays` must be a whole number of days, at least 1; got 0/);
});
