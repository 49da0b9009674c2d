/**
 * The alarms a rollout watches: while a new version takes traffic (and during the bake time after it),
 * any of them in ALARM rolls the deployment back. Short periods on purpose: a rollout is judged in minutes.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct } from 'constructs';

const PERIOD = Duration.minutes(1);

/**
 * Load balancer target 5xx answers and unhealthy hosts of the model's target groups. The metrics are
 * built by hand: the alternate target group is attached only while a blue/green rollout uses it.
 */
export function fargateDeploymentAlarms(
  scope: Construct,
  loadBalancer: elbv2.ApplicationLoadBalancer,
  targetGroups: elbv2.ApplicationTargetGroup[],
): cloudwatch.Alarm[] {
  return targetGroups.flatMap((tg, i) => {
    const dimensionsMap = { LoadBalancer: loadBalancer.loadBalancerFullName, TargetGroup: tg.targetGroupFullName };
    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/ApplicationELB', metricName, dimensionsMap, period: PERIOD, statistic });
    return [
      new cloudwatch.Alarm(scope, `Target5xx${i}`, {
        alarmDescription: 'mlship rollout: the model tasks answer 5xx',
        metric: metric('HTTPCode_Target_5XX_Count', 'Sum'),
        threshold: 5,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(scope, `UnhealthyHosts${i}`, {
        alarmDescription: 'mlship rollout: model tasks fail the load balancer health check',
        metric: metric('UnHealthyHostCount', 'Maximum'),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
  });
}

export interface SageMakerAlarmProps {
  /** The endpoint's name. */
  readonly endpointName: string;
  /** The production variant's name. */
  readonly variantName: string;
  /** p99 model latency above which the rollout is rolled back. */
  readonly maxModelLatency: Duration;
}

/** Invocation 5xx errors and p99 model latency of the endpoint's variant. */
export function sageMakerDeploymentAlarms(scope: Construct, props: SageMakerAlarmProps): cloudwatch.Alarm[] {
  const dimensionsMap = { EndpointName: props.endpointName, VariantName: props.variantName };
  return [
    new cloudwatch.Alarm(scope, 'Invocation5xx', {
      alarmDescription: 'mlship rollout: the endpoint answers 5xx',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'Invocation5XXErrors',
        dimensionsMap,
        period: PERIOD,
        statistic: 'Sum',
      }),
      threshold: 5,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    new cloudwatch.Alarm(scope, 'ModelLatencyP99', {
      alarmDescription: 'mlship rollout: p99 model latency too high',
      // SageMaker reports ModelLatency in microseconds.
      metric: new cloudwatch.Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'ModelLatency',
        dimensionsMap,
        period: PERIOD,
        statistic: 'p99',
      }),
      threshold: props.maxModelLatency.toMilliseconds() * 1000,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  ];
}
