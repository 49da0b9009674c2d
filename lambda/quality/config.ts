/**
 * The quality job's configuration, read once at cold start by the functions' one config reader: every
 * variable `functionEnv('quality')` names must be set, and the manifest and baseline must parse and agree, or the function fails before its
 * first run instead of publishing nothing.
 */
import { checkBaselineMatches, type ModelBaseline } from '../../contract/baseline';
import { ENV, type EnvName } from '../../contract/env';
import { errorMessage } from '../../contract/errors';
import type { ModelManifest } from '../../contract/manifest';
import { type QualityThresholds, qualityThresholds } from '../../contract/metrics/thresholds';
import { readBaselineFile, readManifestFile } from '../../contract/model-files';
import { type PromotionPolicy, parsePromotionPolicy } from '../../contract/promotion';
import { readConfig, required } from '../runtime/config';

export interface QualityConfig {
  table: string;
  manifest: ModelManifest;
  baseline: ModelBaseline;
  windowMinutes: number;
  /** Drift-test significance, minimum sample and drifted-share limit: the defaults with the configured overrides. */
  thresholds: QualityThresholds;
  /** The automatic promotion policy each run evaluates, and the topic its decisions go to; undefined when off. */
  promotion?: { policy: PromotionPolicy; topicArn: string };
}

export function readQualityConfig(env: NodeJS.ProcessEnv, baseDir: string): QualityConfig {
  const config = readConfig('quality', env);
  const get = (n: EnvName) => required(config, n);
  const rawWindow = get(ENV.QUALITY_WINDOW_MINUTES);
  if (!/^\d+$/.test(rawWindow) || Number(rawWindow) < 1 || Number(rawWindow) > 7 * 24 * 60) {
    throw new Error(`${ENV.QUALITY_WINDOW_MINUTES} must be a whole number of minutes from 1 to 10080; got "${rawWindow}"`);
  }
  const manifest = readManifestFile(get(ENV.MODEL_MANIFEST_PATH), baseDir);
  const baseline = readBaselineFile(get(ENV.MODEL_BASELINE_PATH), baseDir);
  checkBaselineMatches(manifest, baseline);
  return {
    table: get(ENV.PREDICTION_TABLE),
    manifest,
    baseline,
    windowMinutes: Number(rawWindow),
    thresholds: parseThresholds(get(ENV.QUALITY_THRESHOLDS)),
    ...promotionOf(get(ENV.PROMOTION_POLICY), get(ENV.ALARM_TOPIC_ARN)),
  };
}

function promotionOf(rawPolicy: string, topicArn: string): Pick<QualityConfig, 'promotion'> {
  let policy: PromotionPolicy | undefined;
  try {
    policy = parsePromotionPolicy(rawPolicy);
  } catch (e) {
    throw new Error(`${ENV.PROMOTION_POLICY}: ${errorMessage(e)}`);
  }
  return policy === undefined ? {} : { promotion: { policy, topicArn } };
}

/** The thresholds variable: a JSON object of overrides (`{}` keeps every default), checked by `qualityThresholds`. */
function parseThresholds(raw: string): QualityThresholds {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${ENV.QUALITY_THRESHOLDS} must be a JSON object; got "${raw}"`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${ENV.QUALITY_THRESHOLDS} must be a JSON object; got "${raw}"`);
  return qualityThresholds(parsed as Record<string, number>);
}
