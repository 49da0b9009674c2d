/**
 * The automatic promotion policy in the local system (`npm start -- --challenger DIR --split 5
 * --auto-promote`): every interval, the quality job's own promotion run (lambda/versions/promotion.ts)
 * against the local table. There is no alarm topic locally: each decision is logged.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ModelManifest } from '../contract/manifest';
import type { PromotionPolicy } from '../contract/promotion';
import { PredictionLogStore } from '../lambda/log/prediction-log-store';
import type { Logger } from '../lambda/runtime/logger';
import { type PromotionDeps, runPromotion } from '../lambda/versions/promotion';
import { TableRoutingStore } from '../lambda/versions/routing-store';

export interface PromotionOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly manifest: ModelManifest;
  readonly policy: PromotionPolicy;
  readonly logger: Logger;
}

/** The promotion run's dependencies on the local table. */
export function localPromotionDeps(opts: PromotionOptions): PromotionDeps {
  return {
    manifest: opts.manifest,
    policy: opts.policy,
    routing: new TableRoutingStore(opts.dynamodb, opts.tableName, opts.manifest.name),
    log: new PredictionLogStore(opts.dynamodb, opts.tableName),
    logger: opts.logger,
  };
}

/** Runs the policy every `intervalMs`. Returns the stop function. */
export function startPromotionLoop(opts: PromotionOptions & { intervalMs: number; onError: (e: unknown) => void }): () => Promise<void> {
  const deps = localPromotionDeps(opts);
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = runPromotion(deps).catch(opts.onError);
  }, opts.intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
