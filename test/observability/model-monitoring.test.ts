import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ENV } from '../../contract/env';
import { errorMessage } from '../../contract/errors';
import { PREDICT_METRICS } from '../../contract/metrics/predict-metrics';
import { LOG_TABLE } from '../../contract/prediction-log';
import { DEFAULT_PROMOTION_POLICY, NO_PROMOTION } from '../../contract/promotion';
import { QUALITY_METRICS as Q } from '../../contract/quality';
import { ModelMonitoring, type ModelMonitoringProps, type MonitoredBackend } from '../../lib/observability/model-monitoring';
import { defined } from '../support/defined';

const ROOT = join(__dirname, '../..');
const BREAST_CANCER = join(ROOT, 'models/breast-cancer');

/** The parts of the real stacks ModelMonitoring reads, built small. */
function fixture(stack: Stack) {
  const table = new dynamodb.Table(stack, 'Log', {
    partitionKey: { name: LOG_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  });
  table.addGlobalSecondaryIndex({
    indexName: LOG_TABLE.byModelIndex.name,
    partitionKey: { name: LOG_TABLE.byModelIndex.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: LOG_TABLE.byModelIndex.sortKey, type: dynamodb.AttributeType.STRING },
  });
  const fn = (id: string) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler=async()=>({})'),
    });
  const predict = fn('Predict');
  const query = fn('Query');
  const api = new apigw.RestApi(stack, 'Api');
  api.root.addResource('predict').addMethod('POST', new apigw.LambdaIntegration(predict));
  const deadLetterQueue = new sqs.Queue(stack, 'Dlq', { enforceSSL: true });
  return { table, api, functions: { predict, query }, deadLetterQueue };
}

function fargateBackend(stack: Stack): MonitoredBackend {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc });
  const task = new ecs.FargateTaskDefinition(stack, 'Task');
  task.addContainer('model', {
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox:latest'),
    portMappings: [{ containerPort: 8080 }],
  });
  const service = new ecs.FargateService(stack, 'Service', {
    cluster,
    taskDefinition: task,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  });
  const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc });
  const listener = alb.addListener('Http', { port: 80 });
  const targetGroup = listener.addTargets('Model', { port: 8080, targets: [service] });
  const alternate = new elbv2.ApplicationTargetGroup(stack, 'Alternate', { vpc, port: 8080, targetType: elbv2.TargetType.IP });
  return { kind: 'fargate', service, loadBalancer: alb, targetGroups: [targetGroup, alternate] };
}

const SAGEMAKER: MonitoredBackend = { kind: 'sagemaker', endpointName: 'mlship-breast-cancer', variantName: 'AllTraffic' };

function build(
  overrides: Partial<ModelMonitoringProps> = {},
  backend?: (s: Stack) => MonitoredBackend,
  inStack?: (s: Stack) => Partial<ModelMonitoringProps>,
) {
  const app = new App();
  const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const monitoring = new ModelMonitoring(stack, 'Monitoring', {
    rootDir: ROOT,
    modelDir: BREAST_CANCER,
    ...fixture(stack),
    backend: backend ? backend(stack) : SAGEMAKER,
    quality: { accuracyFloor: 0.9, driftPsiThreshold: 0.3 },
    logRetention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.RETAIN,
    ...overrides,
    ...inStack?.(stack),
  });
  return { app, stack, monitoring, template: Template.fromStack(stack) };
}

