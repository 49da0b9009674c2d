/**
 * The Analytics stack as synthesized: the writer on the table's stream with exact grants, the Glue
 * catalog with partition projection, the Athena workgroup's enforced encrypted results and scan limit,
 * one named query per query the model supports, cdk-nag and the CloudFormation validation report clean;
 * and the config key that leaves it all out.
 */

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { tableColumns } from '../../contract/analytics';
import { NAMED_QUERIES, namedQueriesFor, namedQuerySql } from '../../contract/analytics-queries';
import { parseBaseline } from '../../contract/baseline';
import { ANALYTICS_OFF, ENV } from '../../contract/env';
import { FEATURE_BINS_COLUMNS, FEATURE_BINS_TABLE } from '../../contract/feature-bins';
import { parseConfig } from '../../lib/config';
import { buildMlshipApp, type MlshipStacks } from '../../lib/mlship-app';
import { ensureWebBuiltSync } from '../../web/build';
import { defined } from '../support/defined';
import { logicalIdOf } from './backend-suite';
import { bare, ROOT, statementsOfRole } from './synth';

/** Every action of a query grant (Athena, the catalog, the store and the results bucket), one per statement, sorted. */
const QUERY_ACTIONS = [
  'athena:GetQueryExecution',
  'athena:GetQueryResults',
  'athena:StartQueryExecution',
  'athena:StopQueryExecution',
  'glue:GetDatabase',
  'glue:GetPartitions',
  'glue:GetTable',
  's3:AbortMultipartUpload',
  's3:GetBucketLocation',
  's3:GetObject',
  's3:GetObject',
  's3:ListBucket',
  's3:ListBucket',
  's3:PutObject',
].sort();

function synth(
  overrides: Record<string, unknown> = {},
  beforeSynth?: (stacks: MlshipStacks) => void,
): { stacks: MlshipStacks; violations: unknown[] } {
  const outdir = mkdtempSync(join(tmpdir(), 'mlship-analytics-synth-'));
  // Bundling skipped (as `cdk synth --exclusively` does): these checks read the templates, not the code.
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildMlshipApp(app, parseConfig(overrides), {
    rootDir: ROOT,
    buildDir: join(outdir, 'build'),
    dashboardDir: ensureWebBuiltSync(),
  });
  beforeSynth?.(stacks);
  app.synth();
  const report = join(outdir, 'validation-report.json');
  const violations = existsSync(report)
    ? (JSON.parse(readFileSync(report, 'utf8')) as { pluginReports: { violations: unknown[] }[] }).pluginReports.flatMap(
        (p) => p.violations,
      )
    : [];
  return { stacks, violations };
}

