/**
 * The automatic promotion policy (opt-in): a split challenger moves up in steps (5 → 25 → 50 → 100 %,
 * then becomes the champion) only while, on at least `minLabeled` graded predictions since the last
 * change, its quality is not worse than the champion's by more than `tolerance`, and its error rate and
 * p99 latency stay within bounds; it is rolled back at once when it falls below. Pure: the caller reads
 * the figures (since the state's last change) and writes the decision.
 */
import type { PromotionPolicy } from '../../contract/promotion';
import { promoted, type RoutingState, rolledBack } from '../../contract/versions';
import type { VersionFigures } from './figures';

export { DEFAULT_PROMOTION_POLICY, type PromotionPolicy } from '../../contract/promotion';

export interface PolicyDecision {
  readonly action: 'hold' | 'step' | 'promote' | 'rollback';
  /** The state after the decision (the same state for `hold`). */
  readonly state: RoutingState;
  readonly reason: string;
  /** The challenger's and the champion's figures the decision was made on. */
  readonly challenger?: VersionFigures;
  readonly champion?: VersionFigures;
}

/** What the policy makes of `state` given the figures since its last change. */
export function decide(state: RoutingState, figures: readonly VersionFigures[], policy: PromotionPolicy, now: Date): PolicyDecision {
  const champion = figures.find((f) => f.role === 'champion');
  const challenger = figures.find((f) => f.role === 'challenger');
  const hold = (reason: string): PolicyDecision => ({ action: 'hold', state, reason, challenger, champion });
  if (state.challenger === undefined || state.mode !== 'split' || state.percent === 0 || challenger === undefined || champion === undefined)
    return hold('no split challenger with traffic');
  const worse = worseBy(challenger, champion, policy);
  if (worse !== undefined) return { action: 'rollback', state: rolledBack(state, 'policy', now), reason: worse, challenger, champion };
  if (challenger.graded < policy.minLabeled) return hold(`${challenger.graded} of ${policy.minLabeled} labeled predictions`);
  if (champion.graded === 0) return hold('no labeled champion predictions to compare with');
  const next = policy.steps.find((s) => s > state.percent);
  if (next === undefined)
    return { action: 'promote', state: promoted(state, 'policy', now), reason: 'held through every step', challenger, champion };
  return {
    action: 'step',
    state: { ...state, percent: next, updatedAt: now.toISOString(), updatedBy: 'policy' },
    reason: `held at ${state.percent} %`,
    challenger,
    champion,
  };
}

/** Why the challenger is worse than allowed, or undefined. Quality counts only once enough is labeled. */
function worseBy(c: VersionFigures, k: VersionFigures, p: PromotionPolicy): string | undefined {
  if (c.errorRate !== null && c.errorRate > p.maxErrorRate) return `error rate ${c.errorRate} above ${p.maxErrorRate}`;
  if (c.latencyMs.p99 !== null && c.latencyMs.p99 > p.maxP99Ms) return `p99 ${c.latencyMs.p99} ms above ${p.maxP99Ms} ms`;
  if (c.graded < p.minLabeled) return undefined;
  if (c.accuracy !== null && k.accuracy !== null && c.accuracy < k.accuracy - p.tolerance)
    return `accuracy ${c.accuracy.toFixed(3)} below the champion's ${k.accuracy.toFixed(3)} by more than ${p.tolerance}`;
  if (c.mae !== null && k.mae !== null && c.mae > k.mae * (1 + p.tolerance))
    return `MAE ${c.mae.toFixed(3)} above the champion's ${k.mae.toFixed(3)} by more than ${p.tolerance * 100} %`;
  return undefined;
}
