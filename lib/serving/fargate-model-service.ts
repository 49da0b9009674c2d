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
import { Construct, type IDependable } from 'constructs';
import { modelPrefix } from '../../contract/bucket';
import { ENV } from '../../contract/env';
import type { FargateBatchTask } from '../batch/batch-inference';
import { grantActions } from '../constructs/grant-actions';
import { acknowledgeWildcardResource } from '../constructs/nag';
import { DATA_BUCKET_ACTIONS } from '../constructs/perms';
import type { MonitoredBackend } from '../observability/backend-metrics';
import { fargateDeploymentAlarms } from '../rollout/deployment-alarms';
import type { ChallengerPackageRef, ModelBackend, ModelIdentity, RolloutCheck, RolloutCheckPlacement } from './model-backend';
import { CONTAINER_PORT, LISTENER_PORT, ModelNetwork, TEST_LISTENER_PORT } from './model-network';

export { CONTAINER_PORT, TEST_LISTENER_PORT } from './model-network';

/** Requests per task per minute the request scaling policy keeps the service at. */
export const REQUESTS_PER_TASK_PER_MINUTE = 3000;

export interface FargateModelServiceProps {
  /** The model server image (built from `container/`). */
  readonly image: DockerImageAsset;
  /** The bucket holding the model package. */
  readonly bucket: s3.IBucket;
  /** The served model (from its manifest): the tasks may read every package under `models/<name>/`. */
  readonly model: ModelIdentity;
  /** Key of the package the tasks load at start (ModelPackage.key, under `models/<name>/`). */
  readonly modelKey: string;
  /**
   * What puts the package in the bucket (ModelPackage.deployment): the service starts after it.
   * @default - nothing to wait for: the package is already in the bucket
   */
  readonly modelUpload?: IDependable;
  /** A second version the tasks host beside the model (docs/versions.md). @default - none */
  readonly challenger?: ChallengerPackageRef;
  /**
   * The model's registry prefix (`models/<name>/`): the tasks load a registered version a request names
   * from there while they run (docs/retraining.md), with the model's packages grant. @default - none
   */
  readonly registry?: string;
  /**
   * The VPC and security groups.
   * @default - a new ModelNetwork (its own VPC)
   */
  readonly network?: ModelNetwork;
  /** NAT gateways of the new network's VPC (only without `network`), 1 or 2. @default 1 */
  readonly natGateways?: number;
  /** CPU units of a task (256 = 0.25 vCPU). @default 512 */
  readonly cpu?: number;
  /** Memory of a task, in MiB (allowed values depend on `cpu`). @default 1024 */
  readonly memoryMiB?: number;
  /** Fewest running tasks. @default 1 */
  readonly minCapacity?: number;
  /** Most running tasks. @default 4 */
  readonly maxCapacity?: number;
  /** Retention of the container logs (and of a new network's flow log). @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
}

export class FargateModelService extends Construct implements ModelBackend {
  public readonly backend = 'fargate' as const;
  /** The VPC and security groups. */
  public readonly network: ModelNetwork;
  /** The VPC of the service (`network.vpc`). */
  public readonly vpc: ec2.IVpc;
  /** The ECS cluster (the batch task runs in it too). */
  public readonly cluster: ecs.Cluster;
  /** The model service (ECS blue/green with a circuit breaker). */
  public readonly service: ecs.FargateService;
  /** The internal load balancer in front of the tasks. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The target group production traffic starts on; blue/green rollouts alternate with `alternateTargetGroup`. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The other blue/green target group. */
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
  public readonly monitored: MonitoredBackend;
  public readonly rolloutCheckPlacement: RolloutCheckPlacement;
  private readonly bucket: s3.IBucket;
  private readonly image: DockerImageAsset;
  private readonly model: ModelIdentity;
  private readonly modelKey: string;

