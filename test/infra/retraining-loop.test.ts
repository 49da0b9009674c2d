/**
 * The retraining state machine as synthesized: its steps (snapshot, `createTrainingJob.sync`, evaluation
 * as a Processing job of the mlship image), the training job's exact IAM (reads only the snapshots and its
 * code, writes only its output prefix; the state machine passes only the jobs' roles), the triggers, and
 * no cdk-nag finding left unacknowledged.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { modelPrefix } from '../../contract/bucket';
import { ENV } from '../../contract/env';
import { PREDICT_METRICS } from '../../contract/metrics/predict-metrics';
import { readManifestFile } from '../../contract/model-files';
import { REGISTRY_CHALLENGER } from '../../contract/versions';
import { parseConfig } from '../../lib/config';
import { RetrainingLoop, type RetrainingLoopProps } from '../../lib/training/retraining-loop';
import { PROJECT_ROOT } from '../../local/paths';
import { defined } from '../support/defined';
import { expectRetainedDocumented } from './retained-resources';
import { render, statementsOfRole, synthBackend } from './synth';

const MODEL_DIR = join(PROJECT_ROOT, 'models', 'breast-cancer');
const manifest = readManifestFile(join(MODEL_DIR, 'model.json'));

function synth(training: Record<string, unknown>, extra: Partial<RetrainingLoopProps> = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'mlship-training-synth-'));
  const app = new App({ outdir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Mlship-Training', { env: { account: '123456789012', region: 'us-east-1' } });
  const bucket = s3.Bucket.fromBucketName(stack, 'Data', 'mlship-data');
  const topic = sns.Topic.fromTopicArn(stack, 'Alarms', 'arn:aws:sns:us-east-1:123456789012:mlship-alarms');
  const drift = cloudwatch.Alarm.fromAlarmArn(stack, 'Drift', 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:mlship-drift');
  const config = parseConfig({ training });
  const loop = new RetrainingLoop(stack, 'Retraining', {
    bucket,
    manifest,
    modelDir: MODEL_DIR,
    buildDir: join(outdir, 'build'),
    championPackageKey: 'models/breast-cancer/1.0.0/0123456789abcdef/model.tar.gz',
    mlshipImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/mlship:latest',
    grantImagePull: () => undefined,
    alarmTopic: topic,
    triggerAlarms: [drift],
    training: config.training as NonNullable<typeof config.training>,
    logRetention: logs.RetentionDays.ONE_MONTH,
    ...extra,
  });
  let synthError: unknown;
  try {
    app.synth();
  } catch (e) {
    synthError = e;
  }
  const reportFile = join(outdir, 'validation-report.json');
  const report = existsSync(reportFile)
    ? (JSON.parse(readFileSync(reportFile, 'utf8')) as { pluginReports: { violations: { ruleName: string }[] }[] })
    : { pluginReports: [] };
  return { stack, loop, template: Template.fromStack(stack), violations: report.pluginReports.flatMap((p) => p.violations), synthError };
}

const roleId = (t: Template, description: RegExp) =>
  Object.entries(t.findResources('AWS::IAM::Role')).find(([, r]) => description.test(String(r.Properties.Description)))?.[0] as string;

describe('the retraining state machine', () => {
  const { template, violations, synthError } = synth({ schedule: 'rate(7 days)', onAlarm: true, spot: true, maxRuntimeSeconds: 1800 });
  const definition = render(
    template.findResources('AWS::StepFunctions::StateMachine')[
      Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0] as string
    ]?.Properties.DefinitionString,
  );

  it('synthesizes with no unacknowledged cdk-nag finding', () => {
    expect(synthError).toBeUndefined();
    expect(violations).toEqual([]);
  });

  it('snapshots, trains with createTrainingJob.sync on the region’s scikit-learn image, evaluates in the mlship image', () => {
    expect(definition).toContain('arn:<AWS::Partition>:states:::sagemaker:createTrainingJob.sync');
    expect(definition).toContain('arn:<AWS::Partition>:states:::sagemaker:createProcessingJob.sync');
    expect(definition).toContain('sagemaker-scikit-learn:1.2-1-cpu-py3');
    expect(definition).toContain('"EnableManagedSpotTraining":true');
    expect(definition).toContain('"MaxRuntimeInSeconds":1800,"MaxWaitTimeInSeconds":3600');
    expect(definition).toContain("States.Array('evaluate'");
    expect(definition).toContain("States.Array('snapshot'");
    expect(template.findMappings('*')).toEqual(
      expect.objectContaining({
        [Object.keys(template.findMappings('*'))[0] as string]: expect.objectContaining({ 'us-east-1': { account: '683313688378' } }),
      }),
    );
  });

  it('lets the training job read only the snapshots and its code and write only its output prefix', () => {
    const statements = statementsOfRole(template, roleId(template, /^SageMaker training jobs/));
    const s3Statements = statements.filter((s) => s.actions.some((a) => a.startsWith('s3:')));
    const resources = s3Statements.flatMap((s) => s.resources).join(' ');
    expect(s3Statements.find((s) => s.actions.includes('s3:PutObject'))?.resources).toEqual([
      'arn:<AWS::Partition>:s3:::mlship-data/training/output/breast-cancer/*',
    ]);
    expect(s3Statements.find((s) => s.actions.length === 1 && s.actions[0] === 's3:GetObject')?.resources).toEqual([
      'arn:<AWS::Partition>:s3:::mlship-data/training/snapshots/breast-cancer/*',
    ]);
    expect(resources).not.toMatch(/mlship-data\/(models|datasets|predictions|analytics)/);
    expect(statements.some((s) => s.actions.includes('iam:PassRole'))).toBe(false);
  });

  it('passes only the jobs’ roles, and only to SageMaker', () => {
    const machineRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.includes('StateMachineRole')) as string;
    const pass = statementsOfRole(template, machineRole).filter((s) => s.actions.includes('iam:PassRole'));
    expect(pass).toHaveLength(1);
    expect(pass[0]?.resources.sort()).toEqual(['<RetrainingProcessingRole.Arn>', '<RetrainingTrainingRole.Arn>']);
    expect(pass[0]?.condition).toEqual({ StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } });
  });

  it('starts on its schedule and when the drift alarm goes into ALARM', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(7 days)' });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:mlship-drift'],
        detail: { state: { value: ['ALARM'] } },
      }),
    });
  });
});

describe('the training configuration', () => {
  it('names every bad key of training in one error', () => {
    expect(() => parseConfig({ training: { instanceType: 'm5.large', maxRuntimeSeconds: 10, schedule: 'weekly' } })).toThrow(
      /training = .*instanceType|schedule|maxRuntimeSeconds/,
    );
    expect(() => parseConfig({ analytics: false, training: { withFeedback: true } })).toThrow(/withFeedback reads the analytics store/);
  });

  it('refuses an alarm trigger without alarms and a policy override that is not one', () => {
    expect(() => synth({ onAlarm: true }, { triggerAlarms: [] })).toThrow(/onAlarm needs alarms/);
    expect(() => synth({ policy: { acuracy: 0.1 } })).toThrow(/"acuracy" is not a policy field/);
  });
});

describe('the Training stack in the app', () => {
  it('composes with the serving image, the alarm topic and the analytics workgroup, cdk-nag clean', () => {
    // GIVEN the app with a training schedule, the alarm trigger and labeled predictions
    const r = synthBackend('fargate', {
      training: parseConfig({ training: { schedule: 'rate(7 days)', onAlarm: true, withFeedback: true } }).training,
    });
    // THEN it synthesizes without findings, and the state machine unloads from the stack's workgroup
    expect(r.synthError).toBeUndefined();
    expect(r.violations).toEqual([]);
    const t = Template.fromStack(r.training as Stack);
    expect(render(t.toJSON())).toContain(':states:::athena:startQueryExecution.sync');
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    // AND what `cdk destroy` keeps, the Training stack's included, is what docs/deploying.md lists
    expectRetainedDocumented({ ...(r.templates as unknown as Record<string, Template>), training: t }, 'fargate', ['training']);
    // AND every token resolved (the bucket's name included), no grant on every bucket
    expect(JSON.stringify(t.toJSON())).not.toContain('Token[');
    const machineRole = Object.keys(t.findResources('AWS::IAM::Role')).find((id) => id.includes('StateMachineRole')) as string;
    const s3OnAll = statementsOfRole(t, machineRole).filter(
      (st) => st.actions.some((a) => a.toLowerCase().startsWith('s3:')) && st.resources.includes('*'),
    );
    expect(s3OnAll).toEqual([]);
  }, 300_000);
});

describe('the hand-over, without a deploy', () => {
  // GIVEN the app with the retraining loop, on Fargate and on SageMaker
  const apps = (['fargate', 'sagemaker'] as const).map((backend) => ({
    backend,
    r: synthBackend(backend, { training: parseConfig({ training: { schedule: 'rate(7 days)' } }).training }),
  }));
  const [fargate, sagemaker] = apps.map((a) => a.r);

  it('ends an accepted run with the hand-over function, and publishes a declined hand-over', () => {
    const r = defined(fargate, 'the fargate app');
    expect(r.synthError).toBeUndefined();
    expect(r.violations).toEqual([]);
    const t = Template.fromStack(r.training as Stack);
    const definition = render(Object.values(t.findResources('AWS::StepFunctions::StateMachine'))[0]?.Properties.DefinitionString);
    expect(definition).toContain('"BooleanEquals":true,"Next":"Hand over in shadow"}],"Default":"Publish the refusal"');
    expect(definition).toMatch(
      /"Hand over in shadow":\{"Next":"In the shadow\?".*"Resource":"arn:<AWS::Partition>:states:::lambda:invoke"/,
    );
    expect(definition).toContain('"Payload":{"version.$":"$.decision.decision.version"}');
    expect(definition).toMatch(
      /"In the shadow\?":\{"Type":"Choice","Choices":\[\{"Variable":"\$\.handOver\.result\.handedOver","BooleanEquals":true,"Next":"Registered and in the shadow"\}\],"Default":"Publish why it was not handed over"/,
    );
    // AND the function is the only writer, of the routing item only: no other table key, no bucket
    const fn = r.training?.handOver;
    const statements = statementsOfRole(t, Stack.of(defined(fn, 'the hand-over')).getLogicalId(fn?.role.node.defaultChild as CfnResource));
    const data = statements.filter((st) => !st.actions.every((a) => a.startsWith('logs:') || a.startsWith('xray:')));
    expect(data).toEqual([
      {
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        resources: ['<import:PredictionLog.Arn>'],
        condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['routing#*'] } },
      },
    ]);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV.CHALLENGER]: REGISTRY_CHALLENGER }) },
    });
  });

  it('lets the predict function read the routing state and the model server load registered versions', () => {
    for (const { backend, r } of apps) {
      expect({ backend, synthError: r.synthError, violations: r.violations }).toEqual({ backend, synthError: undefined, violations: [] });
      const api = r.templates.api;
      api.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ [ENV.CHALLENGER]: REGISTRY_CHALLENGER }) },
      });
      const predict = statementsOfRole(api, Stack.of(r.api).getLogicalId(r.api.functions.predict.role.node.defaultChild as CfnResource));
      expect(predict.filter((st) => JSON.stringify(st.condition ?? {}).includes('routing#'))).toHaveLength(1);
      const serving = render(r.templates.serving.toJSON());
      const at = serving.indexOf(`"${ENV.MODEL_REGISTRY_S3_URI}"`);
      expect(at).toBeGreaterThan(0);
      expect(serving.slice(at, at + 400)).toContain(`/${modelPrefix(r.manifest.name)}"`);
    }
    // The SageMaker role reads the model's prefix (the registry) for models, nothing wider (batch/ is Batch Transform's)
    const sm = defined(sagemaker, 'the sagemaker app');
    const role = statementsOfRole(
      sm.templates.serving,
      Stack.of(sm.serving).getLogicalId(sm.serving.sagemaker?.role.node.defaultChild as CfnResource),
    );
    expect(
      role
        .filter((st) => st.actions.includes('s3:GetObject'))
        .flatMap((st) => st.resources)
        .filter((res) => res.includes('/models/')),
    ).toEqual([`<import:Mlship-Data-DataBucketArn>/${modelPrefix(sm.manifest.name)}*`]);
  });

  it('sends a deploy that undoes a promotion to the alarm topic (the predict function keeps a routing state)', () => {
    const r = defined(fargate, 'the fargate app');
    const alarm = r.monitoring.monitoring.alarms.promotionUndone;
    const props =
      r.templates.monitoring.toJSON().Resources[
        Stack.of(r.monitoring).getLogicalId(defined(alarm, 'the alarm').node.defaultChild as CfnResource)
      ]?.Properties;
    expect(props).toMatchObject({
      MetricName: PREDICT_METRICS.routingStateReplaced,
      Dimensions: [{ Name: 'Model', Value: r.manifest.name }],
      AlarmActions: [{ Ref: Stack.of(r.monitoring).getLogicalId(r.monitoring.monitoring.alarmTopic.node.defaultChild as CfnResource) }],
    });
  });
});