describe('ModelMonitoring', () => {
  // One synth (it bundles the quality function with esbuild) shared by the read-only checks.
  const { stack, monitoring, template } = build({ alarmEmail: 'ops@example.com' });

  test('alarms: 5xx rate, p99 latency, dead letters, parked log records, unhealthy backend, quality job, drift, drifted share, accuracy and F1', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 10);
    // No routing state without a challenger or the retraining loop: no deploy can undo a promotion.
    expect(monitoring.alarms.promotionUndone).toBeUndefined();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ParkedLogRecords',
      Namespace: 'mlship',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const topic = { Ref: stack.getLogicalId(monitoring.alarmTopic.node.defaultChild as CfnElement) };
    // Every alarm notifies the topic on ALARM and on OK.
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.OKActions).toEqual([topic]);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 0.9,
      ComparisonOperator: 'LessThanThreshold',
      MetricName: 'Accuracy',
      Namespace: 'mlship',
      // The model as served, whichever version answers: the alarm follows a promotion made without a deploy.
      Dimensions: [{ Name: 'Model', Value: 'breast-cancer' }],
      TreatMissingData: 'missing',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 0.3,
      ComparisonOperator: 'GreaterThanThreshold',
      MetricName: 'MaxFeaturePsi',
      Statistic: 'Maximum',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 2000,
      Metrics: [
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Latency', Namespace: 'AWS/ApiGateway' }), Stat: 'p99' }),
        }),
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Metrics: [
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ApproximateNumberOfMessagesVisible' }), Stat: 'Maximum' }),
        }),
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Invocation5XXErrors',
      Namespace: 'AWS/SageMaker',
      Dimensions: Match.arrayWith([{ Name: 'EndpointName', Value: 'mlship-breast-cancer' }]),
    });
    // The 5xx rate is a ratio of two API metrics.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(requests > 0, 100 * errors / requests, 0)' })]),
    });
    expect(monitoring.alarms.meanAbsoluteError).toBeUndefined();
  });

  test('the alarm topic is KMS-encrypted, TLS-only and may be used by CloudWatch; the e-mail is subscribed', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  test('the quality job runs every 15 minutes with least privilege: Query on the byModel index only', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 900 } })],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          [ENV.PREDICTION_TABLE]: { Ref: Match.stringLikeRegexp('^Log') },
          [ENV.MODEL_MANIFEST_PATH]: 'model.json',
          [ENV.MODEL_BASELINE_PATH]: 'baseline.json',
          [ENV.QUALITY_WINDOW_MINUTES]: '60',
          [ENV.QUALITY_THRESHOLDS]: '{}',
          [ENV.PROMOTION_POLICY]: NO_PROMOTION,
          [ENV.ALARM_TOPIC_ARN]: { Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') },
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { PolicyName: Match.stringLikeRegexp('^MonitoringQualityHandlerRole') },
    });
    const statements = Object.values(policies).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const dynamo = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    expect(dynamo[0].Action).toBe('dynamodb:Query');
    expect(JSON.stringify(dynamo[0].Resource)).toContain('/index/byModel');
    // Nothing else of the data: no S3, SQS or CloudWatch API rights (metrics go out as EMF log lines), and
    // without a promotion policy neither the routing item nor the topic.
    expect(
      statements.flatMap((s) => [s.Action].flat()).filter((a) => /^(s3|sqs|sns|kms|cloudwatch|dynamodb:(Scan|GetItem|PutItem))/.test(a)),
    ).toEqual([]);
  });

  test('the bundle carries the manifest and the baseline beside the code', () => {
    const outdir = (monitoring.node.root as App).outdir;
    const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.'));
    const bundle = assets.find((d) => readdirSync(join(outdir, d)).includes('baseline.json'));
    expect(bundle).toBeDefined();
    const files = readdirSync(join(outdir, bundle as string));
    expect(files).toEqual(expect.arrayContaining(['index.mjs', 'model.json', 'baseline.json']));
    expect(readFileSync(join(outdir, bundle as string, 'baseline.json'), 'utf8')).toBe(
      readFileSync(join(BREAST_CANCER, 'baseline.json'), 'utf8'),
    );
  });

  test('one dashboard with the service and model-quality widgets', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
    for (const title of [
      'API requests',
      'API latency (ms)',
      'API errors',
      'Lambda errors',
      'Lambda throttles',
      'Lambda duration p99 (ms)',
      'Backend latency (ms, sagemaker)',
      'Backend health',
      'DynamoDB throttles',
      'Log dead-letter queue',
      'Predictions per class',
      'Accuracy from feedback',
      'Drift (PSI vs training baseline)',
      'Drift per feature (PSI)',
    ]) {
      expect(body).toContain(`\\"title\\":\\"${title}\\"`);
    }
    for (const metric of [
      'ReadThrottleEvents',
      'WriteThrottleEvents',
      'Throttles',
      'ModelLatency',
      'MaxFeaturePsi',
      'PredictionPsi',
      'Accuracy',
      '5XXError',
      '4XXError',
    ]) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    // Per-class counts and per-feature PSI are SEARCH expressions over the model's own metrics.
    expect(body).toContain('MetricName=\\\\\\"Predictions\\\\\\" Model=\\\\\\"breast-cancer\\\\\\"');
    expect(body).toContain('MetricName=\\\\\\"FeaturePsi\\\\\\"');
  });

  test("a classifier's quality row: accuracy, macro and weighted F1, ROC AUC, calibration error, per-class F1, missing values, drifted share", () => {
    const graphs = dashboardGraphs(template);
    expect(graphs).toMatchObject({
      'Accuracy from feedback': [Q.accuracy, Q.feedbackCount],
      'F1 from feedback': [Q.macroF1, Q.weightedF1],
      'ROC AUC and calibration error': [Q.rocAuc, Q.calibrationError],
      'F1 per class': [Q.classF1],
      'Label delay (ms)': [Q.labelDelayP50, Q.labelDelayP90],
      'Drifted-feature share': [Q.driftedFeatureShare],
      'Missing values per feature': [Q.featureMissingRate],
    });
    const drawn = Object.values(graphs).flat();
    for (const regression of [Q.mae, Q.rmse, Q.r2, Q.meanError]) expect(drawn).not.toContain(regression);
    // The alarms' thresholds are drawn on the graphs they watch.
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
    expect(body).toContain(`\\"label\\":\\"macro F1 floor\\"`);
  });

  test('synthesizes with no cdk-nag or CloudFormation validation finding in the monitoring resources', () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new Stack(app, 'Nag', { env: { account: '111111111111', region: 'eu-west-1' } });
    new ModelMonitoring(stack, 'Monitoring', {
      rootDir: ROOT,
      modelDir: BREAST_CANCER,
      ...fixture(stack),
      backend: SAGEMAKER,
      quality: { accuracyFloor: 0.9 },
      // The promotion policy's grants (routing item, topic, its key) are checked too.
      versions: { challenger: '2.0.0', promotionPolicy: DEFAULT_PROMOTION_POLICY },
      logRetention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    let report: string;
    try {
      app.synth();
      report = readFileSync(join(app.outdir, 'validation-report.json'), 'utf8');
    } catch (e) {
      report = errorMessage(e);
      const file = join(app.outdir, 'validation-report.json');
      try {
        report = readFileSync(file, 'utf8');
      } catch {
        // the message holds the findings
      }
    }
    // The fixture (bare table, API, queue) has its own findings; none may name a monitoring resource.
    // The plugin did run: the bare fixture has findings of its own.
    expect(report).toContain('AwsSolutions-');
    const ours = report.split('\n').filter((line) => line.includes('/Monitoring/'));
    expect(ours).toEqual([]);
  });
});

