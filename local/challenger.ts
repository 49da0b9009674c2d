/**
 * The local system's challenger (`npm start -- --challenger DIR [--shadow | --split PERCENT]`): its
 * manifest checked beside the champion's, and the predict function's routing read from the local table
 * on every request, so `mlship promote` and `rollback` take effect at once.
 */
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MANIFEST_FILE, type ModelManifest } from '../contract/manifest';
import { readManifestFile } from '../contract/model-files';
import { checkSplitPercent, type RoutingMode } from '../contract/versions';
import { type VersionsDeps, versionsDeps } from '../lambda/api/versions-routing';
import { createLogger } from '../lambda/runtime/logger';
import { TableRoutingStore } from '../lambda/versions/routing-store';

export interface LocalChallenger {
  /** Model folder of the challenger (model.json + the ONNX file). */
  readonly dir: string;
  readonly mode: RoutingMode;
  /** Split only: percent of requests it answers (1–50). */
  readonly percent?: number;
}

/** The predict function's versions; the system's state (from the flags) is stored at once. */
export async function localVersions(opts: {
  readonly challenger: LocalChallenger;
  readonly manifest: ModelManifest;
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
}): Promise<VersionsDeps> {
  const { challenger, manifest } = opts;
  const version = readManifestFile(join(challenger.dir, MANIFEST_FILE)).version;
  const versions = versionsDeps({
    store: new TableRoutingStore(opts.dynamodb, opts.tableName, manifest.name),
    champion: manifest.version,
    challenger: { version, mode: challenger.mode, percent: challenger.percent },
    cacheMs: 0,
    logger: createLogger('predict', { model: manifest.name }),
  });
  await versions.routing();
  return versions;
}

/** `--challenger DIR`, `--shadow`, `--split PERCENT` as given. */
export interface ChallengerFlags {
  readonly dir?: string;
  readonly shadow?: boolean;
  readonly split?: string;
}

/** The challenger the flags ask for, or undefined; flags that make no sense alone say so. */
export function localChallenger(flags: ChallengerFlags | undefined): LocalChallenger | undefined {
  if (flags?.dir === undefined) {
    if (flags?.shadow || flags?.split !== undefined) throw new Error('--shadow and --split go with --challenger DIR.');
    return undefined;
  }
  if (flags.split !== undefined) return { dir: flags.dir, mode: 'split', percent: checkSplitPercent(flags.split, '--split') };
  return { dir: flags.dir, mode: 'shadow' };
}

/** The banner's line for the challenger. */
export function challengerLine(flags: ChallengerFlags): string {
  return `${flags.dir}   ${flags.split === undefined ? 'shadow: runs beside every request' : `split: answers ${flags.split} % of requests`}`;
}