describe('Analytics stack', () => {
  let stacks: MlshipStacks;
  let t: Template;
  let violations: unknown[];
  beforeAll(() => {
    ({ stacks, violations } = synth());
    t = Template.fromStack(defined(stacks.analytics, 'the analytics stack'));
  });

  it('is on by default, with cdk-nag and the CloudFormation validation report clean', () => {
    expect(stacks.analytics).toBeDefined();
    expect(violations).toEqual([]);
  });

  it('turns the table stream on and feeds the writer from it, without bisecting retried batches', () => {
    Template.fromStack(stacks.data).hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_IMAGE' } });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalIdOf(defined(stacks.analytics, 'the analytics stack').writer.function) },
      EventSourceArn: { 'Fn::ImportValue': Match.stringLikeRegexp('PredictionLog.*StreamArn') },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: false,
      MaximumRetryAttempts: 10,
    });
  });

  it('grants the writer exactly the stream reads, its failure queue and PutObject under analytics/', () => {
    const { analytics } = defined(stacks.analytics, 'the analytics stack');
    const w = analytics.writer;
    expect(statementsOfRole(t, logicalIdOf(w.role))).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`<${bare(logicalIdOf(w.logGroup))}.Arn>`] },
      { actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] },
      { actions: ['sqs:SendMessage'], resources: [`<${bare(logicalIdOf(analytics.writerFailures))}.Arn>`] },
      { actions: ['dynamodb:ListStreams'], resources: ['*'] },
      {
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: ['<import:PredictionLog.StreamArn>'],
      },
      { actions: ['s3:PutObject'], resources: ['<import:Mlship-Data-DataBucketArn>/analytics/*'] },
    ]);
  });

  it('describes a batch the writer still fails on after its retries in a queue of its own, which an alarm watches', () => {
    const { analytics } = defined(stacks.analytics, 'the analytics stack');
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalIdOf(analytics.writer.function) },
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalIdOf(analytics.writerFailures), 'Arn'] } } },
    });
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('compacts closed days hourly, one run at a time, with exactly the object rights under analytics/ it uses', () => {
    // GIVEN the compactor of the default app
    const analytics = defined(stacks.analytics, 'the analytics stack');
    const c = analytics.compactor;
    const runs = logicalIdOf(analytics.analytics.compactionRuns);
    // THEN every hour the schedule queues a run in the one message group of a FIFO queue...
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [runs, 'Arn'] }, SqsParameters: { MessageGroupId: 'compaction' } })],
    });
    t.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: true,
      VisibilityTimeout: 900,
      MessageRetentionPeriod: 3600,
      SqsManagedSseEnabled: true,
    });
    // ...which the compactor takes one message at a time: Lambda runs one batch of a FIFO group at once
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [runs, 'Arn'] },
      FunctionName: { Ref: logicalIdOf(c.function) },
      BatchSize: 1,
    });
    // AND it reserves no concurrency: a new account's quota of 10 leaves nothing to reserve
    t.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: Match.absent(),
      Timeout: 900,
      MemorySize: 2048,
      Role: { 'Fn::GetAtt': [logicalIdOf(c.role), 'Arn'] },
    });
    expect(
      Object.values(t.findResources('AWS::Lambda::Function')).filter((f) => f.Properties.ReservedConcurrentExecutions !== undefined),
    ).toEqual([]);
    // AND its role reads, writes and deletes objects under analytics/ and lists that prefix only
    expect(statementsOfRole(t, logicalIdOf(c.role))).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`<${bare(logicalIdOf(c.logGroup))}.Arn>`] },
      { actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] },
      { actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], resources: ['<import:Mlship-Data-DataBucketArn>/analytics/*'] },
      {
        actions: ['s3:ListBucket'],
        resources: ['<import:Mlship-Data-DataBucketArn>'],
        condition: { StringLike: { 's3:prefix': ['analytics/*'] } },
      },
      {
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
        resources: [`<${bare(runs)}.Arn>`],
      },
    ]);
  });

  it('describes the tables in Glue with partition projection on model and day, and the columns of the contract', () => {
    // Predictions, feedback, shadow predictions, and the compactor's binned feature counts (the model has a baseline)
    t.resourceCountIs('AWS::Glue::Table', 4);
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'predictions',
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: [
          { Name: 'model', Type: 'string' },
          { Name: 'dt', Type: 'string' },
        ],
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.model.type': 'enum',
          'projection.model.values': 'breast-cancer',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': '2020-01-01,NOW',
          'storage.location.template': Match.objectLike({
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena partition projection placeholders in the Glue table's location template
            'Fn::Join': Match.arrayWith([Match.arrayWith(['/analytics/predictions/model=${model}/dt=${dt}/'])]),
          }),
        }),
        StorageDescriptor: Match.objectLike({
          Columns: tableColumns('predictions', stacks.manifest).map((c) => ({ Name: c.name, Type: c.type, Comment: c.comment })),
          SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        }),
      }),
    });
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'feedback',
        StorageDescriptor: Match.objectLike({
          Columns: tableColumns('feedback', stacks.manifest).map((c) => ({ Name: c.name, Type: c.type, Comment: c.comment })),
        }),
      }),
    });
    // AND the shadow predictions, under the partition of the model they shadow
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'shadow_predictions',
        Parameters: Match.objectLike({
          'projection.model.values': 'breast-cancer',
          'storage.location.template': Match.objectLike({
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena partition projection placeholders in the Glue table's location template
            'Fn::Join': Match.arrayWith([Match.arrayWith(['/analytics/shadow_predictions/model=${model}/dt=${dt}/'])]),
          }),
        }),
        StorageDescriptor: Match.objectLike({
          Columns: tableColumns('shadow_predictions', stacks.manifest).map((c) => ({ Name: c.name, Type: c.type, Comment: c.comment })),
        }),
      }),
    });
    // AND the binned feature counts
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: FEATURE_BINS_TABLE,
        PartitionKeys: [
          { Name: 'model', Type: 'string' },
          { Name: 'dt', Type: 'string' },
        ],
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'storage.location.template': Match.objectLike({
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena partition projection placeholders in the Glue table's location template
            'Fn::Join': Match.arrayWith([Match.arrayWith(['/analytics/feature_bins/model=${model}/dt=${dt}/'])]),
          }),
        }),
        StorageDescriptor: Match.objectLike({
          Columns: FEATURE_BINS_COLUMNS.map((c) => ({ Name: c.name, Type: c.type, Comment: c.comment })),
        }),
      }),
    });
    // AND all the log tables end with the compaction marker the queries read
    expect(tableColumns('feedback', stacks.manifest).at(-1)?.name).toBe('compacted_at');
    expect(tableColumns('predictions', stacks.manifest).map((c) => c.name)).toContain('compacted_at');
    expect(tableColumns('shadow_predictions', stacks.manifest).at(-1)?.name).toBe('compacted_at');
  });

  it('enforces the workgroup: encrypted results in its own closed bucket and a bytes-scanned limit', () => {
    const results = logicalIdOf(defined(stacks.analytics, 'the analytics stack').resultsBucket);
    t.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 10_240 * 1024 * 1024,
        PublishCloudWatchMetricsEnabled: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
          OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: results }, '/results/']] },
        },
      },
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  it('saves every named query, rendered with the model baseline, in the workgroup', () => {
    const baseline = parseBaseline(JSON.parse(readFileSync(join(ROOT, 'models', 'breast-cancer', 'baseline.json'), 'utf8')));
    // A classifier: every named query but the regressor's error query.
    const names = namedQueriesFor(stacks.manifest, baseline);
    expect(names).toEqual(NAMED_QUERIES.filter((q) => q !== 'regression-error-by-day'));
    t.resourceCountIs('AWS::Athena::NamedQuery', names.length);
    for (const name of names) {
      t.hasResourceProperties('AWS::Athena::NamedQuery', {
        Name: name,
        QueryString: namedQuerySql(name, stacks.manifest, baseline),
        WorkGroup: { Ref: 'Workgroup' },
      });
    }
  });

  it('grantQuery gives a principal the workgroup, the catalog entries and the analytics objects only', () => {
    // GIVEN a role of the stack, WHEN it is granted queries
    let role: iam.Role | undefined;
    const { stacks: s, violations: v } = synth({}, (st) => {
      const analytics = defined(st.analytics, 'the analytics stack');
      role = new iam.Role(analytics, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() });
      analytics.grantQuery(role, { featureBins: true });
    });
    // THEN it holds exactly the query rights, on exact resources, and cdk-nag still passes
    const statements = statementsOfRole(
      Template.fromStack(defined(s.analytics, 'the analytics stack')),
      logicalIdOf(defined(role, 'the granted role')),
    );
    expect(statements.flatMap((s) => s.actions).sort()).toEqual(QUERY_ACTIONS);
    // (with `featureBins`, the table the feature-drift query reads too)
    expect(statements.find((st) => st.actions.includes('glue:GetTable'))?.resources.map((r) => r.split(':').at(-1))).toEqual([
      'catalog',
      'database/<Database>',
      'table/<Database>/predictions',
      'table/<Database>/feedback',
      'table/<Database>/feature_bins',
    ]);
    expect(statements.find((st) => st.actions.includes('s3:GetObject') && st.actions.length === 1)?.resources).toEqual([
      '<import:Mlship-Data-DataBucketArn>/analytics/*',
    ]);
    expect(v).toEqual([]);
  });

  it("gives the query function the workgroup's names and exactly the Athena, Glue and S3 rights of its queries", () => {
    // GIVEN the default app (analytics on)
    const api = Template.fromStack(stacks.api);
    const queryFn = stacks.api.functions.query;
    // THEN the function knows the workgroup and database by name, and may wait as long as API Gateway does
    api.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 29,
      Environment: {
        Variables: Match.objectLike({ [ENV.ANALYTICS_WORKGROUP]: 'Mlship-analytics', [ENV.ANALYTICS_DATABASE]: 'mlship_analytics' }),
      },
    });
    expect(t.toJSON().Resources.Workgroup.Properties.Name).toBe('Mlship-analytics');
    // AND its role holds the Athena actions on the one workgroup, Glue reads of the catalog, database and two tables
    const statements = statementsOfRole(api, logicalIdOf(queryFn.role));
    const of = (action: string) => statements.filter((st) => st.actions.includes(action)).flatMap((st) => st.resources);
    for (const action of ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'])
      expect(of(action)).toEqual(['arn:<AWS::Partition>:athena:<AWS::Region>:<AWS::AccountId>:workgroup/Mlship-analytics']);
    expect(of('glue:GetTable')).toEqual([
      'arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:catalog',
      'arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:database/mlship_analytics',
      'arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/mlship_analytics/predictions',
      'arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/mlship_analytics/feedback',
    ]);
    // AND S3: the Parquet objects and the results prefix, the results bucket imported by its fixed export name
    expect(of('s3:GetObject').sort()).toEqual([
      '<import:Mlship-Analytics-QueryResultsArn>/results/*',
      '<import:Mlship-Data-DataBucketArn>/analytics/*',
    ]);
    expect(of('s3:PutObject')).toEqual(['<import:Mlship-Analytics-QueryResultsArn>/results/*']);
    // AND the Api stack is deployed after the Analytics stack it imports from
    expect(stacks.api.dependencies).toContain(stacks.analytics);
    expect(
      statements
        .flatMap((st) => st.actions)
        .filter((a) => !a.startsWith('dynamodb:') && !a.startsWith('logs:') && !a.startsWith('xray:'))
        .sort(),
    ).toEqual(QUERY_ACTIONS);
  });
});

