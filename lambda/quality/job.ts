/**
 * The scheduled model-quality job (EventBridge rule, e.g. every 15 minutes): reads the last window of the
 * prediction log for the served model, measures per-feature input drift against the training baseline,
 * prediction drift against the class priors, and accuracy (or error) from feedback, and publishes them
 * as CloudWatch metrics per model version, and for the model as served (every version's answers
 * together), which the alarms watch. It reads only the log, so it works for every backend.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { ScheduledEvent } from 'aws-lambda';
import { errorMessage } from '../../contract/errors';
import { MAX_QUALITY_ITEMS } from '../../contract/quality';
import { PredictionLogStore } from '../log/prediction-log-store';
import { dynamoOptions } from '../runtime/clients';
import { createLogger, type Logger } from '../runtime/logger';
import type { PolicyDecision } from '../versions/policy';
import { type PromotionDeps, runPromotion } from '../versions/promotion';
import { TableRoutingStore } from '../versions/routing-store';
import { snsPublisher } from '../versions/sns-publisher';
import { analyzeServed, analyzeWindow, type VersionQuality } from './analyze';
import { type QualityConfig, readQualityConfig } from './config';
import { windowDocuments } from './publish';

export interface QualityRunResult {
  model: string;
  from: string;
  to: string;
  truncated: boolean;
  versions: VersionQuality[];
  /**
   * Every answered prediction of the window together, whichever version answered, when it held several.
   * @default - one version or none: `versions` says it all
   */
  served?: VersionQuality;
  /** The automatic promotion policy's decision, when it is configured and the routing item exists. */
  promotion?: PolicyDecision;
}

/** Runs one window ending at `now`; the handler and the local runner's `quality` command share it. */
export async function runQuality(
  config: QualityConfig,
  store: PredictionLogStore,
  now: Date,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  promotion?: PromotionDeps,
): Promise<QualityRunResult> {
  const to = now;
  const from = new Date(now.getTime() - config.windowMinutes * 60_000);
  const window = await store.readWindow(config.manifest.name, from, to, MAX_QUALITY_ITEMS);
  const versions = analyzeWindow(config.manifest, config.baseline, window.records, config.thresholds);
  // A split, a pin or a promotion within the window: the model as served is more than one version.
  const served = versions.length > 1 ? analyzeServed(config.manifest, config.baseline, window.records, config.thresholds) : undefined;
  for (const line of windowDocuments(config.manifest.name, versions, served, now.getTime())) write(line);
  const decision = promotion && (await promotionRun(promotion, now));
  return {
    model: config.manifest.name,
    from: from.toISOString(),
    to: to.toISOString(),
    truncated: window.truncated,
    versions,
    ...(served ? { served } : {}),
    ...(decision ? { promotion: decision } : {}),
  };
}

/** The policy after the metrics are out: a failure is logged, not thrown, so a retry does not publish the window twice. */
async function promotionRun(deps: PromotionDeps, now: Date): Promise<PolicyDecision | undefined> {
  try {
    return await runPromotion(deps, now);
  } catch (e) {
    deps.logger.error('promotion policy failed', { model: deps.manifest.name, error: errorMessage(e) });
    return undefined;
  }
}

export interface QualityDeps {
  readonly config: QualityConfig;
  readonly log: PredictionLogStore;
  /** @default - a logger of the quality job */
  readonly logger?: Logger;
  /** The automatic promotion policy's run. @default - none */
  readonly promotion?: PromotionDeps;
}

/** The quality job's dependencies as the CDK configures it: config from `env`, a DynamoDB client. */
export function qualityDepsFromEnv(env: NodeJS.ProcessEnv, baseDir: string): QualityDeps {
  const config = readQualityConfig(env, baseDir);
  const ddb = new DynamoDBClient(dynamoOptions(env));
  const log = new PredictionLogStore(ddb, config.table);
  const p = config.promotion;
  const promotion: PromotionDeps | undefined = p && {
    manifest: config.manifest,
    policy: p.policy,
    routing: new TableRoutingStore(ddb, config.table, config.manifest.name),
    log,
    logger: createLogger('quality'),
    publish: snsPublisher(new SNSClient({}), p.topicArn),
  };
  return { config, log, promotion };
}

export function createQualityHandler(deps: QualityDeps): (event: ScheduledEvent) => Promise<QualityRunResult> {
  const log = deps.logger ?? createLogger('quality');
  return async (event) => {
    // The rule's scheduled time, not the start of this invocation, so a late or retried run reads the same window.
    const scheduled = Date.parse(event.time);
    const now = Number.isNaN(scheduled) ? new Date() : new Date(scheduled);
    const result = await runQuality(deps.config, deps.log, now, undefined, deps.promotion);
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