/** The widgets of a template's dashboard, as CloudWatch reads them. */
function dashboardWidgets(template: Template): { properties: { title?: string; markdown?: string; metrics?: unknown[][] } }[] {
  const body = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody;
  // The body is a Fn::Join of JSON text and tokens that sit inside its strings: a placeholder keeps it JSON.
  const parts: unknown[] = typeof body === 'string' ? [body] : body['Fn::Join'][1];
  const text = parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return (JSON.parse(text) as { widgets: { properties: { title?: string; markdown?: string; metrics?: unknown[][] } }[] }).widgets;
}

/** Each graph of a template's dashboard, by title: the metric names it draws (a SEARCH is named by its MetricName). */
function dashboardGraphs(template: Template): Record<string, string[]> {
  const widgets = dashboardWidgets(template);
  const nameOf = (m: unknown[]) => {
    const [first, second] = m;
    if (typeof first === 'string') return String(second);
    const expression = String((first as { expression?: string }).expression);
    return /MetricName="([^"]+)"/.exec(expression)?.[1] ?? expression;
  };
  return Object.fromEntries(
    widgets.filter((w) => w.properties.metrics !== undefined).map((w) => [w.properties.title, (w.properties.metrics ?? []).map(nameOf)]),
  );
}

/** The quality alarms of a template, by metric name: threshold, comparison and runs. */
function qualityAlarms(template: Template): Record<string, { Threshold: number; ComparisonOperator: string; EvaluationPeriods: number }> {
  const quality = ['Accuracy', 'MacroF1', 'MeanAbsoluteError', 'DriftedFeatureShare'];
  return Object.fromEntries(
    Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .filter((a) => quality.includes(a.Properties.MetricName))
      .map((a) => [
        a.Properties.MetricName,
        {
          Threshold: a.Properties.Threshold,
          ComparisonOperator: a.Properties.ComparisonOperator,
          EvaluationPeriods: a.Properties.EvaluationPeriods,
        },
      ]),
  );
}

