/**
 * The analytics compactor: on a schedule, folds each closed day's Parquet files into one object per
 * version (lambda/analytics/compact.ts), so the named queries dedupe only the open day and late batches.
 * Runs one at a time (its schedule queues runs in one FIFO message group): two runs over the same day could each write it from a
 * different listing. Locally the runner calls the same handler at start-up and every hour.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { ModelBaseline } from '../../contract/baseline';
import { ENV } from '../../contract/env';
import { optionalBaseline } from '../../contract/model-files';
import { readConfig, required } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { type CompactionResult, compactClosedDays } from './compact';
import { type AnalyticsStoreDeps, analyticsStoreDepsFromEnv } from './deps';
import { s3ObjectStore } from './store';

export interface AnalyticsCompactorDeps extends AnalyticsStoreDeps {
  /** The model's drift baseline: closing a day writes its binned feature counts. @default - no counts */
  readonly baseline?: ModelBaseline;
}

/** The compactor's dependencies as the CDK configures it: config from `env`, an S3 client, the bundled baseline when the model has one. */
export function analyticsCompactorDepsFromEnv(env: NodeJS.ProcessEnv, baseDir: string): AnalyticsCompactorDeps {
  const deps = analyticsStoreDepsFromEnv('analytics-compactor', env, baseDir);
  const baselinePath = required(readConfig('analytics-compactor', env), ENV.MODEL_BASELINE_PATH);
  return { ...deps, baseline: optionalBaseline(deps.manifest, baselinePath, baseDir) };
}

export type AnalyticsCompactor = (
  event: Partial<ScheduledEvent> & { now?: string },
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
) => Promise<CompactionResult>;

/** Time kept back from the function's timeout for the day in progress: no day is started later than this before it. */
const DAY_MARGIN_MS = 120_000;

export function createAnalyticsCompactor(deps: AnalyticsCompactorDeps): AnalyticsCompactor {
  const { manifest } = deps;
  const store = s3ObjectStore(deps.s3, deps.bucket);
  const log = deps.logger ?? createLogger('analytics-compactor', { model: manifest.name });
  /**
   * Compacts the closed days. `now` (an ISO time) is for the local runner and tests; the schedule's event
   * carries none, and the days before today (UTC) are closed.
   */
  return async (event, context) => {
    const now = event.now === undefined ? new Date() : new Date(event.now);
    if (Number.isNaN(now.getTime())) throw new Error(`now must be an ISO time, got "${event.now}"`);
    const deadline = context === undefined ? undefined : Date.now() + context.getRemainingTimeInMillis() - DAY_MARGIN_MS;
    const result = await compactClosedDays(store, manifest, { now, deadline, baseline: deps.baseline });
    log.info('compacted', {
      partitions: result.partitions.length,
      merged: result.partitions.reduce((n, p) => n + p.merged, 0),
      rowsIn: result.partitions.reduce((n, p) => n + p.rowsIn, 0),
      rowsOut: result.partitions.reduce((n, p) => n + p.rowsOut, 0),
      featureBinDays: result.featureBins.length,
      remaining: result.remaining,
    });
    return result;
  };
}
