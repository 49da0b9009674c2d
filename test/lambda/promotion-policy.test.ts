/** The automatic promotion policy's decisions, from figures alone. */
import { initialRoutingState } from '../../contract/versions';
import type { VersionFigures } from '../../lambda/versions/figures';
import { DEFAULT_PROMOTION_POLICY, decide } from '../../lambda/versions/policy';

const now = new Date('2026-12-07T10:00:00Z');
const split = (percent: number) => initialRoutingState('1', { version: '2', mode: 'split', percent }, now, 'deploy');

function figures(role: 'champion' | 'challenger', f: Partial<VersionFigures>): VersionFigures {
  return {
    version: role === 'champion' ? '1' : '2',
    role,
    trafficPercent: 0,
    shadowing: false,
    answered: 100,
    shadow: 0,
    agreement: null,
    graded: 100,
    accuracy: 0.9,
    mae: null,
    errorRate: null,
    latencyMs: { p50: 5, p99: 20 },
    ...f,
  };
}

const champion = figures('champion', {});

it('steps up while the challenger holds, then promotes after the last step', () => {
  expect(decide(split(5), [champion, figures('challenger', { accuracy: 0.89 })], DEFAULT_PROMOTION_POLICY, now)).toMatchObject({
    action: 'step',
    state: { percent: 25 },
  });
  expect(decide(split(50), [champion, figures('challenger', {})], DEFAULT_PROMOTION_POLICY, now)).toMatchObject({
    action: 'promote',
    state: { champion: '2', challenger: '1', percent: 0 },
  });
});

it('holds until enough is labeled, and rolls back on quality only then', () => {
  const few = figures('challenger', { graded: 10, accuracy: 0 });
  expect(decide(split(5), [champion, few], DEFAULT_PROMOTION_POLICY, now)).toMatchObject({
    action: 'hold',
    reason: '10 of 50 labeled predictions',
  });
  expect(decide(split(5), [champion, figures('challenger', { accuracy: 0.8 })], DEFAULT_PROMOTION_POLICY, now)).toMatchObject({
    action: 'rollback',
    state: { percent: 0 },
  });
});

it('rolls back at once on errors or latency, and judges regression by MAE', () => {
  const policy = DEFAULT_PROMOTION_POLICY;
  expect(decide(split(5), [champion, figures('challenger', { graded: 0, errorRate: 0.2 })], policy, now).reason).toBe(
    'error rate 0.2 above 0.01',
  );
  expect(decide(split(5), [champion, figures('challenger', { graded: 0, latencyMs: { p50: 5, p99: 2000 } })], policy, now).reason).toBe(
    'p99 2000 ms above 1000 ms',
  );
  const regression = (mae: number, role: 'champion' | 'challenger') => figures(role, { accuracy: null, mae });
  expect(decide(split(5), [regression(10, 'champion'), regression(10.1, 'challenger')], policy, now).action).toBe('step');
  expect(decide(split(5), [regression(10, 'champion'), regression(11, 'challenger')], policy, now).action).toBe('rollback');
});

it('leaves a shadow challenger, or one without traffic, alone', () => {
  const shadow = initialRoutingState('1', { version: '2', mode: 'shadow' }, now, 'deploy');
  expect(decide(shadow, [champion, figures('challenger', {})], DEFAULT_PROMOTION_POLICY, now).action).toBe('hold');
  expect(decide({ ...split(5), percent: 0 }, [champion, figures('challenger', {})], DEFAULT_PROMOTION_POLICY, now).action).toBe('hold');
});