  constructor(scope: Construct, id: string, props: FargateModelServiceProps) {
    super(scope, id);
    this.bucket = props.bucket;
    this.image = props.image;
    this.model = props.model;
    this.modelKey = props.modelKey;
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    // The default VPC is this construct's own child and the network's id is "Default", which logical ids
    // leave out: the VPC and the security groups keep the logical ids and Name tags they had before
    // ModelNetwork existed, so an update replaces nothing.
    if (props.network && props.natGateways !== undefined) {
      throw new Error('FargateModelService: `natGateways` shapes the VPC of a new network; with `network`, set it on that VPC instead.');
    }
    this.network =
      props.network ??
      new ModelNetwork(this, 'Default', {
        vpc: ModelNetwork.addDefaultVpc(this, { flowLogRetention: logRetention, natGateways: props.natGateways }),
      });
    this.vpc = this.network.vpc;
    this.clientSecurityGroup = this.network.clientSecurityGroup;
    this.testClientSecurityGroup = this.network.testClientSecurityGroup;

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const taskDefinition = this.newTaskDefinition(props, logRetention);
    // Every version of the model, not only this one: during a blue/green rollout the old tasks may be
    // replaced while the new version is tested, and they must still load their own version's package.
    this.grantReadModelPackages(taskDefinition.taskRole);

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
      securityGroups: [this.network.serviceSecurityGroup],
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
    });
    // Tasks must not start before their model package is in the bucket.
    if (props.modelUpload) this.service.node.addDependency(props.modelUpload);
    if (props.challenger?.upload) this.service.node.addDependency(props.challenger.upload);

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: false,
      securityGroup: this.network.loadBalancerSecurityGroup,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      dropInvalidHeaderFields: true,
    });
    this.targetGroup = this.newTargetGroup('Model');
    this.alternateTargetGroup = this.newTargetGroup('ModelAlternate');
    this.routeBlueGreen();

    this.deploymentAlarms = fargateDeploymentAlarms(this, this.loadBalancer, [this.targetGroup, this.alternateTargetGroup]);
    this.service.enableDeploymentAlarms(
      this.deploymentAlarms.map((a) => a.alarmName),
      { behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM },
    );

    this.scalableTarget = new appscaling.ScalableTarget(this, 'Scaling', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      resourceId: `service/${this.cluster.clusterName}/${this.service.serviceName}`,
      scalableDimension: 'ecs:service:DesiredCount',
      minCapacity: props.minCapacity ?? 1,
      maxCapacity: props.maxCapacity ?? 4,
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
    this.monitored = {
      kind: 'fargate',
      service: this.service,
      loadBalancer: this.loadBalancer,
      targetGroups: [this.targetGroup, this.alternateTargetGroup],
    };
    this.rolloutCheckPlacement = { testUrl: this.testUrl, vpc: this.vpc, securityGroups: [this.testClientSecurityGroup] };

    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'Internal load balancer reached only by the predict function: every request is already in the API access log and the prediction log.',
    });
    Validations.of(taskDefinition).acknowledge(
      { id: 'AwsSolutions-ECS2', reason: 'The container environment holds the model S3 URI and the port, neither of them secret.' },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'ecr:GetAuthorizationToken cannot be scoped to a resource.' },
    );
    const ownModel = modelPrefix(props.model.name);
    acknowledgeWildcardResource(
      taskDefinition,
      props.bucket.arnForObjects(`${ownModel}*`),
      `The tasks read their own model's packages, every version under ${ownModel} (old tasks of a blue/green rollout still load theirs), and nothing else.`,
    );
  }

  /**
   * Lets `grantee` read every package of the served model (`models/<name>/*`) and nothing else in the
   * bucket. No s3:ListBucket: MODEL_S3_URI is always a package key, which the container fetches with
   * GetObject alone (so a missing package reads as AccessDenied, not NoSuchKey).
   */
  public grantReadModelPackages(grantee: iam.IGrantable): iam.Grant {
    return grantActions(grantee, DATA_BUCKET_ACTIONS.get, [this.bucket.arnForObjects(`${modelPrefix(this.model.name)}*`)]);
  }

  /**
   * Where BatchInference runs the model image's `batch` command: beside the service, in its cluster and
   * private subnets, loading the same package, with `securityGroups` (egress to S3 and ECR).
   */
  public batchTask(securityGroups: ec2.ISecurityGroup[]): FargateBatchTask {
    return {
      cluster: this.cluster,
      image: ecs.ContainerImage.fromDockerImageAsset(this.image),
      model: this.model,
      modelKey: this.modelKey,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups,
    };
  }

  /**
   * The model is reached over the network: callers get the security group (`clientSecurityGroups`), not an
   * IAM permission. The Grant holds no statement.
   */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.drop(grantee, 'invoke the model over HTTP inside the VPC: access is the security group, not IAM');
  }

  /**
   * ECS runs `check` as the deployment lifecycle hook after test traffic reaches the new tasks and before
   * production traffic moves: a failed check rolls the deployment back.
   */
  public checkRolloutsWith(check: RolloutCheck, _model: string): void {
    this.service.addLifecycleHook(
      new ecs.DeploymentLifecycleLambdaTarget(check.checkFunction, 'GoldenSetHook', {
        lifecycleStages: [ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT],
      }),
    );
    Validations.of(this.service).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]',
      reason:
        "ECS blue/green swaps listener rules between the two target groups with this role; AWS's managed policy is the documented one and follows new ELB actions.",
    });
    acknowledgeWildcardResource(
      this.service,
      `${check.checkFunction.functionArn}:*`,
      'ECS invokes the golden-set hook function; the grant covers that one function and its versions.',
    );
  }

  private newTaskDefinition(props: FargateModelServiceProps, logRetention: logs.RetentionDays): ecs.FargateTaskDefinition {
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryMiB ?? 1024,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    taskDefinition.addContainer('Model', {
      image: ecs.ContainerImage.fromDockerImageAsset(props.image),
      portMappings: [{ containerPort: CONTAINER_PORT }],
      environment: {
        [ENV.MODEL_S3_URI]: props.bucket.s3UrlForObject(props.modelKey),
        [ENV.PORT]: String(CONTAINER_PORT),
        // Read with the model's packages grant: the challenger's key is under the same models/<name>/.
        ...(props.challenger ? { [ENV.CHALLENGER_MODEL_S3_URI]: props.bucket.s3UrlForObject(props.challenger.key) } : {}),
        ...(props.registry !== undefined ? { [ENV.MODEL_REGISTRY_S3_URI]: props.bucket.s3UrlForObject(props.registry) } : {}),
      },
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'model',
        logGroup: new logs.LogGroup(this, 'ContainerLogs', { retention: logRetention }),
      }),
      // SageMaker also stops containers after 30 s; the server drains within it.
      stopTimeout: Duration.seconds(30),
    });
    return taskDefinition;
  }

  private newTargetGroup(id: string): elbv2.ApplicationTargetGroup {
    return new elbv2.ApplicationTargetGroup(this, id, {
      vpc: this.vpc,
      port: CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      healthCheck: { path: '/ping', healthyHttpCodes: '200', interval: Duration.seconds(15), healthyThresholdCount: 2 },
      deregistrationDelay: Duration.seconds(30),
    });
  }

  /** Blue/green swaps the target groups of listener rules, so traffic goes through rules, not default actions. */
  private routeBlueGreen(): void {
    const notFound = elbv2.ListenerAction.fixedResponse(404, {
      contentType: 'application/json',
      messageBody: '{"error":{"code":"ROUTE_NOT_FOUND","message":"No route."}}',
    });
    const listener = this.loadBalancer.addListener('Http', { port: LISTENER_PORT, open: false, defaultAction: notFound });
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
}
