/**
 * The Monitoring stack as the real app builds it: alarms on the service and the model's quality to one
 * topic, the dashboard, the quality job's schedule, environment and IAM, and the meta function's bundle
 * carrying the baseline and the dashboard files.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { BASELINE_FILE } from '../../contract/baseline';
import { ENV, functionEnv } from '../../contract/env';
import type { Backend } from '../../contract/limits';
import { BUNDLED_DASHBOARD_DIR } from '../../lib/constructs/handler-function';
import { defined } from '../support/defined';
import { baseStatements, logicalIdOf } from './backend-suite';
import { type SynthResult, statementsOfRole } from './synth';

const ALARMS = [
  'ServerErrorRate',
  'P99Latency',
  'DeadLetters',
  'ParkedLogRecords',
  'BackendUnhealthy',
  'QualityJobErrors',
  // Before 'Drift', which its name contains.
  'DriftedFeatureShare',
  'Drift',
  'Accuracy',
  'MacroF1',
  // The parts that fail without an API error: the replay's poison queue, the analytics writer and compactor.
  'PoisonMessages',
  'AnalyticsWriterFailures',
  'AnalyticsCompactorErrors',
  // A failed batch run (the state machine's ExecutionsFailed), beside the topic rather than the state machine.
  'BatchRunFailed',
];

export function describeMonitoring(backend: Backend, synth: () => SynthResult): void {
  let r: SynthResult;
  beforeAll(() => {
    r = synth();
  });

  describe(`${backend}: monitoring`, () => {
    it('is its own stack, deployed after the API and the model (and the analytics it watches)', () => {
      expect(r.monitoring.stackName).toBe(`${r.config.stackPrefix}-Monitoring`);
      expect(r.monitoring.dependencies.map((s) => s.stackName).sort()).toEqual(
        [r.api.stackName, r.data.stackName, r.serving.stackName, ...(r.analytics ? [r.analytics.stackName] : [])].sort(),
      );
      // Stateless: nothing in it keeps data (the topic's key follows the configured removal policy).
      expect(Object.keys(r.templates.monitoring.findResources('AWS::DynamoDB::Table'))).toEqual([]);
      expect(Object.keys(r.templates.monitoring.findResources('AWS::S3::Bucket'))).toEqual([]);
    });

    it('raises every service and quality alarm to the one encrypted topic, with the configured thresholds', () => {
      const t = r.templates.monitoring;
      const alarms = t.findResources('AWS::CloudWatch::Alarm');
      const byName = Object.fromEntries(Object.entries(alarms).map(([id, a]) => [ALARMS.find((n) => id.includes(n)) ?? id, a.Properties]));
      expect(Object.keys(byName).sort()).toEqual([...ALARMS].sort());
      const topic = logicalIdOf(r.monitoring.monitoring.alarmTopic);
      for (const p of Object.values(byName)) expect(p.AlarmActions).toEqual([{ Ref: topic }]);
      // The suites synthesize breast-cancer: unconfigured, the floors are its held-out accuracy 0.9561 and
      // macro F1 0.9535 less the default drop of 0.05.
      expect(r.manifest.name).toBe('breast-cancer');
      expect(byName.Accuracy).toMatchObject({
        Threshold: r.config.accuracyFloor ?? 0.9061,
        ComparisonOperator: 'LessThanThreshold',
        MetricName: 'Accuracy',
      });
      expect(byName.MacroF1).toMatchObject({ Threshold: 0.9035, ComparisonOperator: 'LessThanThreshold', MetricName: 'MacroF1' });
      expect(byName.DriftedFeatureShare).toMatchObject({
        Threshold: r.config.qualityThresholds.driftedFeatureShare ?? 0.3,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 2,
        MetricName: 'DriftedFeatureShare',
      });
      // A log record replay could not write is parked for a person: one is enough to raise the alarm.
      expect(byName.ParkedLogRecords).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      // So is one message in the replay's poison queue or the analytics writer's failure queue, or one compactor error.
      for (const name of ['PoisonMessages', 'AnalyticsWriterFailures', 'AnalyticsCompactorErrors']) {
        expect(byName[name]).toMatchObject({
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          OKActions: [{ Ref: topic }],
        });
      }
      expect(byName.PoisonMessages).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Namespace: 'AWS/SQS' });
      expect(byName.AnalyticsCompactorErrors).toMatchObject({ MetricName: 'Errors', Namespace: 'AWS/Lambda' });
      expect(byName.BatchRunFailed).toMatchObject({ MetricName: 'ExecutionsFailed', Namespace: 'AWS/States', Threshold: 1 });
      // The serving backend's rollout alarms reach the topic through one composite alarm.
      t.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmActions: [{ Ref: topic }], OKActions: [{ Ref: topic }] });
      expect(byName.Drift).toMatchObject({
        Threshold: r.config.driftPsiThreshold,
        ComparisonOperator: 'GreaterThanThreshold',
        MetricName: 'MaxFeaturePsi',
      });
      // The model as served, whichever version answers (a promotion needs no deploy to be watched).
      expect(byName.Drift.Dimensions).toEqual([{ Name: 'Model', Value: r.manifest.name }]);
      t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      t.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
      t.resourceCountIs('AWS::SNS::Subscription', r.config.alarmEmail ? 1 : 0);
    });

    it("watches this backend's health", () => {
      const unhealthy = Object.entries(r.templates.monitoring.findResources('AWS::CloudWatch::Alarm')).find(([id]) =>
        id.includes('BackendUnhealthy'),
      )?.[1];
      if (backend === 'fargate') {
        // Both blue/green target groups: the worse of the two.
        const metrics = unhealthy?.Properties.Metrics as {
          Expression?: string;
          MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: unknown }[] } };
        }[];
        expect(metrics.find((m) => m.Expression)?.Expression).toBe('MAX([FILL(unhealthy0, 0), FILL(unhealthy1, 0)])');
        const stats = metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat] : []));
        const groups = stats.map((s) =>
          JSON.stringify(
            defined(
              s.Metric.Dimensions.find((d) => d.Name === 'TargetGroup'),
              'a TargetGroup dimension',
            ).Value,
          ),
        );
        expect(stats.map((s) => s.Metric.MetricName)).toEqual(['UnHealthyHostCount', 'UnHealthyHostCount']);
        expect(new Set(groups).size).toBe(2);
      } else {
        expect(unhealthy?.Properties.MetricName).toBe('Invocation5XXErrors');
        expect(unhealthy?.Properties.Dimensions).toEqual(expect.arrayContaining([{ Name: 'VariantName', Value: 'AllTraffic' }]));
      }
    });

    it('runs the quality job on the configured schedule, reading the configured window and nothing but the log index', () => {
      const t = r.templates.monitoring;
      const quality = r.monitoring.monitoring.qualityFunction;
      t.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: `rate(${r.config.qualityScheduleMinutes} minutes)`,
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalIdOf(quality.function), 'Arn'] } })],
      });
      const fn = t.toJSON().Resources[logicalIdOf(quality.function)];
      const vars = fn.Properties.Environment.Variables;
      expect(
        Object.keys(vars)
          .filter((k) => k !== 'NODE_OPTIONS')
          .sort(),
      ).toEqual([...functionEnv('quality', r.config.backend)].sort());
      expect(vars[ENV.QUALITY_WINDOW_MINUTES]).toBe(String(r.config.qualityWindowMinutes));
      expect(JSON.parse(vars[ENV.QUALITY_THRESHOLDS])).toEqual(r.config.qualityThresholds);
      expect(vars[ENV.MODEL_BASELINE_PATH]).toBe(BASELINE_FILE);
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
      expect(statementsOfRole(t, logicalIdOf(quality.role))).toEqual([
        ...baseStatements(logicalIdOf(quality.logGroup)),
        { actions: ['dynamodb:Query'], resources: ['<import:PredictionLog.Arn>/index/byModel'] },
      ]);
    });

    it('graphs the API, every function, the backend, the table, the queue and the model quality on one dashboard', () => {
      const dashboards = Object.values(r.templates.monitoring.findResources('AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(1);
      const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
      for (const title of [
        'API requests',
        'Lambda errors',
        'Backend health',
        'DynamoDB throttles',
        'Log dead-letter queue',
        'Accuracy from feedback',
        'Drift per feature (PSI)',
      ]) {
        expect(body).toContain(title);
      }
      for (const fn of ['predict', 'query', 'feedback', 'meta', 'replay']) expect(body).toContain(`\\"label\\":\\"${fn}\\"`);
    });

    it("bundles the model's baseline and the built dashboard beside the meta function", () => {
      const meta = r.api.functions.meta.function;
      const props = r.templates.api.toJSON().Resources[logicalIdOf(meta)].Properties;
      expect(props.Environment.Variables).toMatchObject({
        [ENV.MODEL_BASELINE_PATH]: BASELINE_FILE,
        [ENV.DASHBOARD_DIR]: BUNDLED_DASHBOARD_DIR,
      });
      // The bundle is staged in the cloud assembly as `asset.<hash>`, uploaded as `<hash>.zip`.
      const dir = join(r.app.outdir, `asset.${String(props.Code.S3Key).replace(/\.zip$/, '')}`);
      expect(existsSync(join(dir, BASELINE_FILE))).toBe(true);
      const files = readdirSync(join(dir, BUNDLED_DASHBOARD_DIR));
      expect(files).toContain('index.html');
      expect(files.some((f) => /^app-[A-Z0-9]{8}\.js$/.test(f))).toBe(true);
      expect(files.some((f) => /^styles-[0-9a-f]{10}\.css$/.test(f))).toBe(true);
    });
  });
}