describe('ModelMonitoring with a challenger', () => {
  const statementsOf = (template: Template) =>
    Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^MonitoringQualityHandlerRole') } }),
    ).flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Condition?: unknown }[]);
  const dashboardOf = (template: Template) =>
    JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);

  test('with the promotion policy, the quality job gets it, the routing item, and Publish on the alarm topic only', () => {
    // GIVEN a challenger and a policy WHEN synthesized
    const policy = { ...DEFAULT_PROMOTION_POLICY, steps: [10, 50] };
    const { template } = build({ versions: { challenger: '2.0.0', promotionPolicy: policy } });
    // THEN the job is told the policy and the topic
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.PROMOTION_POLICY]: JSON.stringify(policy),
          [ENV.ALARM_TOPIC_ARN]: { Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') },
        }),
      },
    });
    // AND may read and write the routing item by its leading key, publish to the topic, and use its key for that
    const statements = statementsOf(template);
    const byAction = (prefix: string) => statements.filter((s) => [s.Action].flat().some((a) => a.startsWith(prefix)));
    expect(byAction('dynamodb:').map((s) => [s.Action, s.Condition ?? null])).toEqual([
      ['dynamodb:Query', null],
      [['dynamodb:GetItem', 'dynamodb:PutItem'], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['routing#*'] } }],
    ]);
    expect(byAction('sns:')).toEqual([
      expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: expect.stringMatching(/^MonitoringAlarmTopic/) } }),
    ]);
    expect(byAction('kms:')).toEqual([
      expect.objectContaining({
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^MonitoringAlarmTopicKey/), 'Arn'] },
      }),
    ]);
  });

  test('the dashboard shows both versions side by side: predictions, latency and errors', () => {
    const { template } = build({ versions: { challenger: '2.0.0' } });
    const body = dashboardOf(template);
    for (const title of ['Predictions per version', 'Model latency per version (ms)', 'Errors per version'])
      expect(body).toContain(`\\"title\\":\\"${title}\\"`);
    for (const version of ['1.0.0', '2.0.0'])
      for (const metric of ['Predictions', 'BackendLatency', 'BackendErrors', 'ShadowErrors'])
        expect(body).toContain(`\\"${metric}\\",\\"Model\\",\\"breast-cancer\\",\\"ModelVersion\\",\\"${version}\\"`);
    // Without a policy, nothing of the routing item or the topic.
    expect(statementsOf(template).flatMap((s) => [s.Action].flat())).not.toContain('sns:Publish');
    // Without a challenger, no such row.
    expect(dashboardOf(build().template)).not.toContain('per version');
  });

  test('the alarms and the model graphs follow whichever version answers; only the version row names versions', () => {
    // GIVEN a challenger WHEN synthesized
    const { template } = build({ versions: { challenger: '2.0.0' }, quality: { accuracyFloor: 0.9 } });
    // THEN no alarm watches a version: each reads the model as served (a promotion is watched without a deploy)
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const mlship = alarms.filter((a) => a.Properties.Namespace === 'mlship' && a.Properties.Dimensions !== undefined);
    expect(mlship.map((a) => a.Properties.MetricName).sort()).toEqual([
      'Accuracy',
      'DriftedFeatureShare',
      'MacroF1',
      'MaxFeaturePsi',
      'RoutingStateReplaced',
    ]);
    for (const a of mlship) expect(a.Properties.Dimensions).toEqual([{ Name: 'Model', Value: 'breast-cancer' }]);
    expect(JSON.stringify(alarms)).not.toContain('ModelVersion');
    // AND a deploy that undoes a promotion reaches the topic: one count of the predict function is enough
    expect(mlship.find((a) => a.Properties.MetricName === PREDICT_METRICS.routingStateReplaced)?.Properties).toMatchObject({
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      OKActions: [{ Ref: expect.stringMatching(/AlarmTopic/) }],
    });
    // AND the dashboard's graphs name a version only in the versions row and in the per-feature and per-class searches
    const widgets = dashboardWidgets(template);
    const naming = widgets
      .filter((w) => JSON.stringify(w.properties.metrics ?? []).includes('ModelVersion'))
      .map((w) => w.properties.title);
    expect(naming.sort()).toEqual(
      [
        'Drift per feature (PSI)',
        'Errors per version',
        'F1 per class',
        'Missing values per feature',
        'Model latency per version (ms)',
        'Predictions per version',
      ].sort(),
    );
    const accuracy = widgets.find((w) => w.properties.title === 'Accuracy from feedback')?.properties.metrics?.[0];
    expect(accuracy?.slice(0, 4)).toEqual(['mlship', 'Accuracy', 'Model', 'breast-cancer']);
    expect(JSON.stringify(widgets)).toContain('{mlship,Label,Model} MetricName=\\"Predictions\\"');
    // AND its heading says which versions were deployed, not which one answers
    expect(widgets[0]?.properties.markdown).toMatch(
      /^# mlship · breast-cancer\nDeployed with 1\.0\.0 as the champion and 2\.0\.0 as the challenger/,
    );
  });

  test("refuses a challenger of the model's own version", () => {
    expect(() => build({ versions: { challenger: '1.0.0' } })).toThrow(/`versions.challenger` is the model's own version 1.0.0/);
  });
});

