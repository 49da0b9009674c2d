/**
 * The scheduled model-quality job (EventBridge rule, e.g. every 15 minutes): reads the last window of the
 * prediction log for the served model, measures per-feature input drift against the training baseline,
 * prediction drift against the class priors, and accuracy (or error) from feedback, and publishes them
 * as CloudWatch metrics per model version. It reads only the log, so it works for every backend.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ScheduledEvent } from 'aws-lambda';
import { MAX_QUALITY_ITEMS } from '../../contract/quality';
import { PredictionLogStore } from '../log/prediction-log-store';
import { dynamoOptions } from '../runtime/clients';
import { createLogger, type Logger } from '../runtime/logger';
import { analyzeWindow, type VersionQuality } from './analyze';
import { type QualityConfig, readQualityConfig } from './config';
import { qualityDocuments } from './publish';

export interface QualityRunResult {
  model: string;
  from: string;
  to: string;
  truncated: boolean;
  versions: VersionQuality[];
}

/** Runs one window ending at `now`; the handler and the local runner's `quality` command share it. */
export async function runQuality(
  config: QualityConfig,
  store: PredictionLogStore,
  now: Date,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<QualityRunResult> {
  const to = now;
  const from = new Date(now.getTime() - config.windowMinutes * 60_000);
  const window = await store.readWindow(config.manifest.name, from, to, MAX_QUALITY_ITEMS);
  const versions = analyzeWindow(config.manifest, config.baseline, window.records, config.thresholds);
  for (const v of versions) for (const line of qualityDocuments(config.manifest.name, v, now.getTime())) write(line);
  return { model: config.manifest.name, from: from.toISOString(), to: to.toISOString(), truncated: window.truncated, versions };
}

export interface QualityDeps {
  readonly config: QualityConfig;
  readonly log: PredictionLogStore;
  /** @default - a logger of the quality job */
  readonly logger?: Logger;
}

/** The quality job's dependencies as the CDK configures it: config from `env`, a DynamoDB client. */
export function qualityDepsFromEnv(env: NodeJS.ProcessEnv, baseDir: string): QualityDeps {
  const config = readQualityConfig(env, baseDir);
  return { config, log: new PredictionLogStore(new DynamoDBClient(dynamoOptions(env)), config.table) };
}

export function createQualityHandler(deps: QualityDeps): (event: ScheduledEvent) => Promise<QualityRunResult> {
  const log = deps.logger ?? createLogger('quality');
  return async (event) => {
    // The rule's scheduled time, not the start of this invocation, so a late or retried run reads the same window.
    const scheduled = Date.parse(event.time);
    const now = Number.isNaN(scheduled) ? new Date() : new Date(scheduled);
    const result = await runQuality(deps.config, deps.log, now);
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
  };
}
