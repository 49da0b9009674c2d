/**
 * The serving backend's latency and health metrics, whichever backend serves the model: the Fargate
 * service's load balancer target group, or the SageMaker endpoint variant.
 */
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Backend } from '../../contract/limits';

/**
 * What ModelMonitoring needs to know about the backend: the Fargate fields for `fargate`, the SageMaker
 * fields for the others (a plain interface rather than a union, so other languages can build it too).
 */
export interface MonitoredBackend {
  /** Which backend serves the model. */
  readonly kind: Backend;
  /** Fargate: the model service (CPU and memory graphs). @default - none (required for `fargate`) */
  readonly service?: ecs.FargateService;
  /** Fargate: the internal load balancer (response time over every target group). @default - none (required for `fargate`) */
  readonly loadBalancer?: elbv2.ApplicationLoadBalancer;
  /**
   * Fargate: both blue/green target groups; ECS moves the traffic between them on alternate deployments.
   * @default - none (required for `fargate`)
   */
  readonly targetGroups?: elbv2.ApplicationTargetGroup[];
  /** SageMaker: the endpoint's name. @default - none (required for the SageMaker backends) */
  readonly endpointName?: string;
  /**
   * SageMaker: the production variant's name.
   * @see https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html
   * @default - none (required for the SageMaker backends)
   */
  readonly variantName?: string;
}

/** What is wrong with a MonitoredBackend: missing fields of its kind, or fields of the other kind. */
export function monitoredBackendProblems(b: MonitoredBackend): string[] {
  const fargate = { service: b.service, loadBalancer: b.loadBalancer, targetGroups: b.targetGroups };
  const sagemaker = { endpointName: b.endpointName, variantName: b.variantName };
  const [own, other] = b.kind === 'fargate' ? [fargate, sagemaker] : [sagemaker, fargate];
  const missing = Object.entries(own)
    .filter(([, v]) => v === undefined)
    .map(([k]) => `\`backend.${k}\``);
  const extra = Object.entries(other)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => `\`backend.${k}\``);
  return [
    ...(missing.length ? [`a ${b.kind} backend needs ${missing.join(', ')}`] : []),
    ...(extra.length ? [`a ${b.kind} backend does not take ${extra.join(', ')}`] : []),
  ];
}

export interface BackendMetrics {
  /** Latency percentiles of the model call, in milliseconds. */
  latency: cloudwatch.IMetric[];
  /** Graphs of health (healthy / unhealthy hosts, or model errors). */
  health: cloudwatch.IMetric[];
  /** The metric the "backend unhealthy" alarm watches: above zero means unhealthy. */
  unhealthy: cloudwatch.IMetric;
  /** How the alarm reads, for its description. */
  unhealthyMeaning: string;
  /** Extra utilization graphs. */
  utilization: cloudwatch.IMetric[];
}

export function backendMetrics(backend: MonitoredBackend, period: Duration): BackendMetrics {
  const problems = monitoredBackendProblems(backend);
  if (problems.length > 0) throw new Error(`Invalid monitored backend: ${problems.join('; ')}`);
  const { service, loadBalancer, targetGroups, endpointName, variantName } = backend;
  if (service && loadBalancer && targetGroups) {
    const lb = loadBalancer.metrics;
    // Host counts exist per target group only: summed (healthy) or the largest (unhealthy) over both, an
    // empty group counting as zero, so the graphs and the alarm follow the traffic whichever group has it.
    // Built by hand: the alternate group is attached to the load balancer by ECS, not by the template.
    const overTargetGroups = (id: string, label: string, combine: 'SUM' | 'MAX', metricName: string, statistic: string) =>
      new cloudwatch.MathExpression({
        expression: `${combine}([${targetGroups.map((_, i) => `FILL(${id}${i}, 0)`).join(', ')}])`,
        usingMetrics: Object.fromEntries(
          targetGroups.map((tg, i) => [
            `${id}${i}`,
            new cloudwatch.Metric({
              namespace: 'AWS/ApplicationELB',
              metricName,
              dimensionsMap: { LoadBalancer: loadBalancer.loadBalancerFullName, TargetGroup: tg.targetGroupFullName },
              statistic,
              period,
            }),
          ]),
        ),
        period,
        label,
      });
    const unhealthy = overTargetGroups('unhealthy', 'unhealthy tasks', 'MAX', 'UnHealthyHostCount', 'Maximum');
    return {
      // The load balancer's response time covers both target groups. The ALB reports seconds; every latency
      // graph here is in milliseconds. Ids differ per graph line.
      latency: ['p50', 'p99'].map(
        (s) =>
          new cloudwatch.MathExpression({
            expression: `t${s} * 1000`,
            usingMetrics: { [`t${s}`]: lb.targetResponseTime({ statistic: s, period }) },
            period,
            label: `target response ${s}`,
          }),
      ),
      health: [overTargetGroups('healthy', 'healthy tasks', 'SUM', 'HealthyHostCount', 'Minimum'), unhealthy],
      unhealthy,
      unhealthyMeaning: 'a model task failed its load balancer health check',
      utilization: [service.metricCpuUtilization({ period }), service.metricMemoryUtilization({ period })],
    };
  }
  const sagemaker = (metricName: string, statistic: string, namespace = 'AWS/SageMaker') =>
    new cloudwatch.Metric({
      namespace,
      metricName,
      dimensionsMap: { EndpointName: String(endpointName), VariantName: String(variantName) },
      statistic,
      period,
    });
  const modelErrors = sagemaker('Invocation5XXErrors', 'Sum');
  return {
    // ModelLatency is in microseconds.
    latency: ['p50', 'p99'].map(
      (s) =>
        new cloudwatch.MathExpression({
          expression: `l${s} / 1000`,
          usingMetrics: { [`l${s}`]: sagemaker('ModelLatency', s) },
          period,
          label: `model latency ${s}`,
        }),
    ),
    health: [modelErrors, sagemaker('Invocation4XXErrors', 'Sum'), sagemaker('Invocations', 'Sum')],
    unhealthy: modelErrors,
    unhealthyMeaning: 'the SageMaker endpoint answered with 5xx errors',
    utilization:
      backend.kind === 'sagemaker'
        ? [
            sagemaker('CPUUtilization', 'Average', '/aws/sagemaker/Endpoints'),
            sagemaker('MemoryUtilization', 'Average', '/aws/sagemaker/Endpoints'),
          ]
        : [sagemaker('ModelSetupTime', 'Average')],
  };
}
