import { Match } from 'aws-cdk-lib/assertions';
import { modelPackageKey, modelPrefix } from '../../contract/bucket';
import { defined } from '../support/defined';
import { baseStatements, logicalIdOf } from './backend-suite';
import { render, type SynthResult, statementsOfRole } from './synth';

/** Assertions for the fargate backend's serving stack and the predict function's access to it. */
export function describeFargateServing(synth: () => SynthResult): void {
  let r: SynthResult;
  beforeAll(() => {
    r = synth();
  });

  describe('fargate: serving', () => {
    it('runs the service with a rollback circuit breaker, behind an internal load balancer checking GET /ping', () => {
      const s = r.templates.serving;
      s.hasResourceProperties('AWS::ECS::Service', {
        LaunchType: 'FARGATE',
        // The scaler owns the count: a declared DesiredCount would reset the service on every update.
        DesiredCount: Match.absent(),
        DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
        NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
      });
      s.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
      s.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: '/ping', Port: 8080, Protocol: 'HTTP' });
      s.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
      s.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Cpu: String(r.config.fargateCpu),
        Memory: String(r.config.fargateMemoryMiB),
        ContainerDefinitions: [
          Match.objectLike({
            Environment: Match.arrayWith([{ Name: 'MODEL_S3_URI', Value: Match.anyValue() }]),
            LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
          }),
        ],
      });
    });

    it('scales between min and max on CPU and on requests per running task over the whole load balancer (both blue/green target groups)', () => {
      const s = r.templates.serving;
      s.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: r.config.fargateMinCapacity,
        MaxCapacity: r.config.fargateMaxCapacity,
        ScalableDimension: 'ecs:service:DesiredCount',
      });
      s.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        }),
      });
      const lb = logicalIdOf(defined(r.serving.fargate, 'the Fargate service').loadBalancer);
      s.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          TargetValue: 3000,
          CustomizedMetricSpecification: {
            Metrics: [
              Match.objectLike({
                Id: 'requests',
                ReturnData: false,
                MetricStat: {
                  Metric: {
                    Namespace: 'AWS/ApplicationELB',
                    MetricName: 'RequestCount',
                    Dimensions: [{ Name: 'LoadBalancer', Value: { 'Fn::GetAtt': [lb, 'LoadBalancerFullName'] } }],
                  },
                  Stat: 'Sum',
                },
              }),
              Match.objectLike({
                Id: 'tasks',
                ReturnData: false,
                MetricStat: Match.objectLike({
                  Metric: Match.objectLike({ Namespace: 'ECS/ContainerInsights', MetricName: 'RunningTaskCount' }),
                }),
              }),
              { Id: 'perTask', Expression: 'requests / tasks', Label: Match.anyValue(), ReturnData: true },
            ],
          },
        }),
      });
      // No policy watches a single target group: blue/green moves the traffic to the other one every other deployment.
      expect(JSON.stringify(s.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'))).not.toContain('ALBRequestCountPerTarget');
    });

    it('keeps every log group at the configured retention', () => {
      for (const t of Object.values(r.templates)) {
        for (const lg of Object.values(t.findResources('AWS::Logs::LogGroup')))
          expect(lg.Properties.RetentionInDays).toBe(r.config.logRetentionDays);
      }
    });

    it("lets the task role read its own model's packages and nothing else, without listing", () => {
      const { name, version } = r.manifest;
      const taskRole = defined(r.serving.fargate, 'the Fargate service').service.taskDefinition.taskRole;
      // Every version of this model (old tasks of a blue/green rollout still load theirs), no other model.
      expect(statementsOfRole(r.templates.serving, logicalIdOf(taskRole))).toEqual([
        { actions: ['s3:GetObject'], resources: [`<import:Mlship-Data-DataBucketArn>/${modelPrefix(name)}*`] },
      ]);
      // GetObject alone suffices because the tasks are given the package key, never a prefix to list.
      const [container] =
        r.templates.serving.toJSON().Resources[logicalIdOf(defined(r.serving.fargate, 'the Fargate service').service.taskDefinition)]
          .Properties.ContainerDefinitions;
      const uri = container.Environment.find((e: { Name: string }) => e.Name === 'MODEL_S3_URI').Value;
      // The deployed package's key, named by its digest: a retrained model never overwrites what tasks load.
      expect(render(uri)).toMatch(/^s3:\/\//);
      expect(render(uri).endsWith(`/${r.serving.modelPackage.key}`)).toBe(true);
      expect(r.serving.modelPackage.key).toMatch(
        new RegExp(`^${modelPackageKey(name, version).replace('model.tar.gz', '')}[0-9a-f]{16}/model\\.tar\\.gz$`),
      );
    });

    it('uses one NAT gateway and free gateway endpoints for S3 and DynamoDB', () => {
      const s = r.templates.serving;
      s.resourceCountIs('AWS::EC2::NatGateway', 1);
      s.resourceCountIs('AWS::EC2::Subnet', 4);
      s.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
      for (const e of Object.values(s.findResources('AWS::EC2::VPCEndpoint'))) expect(e.Properties.VpcEndpointType).toBe('Gateway');
    });

    it('runs predict in the VPC, lets only its security group reach the load balancer, and calls it over HTTP', () => {
      const { predict } = r.api.functions;
      const fn = r.templates.api.toJSON().Resources[logicalIdOf(predict.function)].Properties;
      expect(fn.VpcConfig.SecurityGroupIds).toHaveLength(1);
      expect(JSON.stringify(fn.Environment.Variables.MLSHIP_MODEL_URL)).toMatch(
        /^\{"Fn::Join":\["",\["http:\/\/",\{"Fn::ImportValue":"Mlship-Serving-fargate:ExportsOutputFnGetAttFargateLoadBalancer.*DNSName/,
      );
      const s = r.templates.serving;
      const clientSg = logicalIdOf(defined(r.serving.fargate, 'the Fargate service').clientSecurityGroup);
      const ingress = Object.values(s.findResources('AWS::EC2::SecurityGroupIngress')).map((x) => x.Properties);
      expect(ingress).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ FromPort: 80, ToPort: 80, SourceSecurityGroupId: { 'Fn::GetAtt': [clientSg, 'GroupId'] } }),
        ]),
      );
      // Nothing reaches the load balancer or the tasks from an address range.
      const sgs = Object.values(s.findResources('AWS::EC2::SecurityGroup')).map((x) => x.Properties);
      for (const sg of sgs) expect(sg.SecurityGroupIngress ?? []).toEqual([]);
      expect(statementsOfRole(r.templates.api, logicalIdOf(predict.role)).slice(0, 3)).toEqual([
        baseStatements(logicalIdOf(predict.logGroup))[0],
        {
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        },
        baseStatements(logicalIdOf(predict.logGroup))[1],
      ]);
      expect(statementsOfRole(r.templates.api, logicalIdOf(predict.role)).flatMap((x) => x.actions)).not.toContain(
        'sagemaker:InvokeEndpoint',
      );
    });
  });
}
