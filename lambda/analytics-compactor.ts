/**
 * The analytics compactor: on a schedule, folds each closed day's Parquet files into one object per
 * version (lambda/analytics/compact.ts), so the named queries dedupe only the open day and late batches.
 * Runs one at a time (reserved concurrency 1): two runs over the same day could each write it from a
 * different listing. Locally the runner calls the same handler at start-up and every hour.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { ENV } from '../contract/env';
import { readManifestFile } from '../contract/model-files';
import { type CompactionResult, compactClosedDays } from './analytics/compact';
import { s3ObjectStore } from './analytics/store';
import { s3Options } from './runtime/clients';
import { readConfig, required } from './runtime/config';
import { createLogger } from './runtime/logger';

const config = readConfig('analytics-compactor');
const manifest = readManifestFile(required(config, ENV.MODEL_MANIFEST_PATH), __dirname);
const bucket = required(config, ENV.DATA_BUCKET);
const s3 = new S3Client(s3Options());
const log = createLogger('analytics-compactor', { model: manifest.name });

/** Time kept back from the function's timeout for the day in progress: no day is started later than this before it. */
const DAY_MARGIN_MS = 120_000;

/**
 * Compacts the closed days. `now` (an ISO time) is for the local runner and tests; the schedule's event
 * carries none, and the days before today (UTC) are closed.
 */
export async function handler(
  event: Partial<ScheduledEvent> & { now?: string },
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<CompactionResult> {
  const now = event.now === undefined ? new Date() : new Date(event.now);
  if (Number.isNaN(now.getTime())) throw new Error(`now must be an ISO time, got "${event.now}"`);
  const deadline = context === undefined ? undefined : Date.now() + context.getRemainingTimeInMillis() - DAY_MARGIN_MS;
  const result = await compactClosedDays(s3ObjectStore(s3, bucket), manifest, { now, deadline });
  log.info('compacted', {
    partitions: result.partitions.length,
    merged: result.partitions.reduce((n, p) => n + p.merged, 0),
    rowsIn: result.partitions.reduce((n, p) => n + p.rowsIn, 0),
    rowsOut: result.partitions.reduce((n, p) => n + p.rowsOut, 0),
    remaining: result.remaining,
  });
  return result;
}
