/**
 * One run of the automatic promotion policy, the same on AWS (the scheduled quality job) and in the local
 * system (`npm start -- --split 5 --auto-promote`): the figures since the routing state's last change are
 * read from the log, the policy decides, and a step, promotion or rollback is written to the routing item
 * with a conditional put on its revision (as `mlship promote` does). Each change is logged with the
 * figures it was made on and, where there is a topic, published to it.
 */
import { errorMessage } from '../../contract/errors';
import type { ModelManifest } from '../../contract/manifest';
import type { PredictionLogStore } from '../log/prediction-log-store';
import type { Logger } from '../runtime/logger';
import { versionFigures } from './figures';
import { readVersionsWindow } from './log-window';
import { decide, type PolicyDecision, type PromotionPolicy } from './policy';
import type { RoutingStore } from './routing-store';

/** Most log items one evaluation reads per partition. */
const MAX_ITEMS = 100_000;

/** Sends one message (subject, body) to the operators: the alarm topic on AWS. */
export type DecisionPublisher = (subject: string, message: string) => Promise<void>;

export interface PromotionDeps {
  readonly manifest: ModelManifest;
  readonly policy: PromotionPolicy;
  /** The routing item of `manifest.name`. */
  readonly routing: RoutingStore;
  readonly log: PredictionLogStore;
  readonly logger: Logger;
  /** @default - logged only */
  readonly publish?: DecisionPublisher;
}

/** One evaluation: the decision, written when it changes the state (`hold` when another change came first). */
export async function evaluatePromotion(deps: PromotionDeps, now = new Date()): Promise<PolicyDecision | undefined> {
  const stored = await deps.routing.read();
  if (stored === undefined) return undefined;
  const since = new Date(stored.state.updatedAt);
  const { answered, shadows } = await readVersionsWindow(deps.log, deps.manifest.name, since, now, MAX_ITEMS);
  const figures = versionFigures(stored.state, answered, shadows, deps.manifest.output.kind);
  const decision = decide(stored.state, figures, deps.policy, now);
  if (decision.action === 'hold') return decision;
  return (await deps.routing.write(decision.state, stored.basis, stored.revision))
    ? decision
    : { ...decision, action: 'hold', state: stored.state, reason: 'the state changed meanwhile' };
}

/**
 * Evaluates the policy, then logs and publishes a decision that changed the state. A publication that
 * fails is logged: the change is made and logged already, and the next run must not undo it.
 */
export async function runPromotion(deps: PromotionDeps, now = new Date()): Promise<PolicyDecision | undefined> {
  const decision = await evaluatePromotion(deps, now);
  if (decision === undefined || decision.action === 'hold') return decision;
  const { action, reason, state, challenger, champion } = decision;
  deps.logger.info('promotion policy', { model: deps.manifest.name, action, reason, state, challenger, champion });
  if (deps.publish !== undefined) {
    const { subject, message } = decisionMessage(deps.manifest.name, decision);
    await deps
      .publish(subject, message)
      .catch((e: unknown) =>
        deps.logger.error('promotion decision not published', { model: deps.manifest.name, action, error: errorMessage(e) }),
      );
  }
  return decision;
}

/** The notice of a decision: a short subject (SNS takes at most 100 characters) and the decision as JSON. */
export function decisionMessage(model: string, d: PolicyDecision): { subject: string; message: string } {
  const what = {
    step: `challenger ${d.state.challenger} now answers ${d.state.percent} %`,
    promote: `${d.state.champion} promoted to champion`,
    rollback: `challenger ${d.state.challenger} rolled back`,
    hold: 'no change',
  }[d.action];
  const subject = `mlship ${model}: ${what}`.slice(0, 100);
  const message = JSON.stringify(
    { model, action: d.action, reason: d.reason, state: d.state, challenger: d.challenger, champion: d.champion },
    null,
    2,
  );
  return { subject, message };
}
