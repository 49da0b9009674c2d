/**
 * The local system's challenger (`npm start -- --challenger DIR [--shadow | --split PERCENT]`): its
 * manifest checked beside the champion's, and the predict function's routing read from the local table
 * for every request (from memory until the table reports a routing write: `routing-cache.ts`), so
 * `mlship promote` and `rollback` take effect at once.
 */
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { errorMessage } from '../contract/errors';
import { MANIFEST_FILE, type ModelManifest } from '../contract/manifest';
import { readManifestFile } from '../contract/model-files';
import { DEFAULT_PROMOTION_POLICY, type PromotionPolicy, promotionPolicy } from '../contract/promotion';
import { checkSplitPercent, type RoutingMode } from '../contract/versions';
import { type VersionsDeps, versionsDeps } from '../lambda/api/versions-routing';
import { createLogger } from '../lambda/runtime/logger';
import { Metrics } from '../lambda/runtime/metrics';
import { TableRoutingStore } from '../lambda/versions/routing-store';
import type { ItemChange } from './dynamodb';
import { startPromotionLoop } from './promotion';
import { cachedRoutingStore } from './routing-cache';

export interface LocalChallenger {
  /** Model folder of the challenger (model.json + the ONNX file). */
  readonly dir: string;
  readonly mode: RoutingMode;
  /** Split only: percent of requests it answers (1–50). */
  readonly percent?: number;
  /** Split only: move it up or roll it back by this policy, evaluated every `intervalMs`. @default - by hand only */
  readonly autoPromote?: { readonly policy: PromotionPolicy; readonly intervalMs: number };
}

/** How often `--auto-promote` evaluates the policy. */
export const AUTO_PROMOTE_INTERVAL_MS = 60_000;

/**
 * The predict function's versions; the system's state (from the flags) is stored at once. Without a
 * challenger the state names the champion alone, until `mlship train --shadow` hands a registered
 * version over (docs/retraining.md). With `autoPromote`, the policy runs until `stop()`.
 */
export async function localVersions(opts: {
  readonly challenger?: LocalChallenger;
  readonly manifest: ModelManifest;
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  /** The table's accepted writes (the local stream), which tell a routing change. */
  readonly onTableChange: (listener: (change: ItemChange) => void) => () => void;
}): Promise<{ versions: VersionsDeps; stop: () => Promise<void> }> {
  const { challenger, manifest } = opts;
  const logger = createLogger('predict', { model: manifest.name });
  const routing = cachedRoutingStore(new TableRoutingStore(opts.dynamodb, opts.tableName, manifest.name), {
    table: opts.tableName,
    onTableChange: opts.onTableChange,
  });
  const versions = versionsDeps({
    store: routing.store,
    champion: manifest.version,
    challenger: challenger && {
      version: readManifestFile(join(challenger.dir, MANIFEST_FILE)).version,
      mode: challenger.mode,
      percent: challenger.percent,
    },
    cacheMs: 0,
    logger,
    metrics: new Metrics({ name: manifest.name, version: manifest.version }),
  });
  await versions.routing();
  const auto = challenger?.autoPromote;
  const stopLoop =
    auto === undefined
      ? async () => undefined
      : startPromotionLoop({
          dynamodb: opts.dynamodb,
          tableName: opts.tableName,
          manifest,
          policy: auto.policy,
          intervalMs: auto.intervalMs,
          // Its own service name, as the quality job's runs log under `quality` on AWS.
          logger: createLogger('promotion', { model: manifest.name }),
          onError: (e) => logger.warn('promotion policy failed', { error: errorMessage(e) }),
        });
  const stop = async () => {
    await stopLoop();
    routing.stop();
  };
  return { versions, stop };
}

/** `--challenger DIR`, `--shadow`, `--split PERCENT` as given. */
export interface ChallengerFlags {
  readonly dir?: string;
  readonly shadow?: boolean;
  readonly split?: string;
  /** `--auto-promote` alone (the default policy), or with settings as JSON, as `autoPromote` in mlship.config.json. */
  readonly autoPromote?: boolean | string;
}

/** The challenger the flags ask for, or undefined; flags that make no sense alone say so. */
export function localChallenger(flags: ChallengerFlags | undefined): LocalChallenger | undefined {
  if (flags?.dir === undefined) {
    if (flags?.shadow || flags?.split !== undefined || flags?.autoPromote)
      throw new Error('--shadow, --split and --auto-promote go with --challenger DIR.');
    return undefined;
  }
  const autoPromote = flags.autoPromote
    ? { policy: autoPromotePolicy(flags.autoPromote), intervalMs: AUTO_PROMOTE_INTERVAL_MS }
    : undefined;
  if (flags.split !== undefined) return { dir: flags.dir, mode: 'split', percent: checkSplitPercent(flags.split, '--split'), autoPromote };
  if (autoPromote) throw new Error('--auto-promote moves a split challenger up: give --split PERCENT (e.g. 5).');
  return { dir: flags.dir, mode: 'shadow' };
}

/** The policy of `--auto-promote [settings]`: the same settings and checks as `autoPromote` in mlship.config.json. */
function autoPromotePolicy(flag: true | string): PromotionPolicy {
  if (flag === true) return DEFAULT_PROMOTION_POLICY;
  let settings: unknown;
  try {
    settings = JSON.parse(flag);
  } catch {
    throw new Error(`--auto-promote takes its settings as JSON (e.g. '{"steps":[10,50]}'), got ${flag}`);
  }
  try {
    return promotionPolicy(settings);
  } catch (e) {
    throw new Error(`--auto-promote: ${errorMessage(e)}`);
  }
}

/** The banner's line for the challenger. */
export function challengerLine(flags: ChallengerFlags): string {
  return `${flags.dir}   ${flags.split === undefined ? 'shadow: runs beside every request' : `split: answers ${flags.split} % of requests`}`;
}
