/**
 * Rollout settings in the synthesized serving stack of each backend: deployment alarms and rollback,
 * blue/green, the golden-set check and its exact IAM, and zero unacknowledged cdk-nag/CloudFormation findings.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { ENV } from '../../contract/env';
import { GOLDEN_SET_FILE } from '../../contract/rollout';
import { baseStatements, logicalIdOf } from '../infra/backend-suite';
import { type SynthResult, statementsOfRole, synthBackend } from '../infra/synth';
import { defined } from '../support/defined';

const results: Partial<Record<string, SynthResult>> = {};
const synth = (b: 'fargate' | 'sagemaker' | 'sagemaker-serverless') => (results[b] ??= synthBackend(b));

describe('fargate', () => {
  it('synthesizes clean', () => {
    const r = synth('fargate');
    expect(r.synthError?.message).toBeUndefined();
    expect(r.violations).toEqual([]);
  });

  it('rolls back on the circuit breaker and on target 5xx / unhealthy-host alarms, blue/green with a bake time', () => {
    const r = synth('fargate');
    const s = r.templates.serving;
    const alarms = defined(r.serving.fargate, 'the Fargate service').deploymentAlarms.map((a) => ({ Ref: logicalIdOf(a) }));
    expect(alarms).toHaveLength(4);
    s.hasResourceProperties('AWS::ECS::Service', {
      DeploymentConfiguration: Match.objectLike({
        Strategy: 'BLUE_GREEN',
        BakeTimeInMinutes: 5,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        Alarms: { AlarmNames: alarms, Enable: true, Rollback: true },
        LifecycleHooks: [
          Match.objectLike({
            HookTargetArn: { 'Fn::GetAtt': [logicalIdOf(r.serving.goldenCheck.handler.function), 'Arn'] },
            LifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
          }),
        ],
      }),
    });
    for (const metric of ['HTTPCode_Target_5XX_Count', 'UnHealthyHostCount']) {
      s.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Namespace: 'AWS/ApplicationELB', MetricName: metric }, 2);
    }
    s.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 8081, Protocol: 'HTTP' });
  });

  it('runs the golden-set hook in the VPC against the test listener, with nothing but its logs and the VPC attachment', () => {
    const r = synth('fargate');
    const check = r.serving.goldenCheck.handler;
    const fn = r.templates.serving.toJSON().Resources[logicalIdOf(check.function)].Properties;
    expect(Object.keys(fn.Environment.Variables).sort()).toEqual([ENV.MODEL_URL, ENV.GOLDEN_SET_PATH, 'NODE_OPTIONS'].sort());
    expect(fn.Environment.Variables[ENV.GOLDEN_SET_PATH]).toBe(GOLDEN_SET_FILE);
    expect(JSON.stringify(fn.Environment.Variables[ENV.MODEL_URL])).toContain(':8081');
    expect(fn.VpcConfig.SecurityGroupIds).toEqual([
      { 'Fn::GetAtt': [logicalIdOf(defined(r.serving.fargate, 'the Fargate service').testClientSecurityGroup), 'GroupId'] },
    ]);
    const actions = statementsOfRole(r.templates.serving, logicalIdOf(check.role)).flatMap((x) => x.actions);
    expect(actions.filter((a) => !a.startsWith('ec2:') && !a.startsWith('logs:') && !a.startsWith('xray:'))).toEqual([]);
  });
});

describe.each(['sagemaker', 'sagemaker-serverless'] as const)('%s', (backend) => {
  it('synthesizes clean', () => {
    const r = synth(backend);
    expect(r.synthError?.message).toBeUndefined();
    expect(r.violations).toEqual([]);
  });

  it('updates the endpoint blue/green with auto-rollback on its 5xx and latency alarms', () => {
    const r = synth(backend);
    const s = r.templates.serving;
    const sm = defined(r.serving.sagemaker, 'the SageMaker endpoint');
    s.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: sm.endpointName,
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          // The default fleet is one instance, where a canary would be all of it; serverless has no instances.
          // The wait is required by the SageMaker API even for ALL_AT_ONCE (optional in CloudFormation's schema).
          TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 },
          TerminationWaitInSeconds: 600,
          MaximumExecutionTimeoutInSeconds: 3600,
        },
        AutoRollbackConfiguration: { Alarms: sm.deploymentAlarms.map((a) => ({ AlarmName: { Ref: logicalIdOf(a) } })) },
      },
    });
    for (const metric of ['Invocation5XXErrors', 'ModelLatency']) {
      s.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SageMaker',
        MetricName: metric,
        Dimensions: Match.arrayWith([
          { Name: 'EndpointName', Value: sm.endpointName },
          { Name: 'VariantName', Value: 'AllTraffic' },
        ]),
      });
    }
  });

  it('checks the golden set on the check endpoint before the serving endpoint is updated, allowed to invoke the check endpoint only', () => {
    const r = synth(backend);
    const s = r.templates.serving;
    const check = r.serving.goldenCheck;
    const sm = defined(r.serving.sagemaker, 'the SageMaker endpoint');
    const [id, resource] = Object.entries(s.findResources('Custom::GoldenSetCheck'))[0];
    expect(id).toBeDefined();
    // Check endpoint (new model) -> golden-set check -> serving endpoint: a failed check stops the update before traffic moves.
    expect(resource.DependsOn).toEqual(expect.arrayContaining([r.serving.getLogicalId(sm.checkEndpoint)]));
    expect(resource.DependsOn).not.toContain(r.serving.getLogicalId(sm.endpoint));
    expect(s.toJSON().Resources[r.serving.getLogicalId(sm.endpoint)].DependsOn).toContain(id);
    s.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [
        Match.objectLike({
          ModelName: { 'Fn::GetAtt': [r.serving.getLogicalId(sm.model), 'ModelName'] },
          ServerlessConfig: Match.objectLike({ MaxConcurrency: 1 }),
        }),
      ],
    });
    // CloudFormation gives up on a silent custom resource after minutes, not its default hour.
    expect(resource.Properties.ServiceTimeout).toBe('480');
    expect(resource.Properties).toMatchObject({
      ServiceToken: { 'Fn::GetAtt': [logicalIdOf(check.handler.function), 'Arn'] },
      EndpointName: sm.checkEndpointName,
      EndpointConfigName: { 'Fn::GetAtt': [r.serving.getLogicalId(sm.checkEndpointConfig), 'EndpointConfigName'] },
      Model: `${r.manifest.name}/${r.manifest.version}`,
      GoldenSetSha256: check.goldenSetSha256,
    });
    expect(statementsOfRole(s, logicalIdOf(check.handler.role))).toEqual([
      ...baseStatements(logicalIdOf(check.handler.logGroup)),
      { actions: ['sagemaker:InvokeEndpoint'], resources: ['<SageMakerCheckEndpoint>'] },
    ]);
    const fn = s.toJSON().Resources[logicalIdOf(check.handler.function)].Properties;
    expect(Object.keys(fn.Environment.Variables).sort()).toEqual([ENV.GOLDEN_SET_PATH, 'NODE_OPTIONS']);
    expect(fn.VpcConfig).toBeUndefined();
  });
});
