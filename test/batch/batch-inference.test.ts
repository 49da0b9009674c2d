/**
 * The BatchInference construct on a test stack: the state machine's definition for each backend, its
 * trigger, the exact IAM it grants, its logging and tracing, the failure alarm, and cdk-nag.
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BATCH_STACK_OUTPUTS } from '../../contract/batch';
import { BatchInference, type BatchInferenceProps } from '../../lib/batch/batch-inference';

const ENV = { account: '111111111111', region: 'eu-west-1' };

interface Fixture {
  stack: Stack;
  bucket: s3.Bucket;
  modelRole: iam.Role;
  model: sagemaker.CfnModel;
}

/** A data bucket and a SageMaker model, standing in for the data and serving stacks. */
function fixture(app: App): Fixture {
  const stack = new Stack(app, 'Batch', { env: ENV });
  const bucket = new s3.Bucket(stack, 'Data', {
    eventBridgeEnabled: true,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  });
  Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'Test fixture: the data stack owns access logging.' });
  // eventBridgeEnabled adds CDK's bucket-notifications Lambda to the fixture stack.
  Validations.of(stack).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: "Test fixture: CDK's bucket-notifications handler, part of the data stack in the app.",
  });
  const modelRole = new iam.Role(stack, 'ModelRole', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
  const model = new sagemaker.CfnModel(stack, 'Model', {
    executionRoleArn: modelRole.roleArn,
    primaryContainer: {
      image: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/model:1',
      modelDataUrl: `s3://${bucket.bucketName}/models/m/1/model.tar.gz`,
    },
  });
  return { stack, bucket, modelRole, model };
}

function sagemakerProps(f: Fixture): BatchInferenceProps {
  return {
    backend: 'sagemaker-serverless',
    bucket: f.bucket,
    sagemaker: { modelName: f.model.attrModelName, modelRole: f.modelRole, instanceType: 'ml.m5.large' },
    logRetention: logs.RetentionDays.ONE_MONTH,
  };
}