describe('ModelMonitoring default quality thresholds, from the baseline', () => {
  test('a classifier: accuracy and macro F1 floors at its held-out values less 0.05, drifted share 0.3', () => {
    // breast-cancer's baseline: held-out accuracy 0.9561, macro F1 0.9535.
    const { template, monitoring } = build({ quality: {} });
    expect(qualityAlarms(template)).toEqual({
      Accuracy: { Threshold: 0.9061, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 2 },
      MacroF1: { Threshold: 0.9035, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 2 },
      DriftedFeatureShare: { Threshold: 0.3, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 2 },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MacroF1',
      Namespace: 'mlship',
      Dimensions: [{ Name: 'Model', Value: 'breast-cancer' }],
      TreatMissingData: 'missing',
    });
    expect(monitoring.thresholds).toMatchObject({ accuracyFloor: 0.9061, macroF1Floor: 0.9035, driftedFeatureShare: 0.3 });
  });

  test('a regression model: an error ceiling at its held-out MAE times 1.25, no accuracy or F1 alarm', () => {
    // diabetes-progression's baseline: held-out MAE 42.5461.
    const { template } = build({ modelDir: join(ROOT, 'models/diabetes-progression'), quality: {} });
    expect(qualityAlarms(template)).toEqual({
      MeanAbsoluteError: { Threshold: 53.182625, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 2 },
      DriftedFeatureShare: { Threshold: 0.3, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 2 },
    });
  });

  test("a regression model's dashboard: MAE, RMSE, R² and bias, missing values and drifted share; no class charts", () => {
    const { template } = build({ modelDir: join(ROOT, 'models/diabetes-progression'), quality: {} });
    const graphs = dashboardGraphs(template);
    expect(graphs).toMatchObject({
      'Error from feedback': [Q.mae, Q.rmse, Q.feedbackCount],
      'R² from feedback': [Q.r2],
      'Bias (mean error, predicted − actual)': [Q.meanError],
      'Drifted-feature share': [Q.driftedFeatureShare],
      'Missing values per feature': [Q.featureMissingRate],
    });
    const drawn = Object.values(graphs).flat();
    for (const classifier of [Q.accuracy, Q.macroF1, Q.weightedF1, Q.rocAuc, Q.calibrationError, Q.classF1]) {
      expect(drawn).not.toContain(classifier);
    }
  });

  test('configured floors and relative thresholds override the defaults, and reach the quality job', () => {
    const classifier = build({
      quality: { macroF1Floor: 0.8, thresholds: { accuracyDrop: 0.1, driftedFeatureShare: 0.5, minimumSample: 300 } },
    }).template;
    expect(qualityAlarms(classifier)).toEqual({
      Accuracy: { Threshold: 0.8561, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 2 },
      MacroF1: { Threshold: 0.8, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 2 },
      DriftedFeatureShare: { Threshold: 0.5, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 2 },
    });
    const vars = Object.values(classifier.findResources('AWS::Lambda::Function'))
      .map((f) => f.Properties.Environment?.Variables ?? {})
      .find((v) => ENV.QUALITY_THRESHOLDS in v);
    expect(JSON.parse(defined(vars, 'the quality function environment')[ENV.QUALITY_THRESHOLDS])).toEqual({
      accuracyDrop: 0.1,
      driftedFeatureShare: 0.5,
      minimumSample: 300,
    });
    const regression = build({ modelDir: join(ROOT, 'models/diabetes-progression'), quality: { thresholds: { maeRatio: 1.5 } } }).template;
    expect(qualityAlarms(regression).MeanAbsoluteError?.Threshold).toBe(63.81915);
    const ceiling = build({ modelDir: join(ROOT, 'models/diabetes-progression'), quality: { maxMeanAbsoluteError: 40 } }).template;
    expect(qualityAlarms(ceiling).MeanAbsoluteError?.Threshold).toBe(40);
  });

  test('refuses an F1 floor on a regression model and an invalid relative threshold', () => {
    expect(() =>
      build({ modelDir: join(ROOT, 'models/diabetes-progression'), quality: { macroF1Floor: 0.9, thresholds: { maeRatio: 0.8 } } }),
    ).toThrow(
      /macroF1Floor` applies to classifiers[\s\S]*quality\.thresholds`: Invalid quality thresholds:[\s\S]*maeRatio must be greater than 1, got 0\.8/,
    );
  });
});

