/**
 * The model container on Fargate behind an internal Application Load Balancer. Only the security group
 * handed to callers (the predict function) may reach the load balancer, and only the load balancer may
 * reach the tasks. The tasks read their model's package from `models/<name>/` in the data bucket.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { DockerImageAsset } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { modelPrefix } from '../../contract/bucket';
import { ENV } from '../../contract/env';
import type { ModelManifest } from '../../contract/manifest';
import { fargateDeploymentAlarms } from '../rollout/deployment-alarms';
import type { ModelBackend } from './model-backend';

/** The container listens here (SageMaker's port, so one image serves both backends). */
export const CONTAINER_PORT = 8080;
/** Load balancer port of the blue/green test listener: during a rollout it reaches the new tasks only. */
export const TEST_LISTENER_PORT = 8081;
/** Requests per task per minute the request scaling policy keeps the service at. */
export const REQUESTS_PER_TASK_PER_MINUTE = 3000;

export interface FargateModelServiceProps {
  readonly image: DockerImageAsset;
  readonly bucket: s3.IBucket;
  /** The served model (from its manifest): the tasks may read every package under `models/<name>/`. */
  readonly model: Pick<ModelManifest, 'name' | 'version'>;
  /** Key of the package the tasks load at start (ModelPackage.key, under `models/<name>/`). */
  readonly modelKey: string;
  /** CPU units (256 = 0.25 vCPU). */
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly logRetention: logs.RetentionDays;
}

export class FargateModelService extends Construct implements ModelBackend {
  public readonly backend = 'fargate' as const;
  public readonly vpc: ec2.Vpc;
  public readonly cluster: ecs.Cluster;
  public readonly service: ecs.FargateService;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The target group production traffic starts on; blue/green rollouts alternate with `alternateTargetGroup`. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  public readonly alternateTargetGroup: elbv2.ApplicationTargetGroup;
  /** Security group of the rollout check: the only source the test listener accepts. */
  public readonly testClientSecurityGroup: ec2.SecurityGroup;
  /** `http://<load balancer>:<test port>`: the new tasks during a rollout. */
  public readonly testUrl: string;
  /** Task count scaling on CPU and on requests per task (both target groups: the whole load balancer). */
  public readonly scalableTarget: appscaling.ScalableTarget;
  /** Target 5xx and unhealthy hosts on both target groups: any in ALARM rolls a deployment back. */
  public readonly deploymentAlarms: cloudwatch.Alarm[];
  /** Security group of the model's callers: the only source the load balancer accepts. */
  public readonly clientSecurityGroup: ec2.SecurityGroup;
  /** `http://<internal load balancer DNS name>`. */
  public readonly url: string;
  public readonly clientVpc: ec2.IVpc;
  public readonly clientSecurityGroups: ec2.ISecurityGroup[];
  public readonly clientEnvironment: Partial<Record<typeof ENV.MODEL_URL, string>>;

