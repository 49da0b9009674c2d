/**
 * The serving backend's latency and health metrics, whichever backend serves the model: the Fargate
 * service's load balancer target group, or the SageMaker endpoint variant.
 */
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';

/** What ModelMonitoring needs to know about the backend. */
export type MonitoredBackend =
  | {
      readonly kind: 'fargate';
      /** The model service (CPU and memory graphs). */
      readonly service: ecs.FargateService;
      /** The internal load balancer (response time over every target group). */
      readonly loadBalancer: elbv2.ApplicationLoadBalancer;
      /** Both blue/green target groups: ECS moves the traffic between them on alternate deployments. */
      readonly targetGroups: elbv2.ApplicationTargetGroup[];
    }
  | {
      readonly kind: 'sagemaker' | 'sagemaker-serverless';
      readonly endpointName: string;
      /** @see https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html */
      readonly variantName: string;
    };

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
  if (backend.kind === 'fargate') {
    const lb = backend.loadBalancer.metrics;
    // Host counts exist per target group only: summed (healthy) or the largest (unhealthy) over both, an
    // empty group counting as zero, so the graphs and the alarm follow the traffic whichever group has it.
    // Built by hand: the alternate group is attached to the load balancer by ECS, not by the template.
    const overTargetGroups = (id: string, label: string, combine: 'SUM' | 'MAX', metricName: string, statistic: string) =>
      new cloudwatch.MathExpression({
        expression: `${combine}([${backend.targetGroups.map((_, i) => `FILL(${id}${i}, 0)`).join(', ')}])`,
        usingMetrics: Object.fromEntries(
          backend.targetGroups.map((tg, i) => [
            `${id}${i}`,
            new cloudwatch.Metric({
              namespace: 'AWS/ApplicationELB',
              metricName,
              dimensionsMap: { LoadBalancer: backend.loadBalancer.loadBalancerFullName, TargetGroup: tg.targetGroupFullName },
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
      utilization: [backend.service.metricCpuUtilization({ period }), backend.service.metricMemoryUtilization({ period })],
    };
  }
  const sagemaker = (metricName: string, statistic: string, namespace = 'AWS/SageMaker') =>
    new cloudwatch.Metric({
      namespace,
      metricName,
      dimensionsMap: { EndpointName: backend.endpointName, VariantName: backend.variantName },
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