describe('ModelMonitoring with the Fargate backend', () => {
  test('graphs and alarms on both blue/green target groups, the load balancer and the service', () => {
    const { template } = build({}, fargateBackend);
    // Blue/green moves the traffic to the other target group on alternate deployments: the alarm watches the worse of the two.
    const tgMetric = (id: string) =>
      Match.objectLike({
        Id: id,
        ReturnData: false,
        MetricStat: Match.objectLike({
          Stat: 'Maximum',
          Metric: Match.objectLike({
            MetricName: 'UnHealthyHostCount',
            Namespace: 'AWS/ApplicationELB',
            Dimensions: Match.arrayWith([Match.objectLike({ Name: 'TargetGroup' })]),
          }),
        }),
      });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'MAX([FILL(unhealthy0, 0), FILL(unhealthy1, 0)])' }),
        tgMetric('unhealthy0'),
        tgMetric('unhealthy1'),
      ]),
    });
    const [, alarm] = defined(
      Object.entries(template.findResources('AWS::CloudWatch::Alarm')).find(([id]) => id.includes('BackendUnhealthy')),
      'the BackendUnhealthy alarm',
    );
    const groups = alarm.Properties.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map(
      (m: { MetricStat: { Metric: { Dimensions: { Name: string; Value: unknown }[] } } }) =>
        JSON.stringify(
          defined(
            m.MetricStat.Metric.Dimensions.find((d) => d.Name === 'TargetGroup'),
            'a TargetGroup dimension',
          ).Value,
        ),
    );
    expect(new Set(groups).size).toBe(2);
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
    for (const metric of ['TargetResponseTime', 'HealthyHostCount', 'CPUUtilization', 'MemoryUtilization'])
      expect(body).toContain(`\\"${metric}\\"`);
  });
});

