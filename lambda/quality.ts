/**
 * Scheduled model-quality job (EventBridge rule, e.g. every 15 minutes): reads the last window of the
 * prediction log for the served model, measures per-feature input drift against the training baseline,
 * prediction drift against the class priors, and accuracy (or error) from feedback, and publishes them
 * as CloudWatch metrics per model version. It reads only the log, so it works for every backend.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ScheduledEvent } from 'aws-lambda';
import { analyzeWindow, type VersionQuality } from './quality/analyze';
import { type QualityConfig, readQualityConfig } from './quality/config';
import { qualityDocuments } from './quality/publish';
import { readWindow } from './quality/read-window';
import { dynamoOptions } from './runtime/clients';
import { createLogger } from './runtime/logger';

export interface QualityRunResult {
  model: string;
  from: string;
  to: string;
  truncated: boolean;
  versions: VersionQuality[];
}

const log = createLogger('quality');

/** Runs one window ending at `now`; the handler and the local runner's `quality` command share it. */
export async function runQuality(
  config: QualityConfig,
  ddb: DynamoDBClient,
  now: Date,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<QualityRunResult> {
  const to = now;
  const from = new Date(now.getTime() - config.windowMinutes * 60_000);
  const window = await readWindow(ddb, config.table, config.manifest.name, from, to);
  const versions = analyzeWindow(config.manifest, config.baseline, window.records);
  for (const v of versions) for (const line of qualityDocuments(config.manifest.name, v, now.getTime())) write(line);
  return { model: config.manifest.name, from: from.toISOString(), to: to.toISOString(), truncated: window.truncated, versions };
}

let state: { config: QualityConfig; ddb: DynamoDBClient } | undefined;

export async function handler(event: ScheduledEvent): Promise<QualityRunResult> {
  state ??= { config: readQualityConfig(process.env, __dirname), ddb: new DynamoDBClient(dynamoOptions()) };
  // The rule's scheduled time, not the start of this invocation, so a late or retried run reads the same window.
  const scheduled = Date.parse(event.time);
  const now = Number.isNaN(scheduled) ? new Date() : new Date(scheduled);
  const result = await runQuality(state.config, state.ddb, now);
  log.info('quality window published', {
    model: result.model,
    from: result.from,
    to: result.to,
    truncated: result.truncated,
    versions: result.versions.map((v) => ({
      version: v.modelVersion,
      predictions: v.predictions,
      feedback: v.quality.count,
      maxFeaturePsi: v.maxFeaturePsi,
    })),
  });
  if (result.truncated) log.warn('window held more items than the job reads; the oldest were skipped', { model: result.model });
  return result;
}