function fargateProps(f: Fixture): BatchInferenceProps {
  const vpc = new ec2.Vpc(f.stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'app', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
  Validations.of(vpc).acknowledge({ id: 'AwsSolutions-VPC7', reason: 'Test fixture: the serving stack owns flow logs.' });
  const cluster = new ecs.Cluster(f.stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
  const sg = new ec2.SecurityGroup(f.stack, 'TaskSg', { vpc, description: 'batch task' });
  return {
    backend: 'fargate',
    bucket: f.bucket,
    fargate: {
      cluster,
      image: ecs.ContainerImage.fromRegistry('111111111111.dkr.ecr.eu-west-1.amazonaws.com/model:1'),
      model: { name: 'm', version: '1' },
      modelKey: 'models/m/1/0123456789abcdef/model.tar.gz',
      subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [sg],
    },
    logRetention: logs.RetentionDays.ONE_MONTH,
  };
}

/** The state machine's definition as an object, with CloudFormation references shown as `<LogicalId>`. */
function definitionOf(template: Template): Record<string, { Type: string; [k: string]: unknown }> {
  const [sm] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const parts = (sm.Properties.DefinitionString['Fn::Join'] as [string, unknown[]])[1];
  const text = parts.map((p) => (typeof p === 'string' ? p : `<${JSON.stringify(p).replace(/"/g, "'")}>`)).join('');
  return (JSON.parse(text) as { States: Record<string, { Type: string }> }).States;
}

/** Every statement of the policies attached to a role. */
function statementsOf(
  template: Template,
  roleLogicalIdPrefix: string,
): { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith(roleLogicalIdPrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('BatchInference with a SageMaker model', () => {
  let template: Template;
  let f: Fixture;
  beforeAll(() => {
    // GIVEN a model served by a serverless endpoint
    f = fixture(new App());
    // WHEN batch inference is added
    new BatchInference(f.stack, 'Batch', sagemakerProps(f));
    template = Template.fromStack(f.stack);
  });

  it('runs a Batch Transform job on the model: lines of text/csv in, text/csv out under batch/output/<execution>/', () => {
    const states = definitionOf(template);
    const transform = states.Transform as unknown as { Resource: string; Parameters: Record<string, unknown> };
    expect(transform.Resource).toMatch(/:states:::sagemaker:createTransformJob\.sync$/);
    expect(transform.Parameters).toMatchObject({
      'TransformJobName.$': "States.Format('batch-{}', $$.Execution.Name)",
      ModelName: expect.stringContaining('ModelName'),
      BatchStrategy: 'MultiRecord',
      TransformInput: {
        ContentType: 'text/csv',
        SplitType: 'Line',
        DataSource: { S3DataSource: { 'S3Uri.$': '$.run.inputUri', S3DataType: 'S3Prefix' } },
      },
      TransformOutput: { 'S3OutputPath.$': '$.run.outputPath', Accept: 'text/csv', AssembleWith: 'Line' },
      TransformResources: { InstanceCount: 1, InstanceType: 'ml.m5.large' },
    });
    expect(states['Locate input and output']).toMatchObject({
      Parameters: {
        'inputUri.$': "States.Format('s3://{}/{}', $.run.bucket, $.run.key)",
        'outputPath.$': "States.Format('s3://{}/batch/output/{}/', $.run.bucket, $$.Execution.Name)",
      },
    });
    // The bucket is the stack's, whatever the event says; keys outside batch/input/ fail the run.
    expect(JSON.stringify(states['Describe the run'])).toContain("'Ref':'Data");
    expect(states['Is the key under the input prefix?']).toMatchObject({
      Choices: [{ Variable: '$.run.key', StringMatches: 'batch/input/*' }],
      Default: 'Key outside the input prefix',
    });
    expect(states['Key outside the input prefix']).toMatchObject({ Type: 'Fail', Error: 'InputOutsidePrefix' });
  });

  it('starts on every object created under batch/input/ in the data bucket', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [{ Ref: Match.stringLikeRegexp('^Data') }] }, object: { key: [{ prefix: 'batch/input/' }] } },
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('StateMachine') } })],
    });
  });

  it('lets the model role read batch/input/ and write batch/output/, and nothing else in the bucket', () => {
    const statements = statementsOf(template, 'ModelRole').filter((s) => JSON.stringify(s.Action).includes('s3:'));
    const bucketArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Data'), 'Arn'] };
    expect(statements.map((s) => s.Action)).toEqual(['s3:GetObject', ['s3:PutObject', 's3:AbortMultipartUpload'], 's3:ListBucket']);
    const [read, write, list] = statements;
    expect(JSON.stringify(read?.Resource)).toMatch(
      /^\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["Data[0-9A-F]+","Arn"\]\},"\/batch\/input\/\*"\]\]\}$/,
    );
    expect(JSON.stringify(write?.Resource)).toContain('"/batch/output/*"');
    expect(list).toMatchObject({ Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': ['batch/input/*'] } } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ModelRole') }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 's3:ListBucket', Resource: bucketArn })]) },
    });
  });

  it("lets the model role write the transform jobs' logs and metrics under /aws/sagemaker/TransformJobs, and nowhere else", () => {
    // SageMaker writes a transform job's container output with the model's role; the endpoint's
    // /aws/sagemaker/Endpoints grant does not cover it.
    const statements = statementsOf(template, 'ModelRole').filter((s) => !JSON.stringify(s.Action).includes('s3:'));
    const arn = (resourceName: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:logs:eu-west-1:111111111111:log-group:${resourceName}`]],
    });
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:DescribeLogStreams'], Resource: arn('/aws/sagemaker/TransformJobs') },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: arn('/aws/sagemaker/TransformJobs:log-stream:batch-*'),
      },
      {
        Effect: 'Allow',
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TransformJobs' } },
      },
    ]);
  });

  it('gives the state machine only the transform job actions, and no full-access role', () => {
    const actions = statementsOf(template, 'BatchStateMachineRole').flatMap((s) => s.Action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'sagemaker:CreateTransformJob',
        'sagemaker:DescribeTransformJob',
        'sagemaker:StopTransformJob',
        'iam:PassRole',
      ]),
    );
    expect(actions.filter((a) => a.startsWith('s3:'))).toEqual([]);
    expect(JSON.stringify(template.toJSON())).not.toContain('AmazonSageMakerFullAccess');
  });

  it('logs every event with execution data, traces with X-Ray and alarms on failed runs', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
      },
      TracingConfiguration: { Enabled: true },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    // The failed-run alarm lives with the alarm topic (ModelMonitoring `watchedFailures.batchRuns`).
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
  });

  it('names the state machine and the bucket in the outputs the CLI reads', () => {
    template.hasOutput(BATCH_STACK_OUTPUTS.stateMachineArn, { Value: { Ref: Match.stringLikeRegexp('StateMachine') } });
    template.hasOutput(BATCH_STACK_OUTPUTS.bucketName, { Value: { Ref: Match.stringLikeRegexp('^Data') } });
  });
});

describe('BatchInference with the Fargate backend', () => {
  let template: Template;
  beforeAll(() => {
    const f = fixture(new App());
    new BatchInference(f.stack, 'Batch', fargateProps(f));
    template = Template.fromStack(f.stack);
  });

  it("runs the image's batch command on Fargate with the run's input and output", () => {
    const states = definitionOf(template);
    expect(states['Build the batch command']).toMatchObject({
      Parameters: { 'command.$': "States.Array('batch', '--input', $.run.inputUri, '--output', $.run.outputPath)" },
    });
    const run = states['Run batch task'] as unknown as { Resource: string; Parameters: Record<string, unknown> };
    expect(run.Resource).toMatch(/:states:::ecs:runTask\.sync$/);
    expect(run.Parameters).toMatchObject({
      LaunchType: 'FARGATE',
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          Subnets: [expect.stringContaining('Vpcapp'), expect.stringContaining('Vpcapp')],
          SecurityGroups: [expect.stringContaining('TaskSg')],
        },
      },
      Overrides: { ContainerOverrides: [{ Name: 'batch', 'Command.$': '$.task.command' }] },
    });
    // Private subnets only: no public address for the task.
    expect(JSON.stringify(run.Parameters)).not.toContain('AssignPublicIp');
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '1024',
      Memory: '2048',
      ContainerDefinitions: [
        Match.objectLike({ Name: 'batch', Environment: Match.arrayWith([Match.objectLike({ Name: 'MODEL_S3_URI' })]) }),
      ],
    });
    // The task loads the package key it is given (the deployed, digest-named one), which GetObject alone fetches (no listing).
    const [td] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const uri = (td.Properties.ContainerDefinitions[0].Environment as { Name: string; Value: unknown }[]).find(
      (e) => e.Name === 'MODEL_S3_URI',
    )?.Value;
    expect(JSON.stringify(uri)).toMatch(/"\/models\/m\/1\/0123456789abcdef\/model\.tar\.gz"\]\]\}$/);
  });

  it("lets the task read batch/input/ and its own model's versions, write batch/output/, and nothing else", () => {
    const statements = statementsOf(template, 'BatchTaskTaskRole').filter((s) => JSON.stringify(s.Action).includes('s3:'));
    expect(statements.map((s) => s.Action)).toEqual(['s3:GetObject', 's3:GetObject', ['s3:PutObject', 's3:AbortMultipartUpload']]);
    const [input, models, output] = statements.map((s) => JSON.stringify(s.Resource));
    expect(input).toContain('"/batch/input/*"');
    // Every version of model m (a run started before a deployment still loads its own), no other model.
    expect(models).toContain('"/models/m/*"');
    expect(JSON.stringify(statements)).not.toContain('"/models/*"');
    expect(output).toContain('"/batch/output/*"');
    expect(JSON.stringify(statements)).not.toContain('s3:ListBucket');
  });
});

describe('BatchInference props', () => {
  it('names every missing or contradictory prop in one error', () => {
    const f = fixture(new App());
    expect(
      () =>
        new BatchInference(f.stack, 'B1', {
          backend: 'fargate',
          bucket: f.bucket,
          logRetention: logs.RetentionDays.ONE_DAY,
          sagemaker: sagemakerProps(f).sagemaker,
        }),
    ).toThrow(/needs `fargate`[\s\S]*not `sagemaker`/);
    expect(
      () =>
        new BatchInference(f.stack, 'B2', {
          ...sagemakerProps(f),
          backend: 'sagemaker',
          sagemaker: { modelName: 'm', modelRole: f.modelRole, instanceType: 'm5.large', instanceCount: 0 },
        }),
    ).toThrow(/ml\.m5\.large[\s\S]*instanceCount/);
  });
});

describe('cdk-nag', () => {
  for (const backend of ['sagemaker', 'fargate'] as const) {
    it(`finds nothing unacknowledged in the ${backend} construct`, () => {
      const app = new App();
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      const f = fixture(app);
      new BatchInference(f.stack, 'Batch', backend === 'fargate' ? fargateProps(f) : sagemakerProps(f));
      let error: unknown;
      try {
        app.synth();
      } catch (e) {
        error = e;
      }
      const file = join(app.outdir, 'validation-report.json');
      const report = existsSync(file)
        ? (JSON.parse(readFileSync(file, 'utf8')) as {
            pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
          })
        : { pluginReports: [] };
      const violations = report.pluginReports.flatMap((p) =>
        p.violations.map((v) => `${v.ruleName} ${v.violatingConstructs.map((c) => c.constructPath).join(' ')}`),
      );
      expect(violations).toEqual([]);
      expect(error).toBeUndefined();
    });
  }
});