describe('ModelMonitoring props', () => {
  test('every bad prop is reported in one error', () => {
    expect(() =>
      build({
        quality: { accuracyFloor: 1.5, maxMeanAbsoluteError: 2, driftPsiThreshold: -1 },
        p99LatencyMs: 0,
        alarmEmail: 'not-an-address',
        qualitySchedule: Duration.seconds(90),
      }),
    ).toThrow(
      /accuracyFloor` must be a share in \(0, 1\]; got 1\.5[\s\S]*maxMeanAbsoluteError` applies to regression models[\s\S]*driftPsiThreshold` must be above 0[\s\S]*p99LatencyMs[\s\S]*qualitySchedule[\s\S]*alarmEmail/,
    );
  });

  test('a model without a matching baseline is refused at synth', () => {
    expect(() => build({ modelDir: join(ROOT, 'models/does-not-exist') })).toThrow(/model\.json|ENOENT/);
  });

  test('watchedFailures: an alarm on the poison queue, the analytics writer failures and the compactor errors, to the topic', () => {
    // GIVEN the queues and the compactor to watch
    const { template, monitoring, stack } = build({ quality: {} }, undefined, (s) => ({
      watchedFailures: {
        poisonQueue: new sqs.Queue(s, 'Poison', { enforceSSL: true }),
        analyticsWriterFailures: new sqs.Queue(s, 'WriterFailures', { enforceSSL: true }),
        analyticsCompactor: new lambda.Function(s, 'Compactor', {
          runtime: lambda.Runtime.NODEJS_22_X,
          handler: 'index.handler',
          code: lambda.Code.fromInline('exports.handler=async()=>({})'),
        }),
      },
    }));
    // THEN three more alarms, one message or one error each, sent to the topic
    template.resourceCountIs('AWS::CloudWatch::Alarm', 10 + 3);
    expect(monitoring.failureAlarms.map((a) => a.node.id)).toEqual([
      'PoisonMessages',
      'AnalyticsWriterFailures',
      'AnalyticsCompactorErrors',
    ]);
    const topic = { Ref: stack.getLogicalId(monitoring.alarmTopic.node.defaultChild as CfnElement) };
    for (const alarm of monitoring.failureAlarms) {
      const p = template.toJSON().Resources[stack.getLogicalId(alarm.node.defaultChild as CfnElement)].Properties;
      expect(p).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [topic],
        OKActions: [topic],
      });
    }
  });

  test('no e-mail, no subscription; a baseline without held-out evaluation and no floors: no accuracy or F1 alarm', () => {
    // GIVEN breast-cancer with its baseline's `evaluation` removed
    const dir = mkdtempSync(join(tmpdir(), 'mlship-no-evaluation-'));
    for (const f of ['model.json', 'model.onnx']) copyFileSync(join(BREAST_CANCER, f), join(dir, f));
    const { evaluation, ...baseline } = JSON.parse(readFileSync(join(BREAST_CANCER, 'baseline.json'), 'utf8'));
    expect(evaluation).toBeDefined();
    writeFileSync(join(dir, 'baseline.json'), JSON.stringify(baseline));
    try {
      const { template, monitoring } = build({ modelDir: dir, quality: {} }, undefined);
      template.resourceCountIs('AWS::SNS::Subscription', 0);
      // THEN the service alarms, the job, drift and drifted share only
      template.resourceCountIs('AWS::CloudWatch::Alarm', 8);
      expect(monitoring.alarms.accuracy).toBeUndefined();
      expect(monitoring.alarms.macroF1).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
