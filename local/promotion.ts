/**
 * The automatic promotion policy in the local system (`npm start -- --challenger DIR --split 5
 * --auto-promote`): every interval, the figures since the routing state's last change are read from the
 * log, the policy decides, and a step, promotion or rollback is written to the routing item (the
 * predict function reads it on the next request). Each decision that changes something is reported.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ModelManifest } from '../contract/manifest';
import { shadowLogModel } from '../contract/prediction-log';
import { PredictionLogStore } from '../lambda/log/prediction-log-store';
import { versionFigures } from '../lambda/versions/figures';
import { decide, type PolicyDecision, type PromotionPolicy } from '../lambda/versions/policy';
import { TableRoutingStore } from '../lambda/versions/routing-store';

/** Most log items one evaluation reads per partition. */
const MAX_ITEMS = 100_000;

export interface PromotionOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly manifest: ModelManifest;
  readonly policy: PromotionPolicy;
}

/** One evaluation: the decision, written when it changes the state (`hold` when another change came first). */
export async function evaluatePromotion(opts: PromotionOptions, now = new Date()): Promise<PolicyDecision | undefined> {
  const store = new TableRoutingStore(opts.dynamodb, opts.tableName, opts.manifest.name);
  const stored = await store.read();
  if (stored === undefined) return undefined;
  const log = new PredictionLogStore(opts.dynamodb, opts.tableName);
  const since = new Date(stored.state.updatedAt);
  const [answered, shadows] = await Promise.all([
    log.readWindow(opts.manifest.name, since, now, MAX_ITEMS),
    log.readWindow(shadowLogModel(opts.manifest.name), since, now, MAX_ITEMS),
  ]);
  const figures = versionFigures(stored.state, answered.records, shadows.records, opts.manifest.output.kind);
  const decision = decide(stored.state, figures, opts.policy, now);
  if (decision.action === 'hold') return decision;
  return (await store.write(decision.state, stored.basis, stored.revision))
    ? decision
    : { ...decision, action: 'hold', state: stored.state, reason: 'the state changed meanwhile' };
}

/** Evaluates every `intervalMs`; `report` is told each decision that changed the state. Returns the stop function. */
export function startPromotionLoop(
  opts: PromotionOptions & { intervalMs: number; report: (d: PolicyDecision) => void; onError: (e: unknown) => void },
): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = evaluatePromotion(opts).then((d) => d !== undefined && d.action !== 'hold' && opts.report(d), opts.onError);
  }, opts.intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
