/**
 * Every alarm of the synthesized app reaches the alarm topic: each AWS::CloudWatch::Alarm of every stack
 * has an AlarmActions entry, or (the rollout alarms, which must live beside the endpoint or service that
 * names them, before the topic's stack exists) is a child of a composite alarm that has one. And a deploy
 * without `alarmEmail` says so loudly at synth time.
 */
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { type SynthResult, synthBackend } from '../infra/synth';

type Resource = { Type: string; Properties?: Record<string, unknown> };

function resources(r: SynthResult): { stack: string; id: string; resource: Resource }[] {
  return Object.entries(r.templates as Record<string, Template>).flatMap(([stack, t]) =>
    Object.entries((t.toJSON().Resources ?? {}) as Record<string, Resource>).map(([id, resource]) => ({ stack, id, resource })),
  );
}

const hasActions = (p: Record<string, unknown> | undefined) => Array.isArray(p?.AlarmActions) && p.AlarmActions.length > 0;

describe.each(['fargate', 'sagemaker'] as const)('%s', (backend) => {
  let r: SynthResult;
  beforeAll(() => {
    r = synthBackend(backend);
  });

  it('routes every alarm of every stack to a topic, directly or through a composite alarm', () => {
    const all = resources(r);
    // Composite alarms name their children by reference: in another stack, through an export named after the child's logical id.
    const forwarding = all.filter((x) => x.resource.Type === 'AWS::CloudWatch::CompositeAlarm' && hasActions(x.resource.Properties));
    const forwardedRules = forwarding.map((x) => JSON.stringify(x.resource.Properties?.AlarmRule));
    const alarms = all.filter((x) => x.resource.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(10);
    const unrouted = alarms
      .filter((x) => !hasActions(x.resource.Properties))
      .filter(
        (x) => !forwardedRules.some((rule) => new RegExp(`ExportsOutput(Ref|FnGetAtt)${x.id}|"(Ref|Fn::GetAtt)":\\[?"${x.id}"`).test(rule)),
      )
      .map((x) => `${x.stack}/${x.id}`);
    expect(unrouted).toEqual([]);
    // The batch runs' failures among them, next to the topic.
    r.templates.monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      Namespace: 'AWS/States',
      AlarmActions: [Match.anyValue()],
    });
  });

  it('warns at synth time when no alarm e-mail is configured', () => {
    Annotations.fromStack(r.monitoring).hasWarning('*', Match.stringLikeRegexp('No `alarmEmail`'));
  });
});

test('no warning with an alarm e-mail', () => {
  const r = synthBackend('sagemaker-serverless', { alarmEmail: 'ops@example.com' });
  Annotations.fromStack(r.monitoring).hasNoWarning('*', Match.stringLikeRegexp('alarmEmail'));
  r.templates.monitoring.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
});
