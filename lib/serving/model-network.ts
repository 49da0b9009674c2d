/**
 * The network of the Fargate model service: the VPC and the four security groups that say who may talk to
 * whom. Only the model's callers (`clientSecurityGroup`, the predict function) reach the load balancer's
 * production port, only the rollout check (`testClientSecurityGroup`) its test port, and only the load
 * balancer reaches the tasks. Nothing is reachable from an address range.
 */
import { CfnResource, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The container listens here (SageMaker's port, so one image serves both backends). */
export const CONTAINER_PORT = 8080;
/** Load balancer port of the production listener. */
export const LISTENER_PORT = 80;
/** Load balancer port of the blue/green test listener: during a rollout it reaches the new tasks only. */
export const TEST_LISTENER_PORT = 8081;

export interface ModelNetworkProps {
  /**
   * The VPC to run in. It needs private subnets with egress (`PRIVATE_WITH_EGRESS`) for the tasks, the load
   * balancer and the functions, and a route to S3, ECR, CloudWatch Logs and SQS (NAT or endpoints).
   * @default - a new VPC (`ModelNetwork.addDefaultVpc`): two AZs, one NAT gateway, S3 and DynamoDB gateway
   * endpoints, a flow log of rejected traffic
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Retention of the new VPC's flow log (only without `vpc`).
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * NAT gateways of the new VPC (only without `vpc`): 1, shared by both AZs, or 2, one per AZ, so that an
   * AZ outage does not cut the other AZ's egress (each costs about $33 a month plus data).
   * @default 1
   */
  readonly natGateways?: number;
}

/** The default VPC spans this many AZs: at most one NAT gateway each. */
export const DEFAULT_VPC_AZS = 2;

/** Options of `ModelNetwork.addDefaultVpc`. */
export interface DefaultVpcOptions {
  /** Retention of the flow log. @default logs.RetentionDays.THREE_MONTHS */
  readonly flowLogRetention?: logs.RetentionDays;
  /** NAT gateways, 1 or 2. @default 1 */
  readonly natGateways?: number;
}

export class ModelNetwork extends Construct {
  /** The VPC of the service, its load balancer and its callers. */
  public readonly vpc: ec2.IVpc;
  /** The internal load balancer's: HTTP in from the clients and the rollout check, out to the tasks. */
  public readonly loadBalancerSecurityGroup: ec2.SecurityGroup;
  /** The model's callers': the only source the production listener accepts. */
  public readonly clientSecurityGroup: ec2.SecurityGroup;
  /** The rollout check's: the only source the test listener accepts. */
  public readonly testClientSecurityGroup: ec2.SecurityGroup;
  /** The model tasks': traffic from the load balancer only; HTTPS out for ECR, S3 and logs. */
  public readonly serviceSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ModelNetworkProps = {}) {
    super(scope, id);
    if (props.vpc && (props.flowLogRetention !== undefined || props.natGateways !== undefined)) {
      throw new Error('ModelNetwork: `flowLogRetention` and `natGateways` shape a new VPC; with `vpc`, set them on that VPC instead.');
    }
    this.vpc = props.vpc ?? ModelNetwork.addDefaultVpc(this, props);

    const group = (groupId: string, description: string) =>
      new ec2.SecurityGroup(this, groupId, { vpc: this.vpc, description, allowAllOutbound: false });
    const alb = group('LoadBalancerSg', 'mlship model load balancer: HTTP from the model clients only');
    this.loadBalancerSecurityGroup = alb;
    this.clientSecurityGroup = group('ClientSg', 'mlship model clients: HTTP to the model load balancer, HTTPS to AWS APIs');
    this.clientSecurityGroup.addEgressRule(alb, ec2.Port.tcp(LISTENER_PORT), 'HTTP to the model load balancer');
    this.clientSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs (gateway endpoints and NAT)');
    alb.addIngressRule(this.clientSecurityGroup, ec2.Port.tcp(LISTENER_PORT), 'HTTP from the model clients');
    this.testClientSecurityGroup = group('TestClientSg', 'mlship rollout check: HTTP to the test listener, HTTPS to AWS APIs');
    this.testClientSecurityGroup.addEgressRule(alb, ec2.Port.tcp(TEST_LISTENER_PORT), 'HTTP to the test listener');
    this.testClientSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs (CloudFormation and logs)');
    alb.addIngressRule(this.testClientSecurityGroup, ec2.Port.tcp(TEST_LISTENER_PORT), 'HTTP from the rollout check');

    this.serviceSecurityGroup = group('ServiceSg', 'mlship model tasks: traffic from the load balancer; HTTPS out for ECR, S3 and logs');
    this.serviceSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to ECR, S3 and CloudWatch Logs');
    alb.addEgressRule(this.serviceSecurityGroup, ec2.Port.tcp(CONTAINER_PORT), 'HTTP to the model tasks');
    this.serviceSecurityGroup.addIngressRule(alb, ec2.Port.tcp(CONTAINER_PORT), 'HTTP from the load balancer');
  }

  /**
   * Adds mlship's default VPC to `scope` (children `Vpc` and `FlowLogs`): two AZs, public and private
   * subnets, one NAT gateway (or two) and the S3 and DynamoDB gateway endpoints, with a flow log of
   * rejected traffic. One NAT gateway for the few calls that leave the VPC (ECR API, CloudWatch Logs, SQS,
   * X-Ray) costs less than an interface endpoint for each of them in two AZs; S3 (image layers, model) and
   * DynamoDB (the log) go through the free gateway endpoints.
   */
  public static addDefaultVpc(scope: Construct, options: DefaultVpcOptions = {}): ec2.Vpc {
    const natGateways = options.natGateways ?? 1;
    if (!Token.isUnresolved(natGateways) && !(Number.isInteger(natGateways) && natGateways >= 1 && natGateways <= DEFAULT_VPC_AZS)) {
      throw new Error(
        `ModelNetwork: \`natGateways\` must be 1 or ${DEFAULT_VPC_AZS} (the private subnets need egress, and there is one NAT gateway per AZ at most); got ${natGateways}.`,
      );
    }
    const vpc = new ec2.Vpc(scope, 'Vpc', {
      maxAzs: DEFAULT_VPC_AZS,
      // The default security group keeps no rules (what CDK's recommended flag does for every VPC): nothing
      // placed in it by mistake can reach or be reached.
      restrictDefaultSecurityGroup: true,
      natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    keepProviderLogs(scope, options.flowLogRetention ?? logs.RetentionDays.THREE_MONTHS);
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(scope, 'FlowLogs', { retention: options.flowLogRetention ?? logs.RetentionDays.THREE_MONTHS }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    return vpc;
  }
}

/** The construct id aws-cdk-lib gives the stack's provider of `restrictDefaultSecurityGroup`. */
const RESTRICT_SG_PROVIDER_ID = 'Custom::VpcRestrictDefaultSGCustomResourceProvider';

/**
 * The provider function that empties the default security group writes to a log group of its own,
 * pre-created with a retention (Lambda would otherwise create one that never expires).
 */
function keepProviderLogs(scope: Construct, retention: logs.RetentionDays): void {
  const stack = Stack.of(scope);
  const handler = stack.node.tryFindChild(RESTRICT_SG_PROVIDER_ID)?.node.tryFindChild('Handler');
  if (!(handler instanceof CfnResource)) throw new Error(`ModelNetwork: no ${RESTRICT_SG_PROVIDER_ID} handler to give a log group to.`);
  const group = new logs.LogGroup(stack, 'RestrictDefaultSgLogs', { retention });
  handler.addPropertyOverride('LoggingConfig', { LogGroup: group.logGroupName });
}