describe('config analytics: false', () => {
  it('leaves the stack and the table stream out', () => {
    // GIVEN / WHEN
    const { stacks, violations } = synth({ analytics: false });
    // THEN
    expect(stacks.analytics).toBeUndefined();
    // AND the query function is told so (windows over 24 h answer ANALYTICS_OFF) and holds no Athena right
    const api = Template.fromStack(stacks.api);
    api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV.ANALYTICS_WORKGROUP]: ANALYTICS_OFF, [ENV.ANALYTICS_DATABASE]: ANALYTICS_OFF }) },
    });
    const actions = statementsOfRole(api, logicalIdOf(stacks.api.functions.query.role)).flatMap((st) => st.actions);
    expect(actions.filter((a) => /^(athena|glue|s3):/.test(a))).toEqual([]);
    expect(
      Template.fromStack(stacks.data).toJSON().Resources[logicalIdOf(stacks.data.table)].Properties.StreamSpecification,
    ).toBeUndefined();
    expect(violations).toEqual([]);
  });

  it('reads -c analytics=false as a boolean and refuses other words', () => {
    expect(parseConfig({ analytics: false }).analytics).toBe(false);
    expect(() => parseConfig({ analytics: 'no' })).toThrow(/analytics = "no": expected true or false/);
  });
});
