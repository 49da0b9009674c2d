/**
 * The automatic promotion policy's settings (docs/versions.md), defined once: `autoPromote` in
 * mlship.config.json (true, or overrides of the defaults), the quality job's MLSHIP_PROMOTION_POLICY,
 * and the local system's `--auto-promote` all resolve to one `PromotionPolicy` here.
 */
import * as z from 'zod/mini';
import { jsonOrNone, NONE_SETTING } from './json-setting';

export interface PromotionPolicy {
  /** Split percents to climb, ascending; the step after the last promotes. */
  readonly steps: readonly number[];
  /** Graded predictions of the challenger (since the last change) before any step. */
  readonly minLabeled: number;
  /** How much worse the challenger may be: accuracy points (classification), or a share of the champion's MAE (regression). */
  readonly tolerance: number;
  /** Highest share of failed challenger runs. */
  readonly maxErrorRate: number;
  /** Highest p99 latency of the challenger, in milliseconds. */
  readonly maxP99Ms: number;
}

export const DEFAULT_PROMOTION_POLICY: PromotionPolicy = Object.freeze({
  steps: Object.freeze([5, 25, 50]),
  minLabeled: 50,
  tolerance: 0.02,
  maxErrorRate: 0.01,
  maxP99Ms: 1000,
});

const share = z.number().check(z.minimum(0), z.maximum(1));
const overridesSchema = z.strictObject({
  steps: z.optional(z.array(z.number().check(z.int(), z.minimum(1), z.maximum(99))).check(z.minLength(1))),
  minLabeled: z.optional(z.number().check(z.int(), z.minimum(1))),
  tolerance: z.optional(share),
  maxErrorRate: z.optional(share),
  maxP99Ms: z.optional(z.number().check(z.positive())),
});

/** The policy from overrides of the defaults (`{}` or `true` keeps every default); throws naming each bad field. */
export function promotionPolicy(overrides: unknown): PromotionPolicy {
  const parsed = overridesSchema.safeParse(overrides === true ? {} : overrides);
  if (!parsed.success)
    throw new Error(
      `the promotion policy is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  const policy = { ...DEFAULT_PROMOTION_POLICY, ...parsed.data };
  if (policy.steps.some((s, i) => i > 0 && s <= (policy.steps[i - 1] ?? 0)))
    throw new Error(`the promotion policy is invalid: steps must ascend, got ${JSON.stringify(policy.steps)}`);
  return policy;
}

/** MLSHIP_PROMOTION_POLICY when the policy is off. */
export const NO_PROMOTION = NONE_SETTING;

/** MLSHIP_PROMOTION_POLICY's value: the policy as JSON, or `none`. */
export function parsePromotionPolicy(raw: string): PromotionPolicy | undefined {
  const json = jsonOrNone(raw, 'The promotion policy');
  return json === undefined ? undefined : promotionPolicy(json);
}