  constructor(scope: Construct, id: string, props: FargateModelServiceProps) {
    super(scope, id);

    // One NAT gateway for the few calls that leave the VPC (ECR API, CloudWatch Logs, SQS, X-Ray) costs
    // less than an interface endpoint for each of them in two AZs; S3 (image layers, model) and DynamoDB
    // (the log) go through the free gateway endpoints.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', { retention: props.logRetention })),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    taskDefinition.addContainer('Model', {
      image: ecs.ContainerImage.fromDockerImageAsset(props.image),
      portMappings: [{ containerPort: CONTAINER_PORT }],
      environment: { [ENV.MODEL_S3_URI]: props.bucket.s3UrlForObject(props.modelKey), [ENV.PORT]: String(CONTAINER_PORT) },
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'model',
        logGroup: new logs.LogGroup(this, 'ContainerLogs', { retention: props.logRetention }),
      }),
      // SageMaker also stops containers after 30 s; the server drains within it.
      stopTimeout: Duration.seconds(30),
    });
    // The tasks may read this model's packages and nothing else in the bucket. Every version of the model,
    // not only this one: during a blue/green rollout the old tasks may be replaced while the new version is
    // tested, and they must still load their own version's package with this (already updated) role.
    // No s3:ListBucket: MODEL_S3_URI is always a package key, which the container fetches with GetObject alone
    // (so a missing package reads as AccessDenied, not NoSuchKey).
    taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [props.bucket.arnForObjects(`${modelPrefix(props.model.name)}*`)] }),
    );

    const albSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSg', {
      vpc: this.vpc,
      description: 'mlship model load balancer: HTTP from the model clients only',
      allowAllOutbound: false,
    });
    this.clientSecurityGroup = new ec2.SecurityGroup(this, 'ClientSg', {
      vpc: this.vpc,
      description: 'mlship model clients: HTTP to the model load balancer, HTTPS to AWS APIs',
      allowAllOutbound: false,
    });
    this.clientSecurityGroup.addEgressRule(albSecurityGroup, ec2.Port.tcp(80), 'HTTP to the model load balancer');
    this.clientSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs (gateway endpoints and NAT)');
    albSecurityGroup.addIngressRule(this.clientSecurityGroup, ec2.Port.tcp(80), 'HTTP from the model clients');
    this.testClientSecurityGroup = new ec2.SecurityGroup(this, 'TestClientSg', {
      vpc: this.vpc,
      description: 'mlship rollout check: HTTP to the test listener, HTTPS to AWS APIs',
      allowAllOutbound: false,
    });
    this.testClientSecurityGroup.addEgressRule(albSecurityGroup, ec2.Port.tcp(TEST_LISTENER_PORT), 'HTTP to the test listener');
    this.testClientSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs (CloudFormation and logs)');
    albSecurityGroup.addIngressRule(this.testClientSecurityGroup, ec2.Port.tcp(TEST_LISTENER_PORT), 'HTTP from the rollout check');

    const serviceSecurityGroup = new ec2.SecurityGroup(this, 'ServiceSg', {
      vpc: this.vpc,
      description: 'mlship model tasks: traffic from the load balancer; HTTPS out for ECR, S3 and logs',
      allowAllOutbound: false,
    });
    serviceSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to ECR, S3 and CloudWatch Logs');
    albSecurityGroup.addEgressRule(serviceSecurityGroup, ec2.Port.tcp(CONTAINER_PORT), 'HTTP to the model tasks');
    serviceSecurityGroup.addIngressRule(albSecurityGroup, ec2.Port.tcp(CONTAINER_PORT), 'HTTP from the load balancer');

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition,
      // No DesiredCount: the scaler owns the task count. CloudFormation starts a new service with one task
      // (raised to minCapacity when the scalable target registers) and leaves the count alone on updates,
      // where a declared count would reset the service to it on every deployment.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      // ECS blue/green: the new tasks get the test listener first, the golden-set hook checks them there
      // (see lib/rollout/golden-set-check.ts), then production traffic moves; the old tasks stay for the
      // bake time, during which the deployment alarms can still roll back.
      deploymentStrategy: ecs.DeploymentStrategy.BLUE_GREEN,
      bakeTime: Duration.minutes(5),
      securityGroups: [serviceSecurityGroup],
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: false,
      securityGroup: albSecurityGroup,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      dropInvalidHeaderFields: true,
    });
    const targetGroup = (name: string) =>
      new elbv2.ApplicationTargetGroup(this, name, {
        vpc: this.vpc,
        port: CONTAINER_PORT,
        protocol: elbv2.ApplicationProtocol.HTTP,
        targetType: elbv2.TargetType.IP,
        healthCheck: { path: '/ping', healthyHttpCodes: '200', interval: Duration.seconds(15), healthyThresholdCount: 2 },
        deregistrationDelay: Duration.seconds(30),
      });
    this.targetGroup = targetGroup('Model');
    this.alternateTargetGroup = targetGroup('ModelAlternate');
    // Blue/green swaps the target groups of listener rules, so traffic goes through rules, not default actions.
    const notFound = elbv2.ListenerAction.fixedResponse(404, {
      contentType: 'application/json',
      messageBody: '{"error":{"code":"ROUTE_NOT_FOUND","message":"No route."}}',
    });
    const listener = this.loadBalancer.addListener('Http', { port: 80, open: false, defaultAction: notFound });
    const testListener = this.loadBalancer.addListener('Test', {
      port: TEST_LISTENER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: notFound,
    });
    // ECS owns these rules' actions after creation (it rewrites them to weighted forwards over both
    // target groups); their properties must stay the same for the life of the stack, or CloudFormation
    // would put the declared action back (aws-cdk issue 36649). They carry no tags (lib/mlship-app.ts) and
    // name nothing that changes with the model or the config.
    const rule = (id: string, l: elbv2.ApplicationListener) =>
      new elbv2.ApplicationListenerRule(this, id, {
        listener: l,
        priority: 1,
        conditions: [elbv2.ListenerCondition.pathPatterns(['/*'])],
        action: elbv2.ListenerAction.forward([this.targetGroup]),
      });
    const productionRule = rule('ProductionRule', listener);
    const testRule = rule('TestRule', testListener);
    this.service
      .loadBalancerTarget({
        containerName: 'Model',
        containerPort: CONTAINER_PORT,
        alternateTarget: new ecs.AlternateTarget('Alternate', {
          alternateTargetGroup: this.alternateTargetGroup,
          productionListener: ecs.ListenerRuleConfiguration.applicationListenerRule(productionRule),
          testListener: ecs.ListenerRuleConfiguration.applicationListenerRule(testRule),
        }),
      })
      .attachToApplicationTargetGroup(this.targetGroup);

    this.deploymentAlarms = fargateDeploymentAlarms(this, this.loadBalancer, [this.targetGroup, this.alternateTargetGroup]);
    this.service.enableDeploymentAlarms(
      this.deploymentAlarms.map((a) => a.alarmName),
      { behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM },
    );

    this.scalableTarget = new appscaling.ScalableTarget(this, 'Scaling', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      resourceId: `service/${this.cluster.clusterName}/${this.service.serviceName}`,
      scalableDimension: 'ecs:service:DesiredCount',
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
    });
    this.scalableTarget.scaleToTrackMetric('Cpu', {
      predefinedMetric: appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_CPU_UTILIZATION,
      targetValue: 60,
    });
    this.requestScalingPolicy();
    this.url = `http://${this.loadBalancer.loadBalancerDnsName}`;
    this.testUrl = `http://${this.loadBalancer.loadBalancerDnsName}:${TEST_LISTENER_PORT}`;
    this.clientVpc = this.vpc;
    this.clientSecurityGroups = [this.clientSecurityGroup];
    this.clientEnvironment = { [ENV.MODEL_URL]: this.url };

    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'Internal load balancer reached only by the predict function: every request is already in the API access log and the prediction log.',
    });
    Validations.of(taskDefinition).acknowledge(
      { id: 'AwsSolutions-ECS2', reason: 'The container environment holds the model S3 URI and the port, neither of them secret.' },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'ecr:GetAuthorizationToken cannot be scoped to a resource.' },
    );
  }

  /**
   * Requests per running task, over the whole load balancer: blue/green moves the traffic between the two
   * target groups on alternate deployments, so the predefined per-target-group metric would watch an empty
   * group half the time. Metric math is not in the L2 API, hence the L1 policy.
   */
  private requestScalingPolicy(): appscaling.CfnScalingPolicy {
    const stat = (id: string, namespace: string, metricName: string, dimensions: Record<string, string>, statistic: string) => ({
      id,
      returnData: false,
      metricStat: {
        metric: { namespace, metricName, dimensions: Object.entries(dimensions).map(([name, value]) => ({ name, value })) },
        stat: statistic,
      },
    });
    return new appscaling.CfnScalingPolicy(this, 'RequestsPerTask', {
      policyName: `${this.node.path.replace(/\//g, '-')}-RequestsPerTask`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: this.scalableTarget.scalableTargetId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: REQUESTS_PER_TASK_PER_MINUTE,
        customizedMetricSpecification: {
          metrics: [
            stat('requests', 'AWS/ApplicationELB', 'RequestCount', { LoadBalancer: this.loadBalancer.loadBalancerFullName }, 'Sum'),
            stat(
              'tasks',
              'ECS/ContainerInsights',
              'RunningTaskCount',
              { ClusterName: this.cluster.clusterName, ServiceName: this.service.serviceName },
              'Average',
            ),
            { id: 'perTask', expression: 'requests / tasks', label: 'requests per running task per minute', returnData: true },
          ],
        },
      },
    });
  }

  /** The model is reached over the network: callers get the security group, not an IAM permission. */
  grantInvoke(_grantee: iam.IGrantable): void {}
}
