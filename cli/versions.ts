/**
 * What `mlship versions`, `mlship promote`, `mlship rollback` and `mlship sync-config` do
 * (docs/versions.md; the commands are in program.ts): the hosted versions with their live figures from
 * the prediction log, the two changes of the routing state, and `mlship.config.json` brought in line with
 * a change made on AWS. The state is one item of the prediction table, changed by a conditional write;
 * the local system reads it on every request, a deployed predict function within ROUTING_CACHE_MS.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CONFIG_FILE } from '../contract/app-config';
import { ENV } from '../contract/env';
import { errorMessage } from '../contract/errors';
import type { ModelManifest } from '../contract/manifest';
import { initialRoutingState, promoted, type RoutingState, rolledBack } from '../contract/versions';
import { ROUTING_CACHE_MS } from '../lambda/api/versions-routing';
import { PredictionLogStore } from '../lambda/log/prediction-log-store';
import { type VersionFigures, versionFigures } from '../lambda/versions/figures';
import { readVersionsWindow } from '../lambda/versions/log-window';
import { basisOf, type StoredRouting, TableRoutingStore } from '../lambda/versions/routing-store';
import { type ConfiguredVersions, configuredVersions, promoteInConfigFile } from '../lib/config';
import { type AdoptedVersion, adoptRegisteredVersion, type RegistryTarget } from './registered-champion';

/** What these commands need of a CLI target (the local system or a stack). */
export interface VersionsTarget {
  readonly kind: 'local' | 'stack';
  readonly tableName: string;
  readonly awsEnv: Record<string, string>;
  readonly s3: { readonly credentials?: { accessKeyId: string; secretAccessKey: string } };
}

/** Most log items one report reads per partition. */
const MAX_ITEMS = 100_000;

export interface VersionsReport {
  readonly model: string;
  readonly state: RoutingState;
  /** Which deployed state the state in force was made from (`basisOf`): a deploy of another one replaces it. */
  readonly basis: string;
  readonly revision: number;
  readonly from: string;
  readonly to: string;
  /** The window held more predictions than the report reads. */
  readonly truncated: boolean;
  readonly versions: VersionFigures[];
  /** Earlier routing states, oldest first. */
  readonly history: readonly RoutingState[];
}

function clientOf(t: VersionsTarget): DynamoDBClient {
  return new DynamoDBClient({ endpoint: t.awsEnv[ENV.DYNAMODB_URL], region: t.awsEnv.AWS_REGION, credentials: t.s3.credentials });
}

async function storedRouting(store: TableRoutingStore, model: string): Promise<StoredRouting> {
  const stored = await store.read();
  if (stored === undefined)
    throw new Error(
      `No routing state is stored for ${model}: it hosts no challenger, or its predict function has not run since the deploy (one prediction stores it).`,
    );
  return stored;
}

export async function versionsReport(
  t: VersionsTarget,
  manifest: ModelManifest,
  windowMs: number,
  now = new Date(),
): Promise<VersionsReport> {
  const ddb = clientOf(t);
  try {
    const stored = await storedRouting(new TableRoutingStore(ddb, t.tableName, manifest.name), manifest.name);
    const log = new PredictionLogStore(ddb, t.tableName);
    const from = new Date(now.getTime() - windowMs);
    const { answered, shadows, truncated } = await readVersionsWindow(log, manifest.name, from, now, MAX_ITEMS);
    return {
      model: manifest.name,
      state: stored.state,
      basis: stored.basis,
      revision: stored.revision,
      from: from.toISOString(),
      to: now.toISOString(),
      truncated,
      versions: versionFigures(stored.state, answered, shadows, manifest.output.kind),
      history: stored.history,
    };
  } finally {
    ddb.destroy();
  }
}

/** Applies `promote` or `rollback` to the stored state in one conditional write. */
export async function changeRouting(
  t: VersionsTarget,
  manifest: ModelManifest,
  change: 'promote' | 'rollback',
  now = new Date(),
): Promise<{ before: RoutingState; after: RoutingState }> {
  const ddb = clientOf(t);
  try {
    const store = new TableRoutingStore(ddb, t.tableName, manifest.name);
    const stored = await storedRouting(store, manifest.name);
    const after = (change === 'promote' ? promoted : rolledBack)(stored.state, 'cli', now);
    if (!(await store.write(after, stored.basis, stored.revision)))
      throw new Error('The routing state changed while this command ran; run it again.');
    return { before: stored.state, after };
  } finally {
    ddb.destroy();
  }
}

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)} %`);
const num = (v: number | null, digits = 1) => (v === null ? '-' : v.toFixed(digits));

export function formatVersions(r: VersionsReport): string {
  const { state } = r;
  const head = ['VERSION', 'ROLE', 'TRAFFIC', 'ANSWERED', 'SHADOW', 'AGREEMENT', 'GRADED', 'ACCURACY', 'MAE', 'ERRORS', 'P50 MS', 'P99 MS'];
  const rows = r.versions.map((v) => [
    v.version,
    v.role,
    v.shadowing ? 'shadow' : `${v.trafficPercent} %`,
    String(v.answered),
    String(v.shadow),
    pct(v.agreement),
    String(v.graded),
    pct(v.accuracy),
    num(v.mae, 3),
    pct(v.errorRate),
    num(v.latencyMs.p50),
    num(v.latencyMs.p99),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    `${r.model}: ${state.challenger === undefined ? 'champion only' : state.percent === 0 ? 'challenger rolled back (no traffic)' : `${state.mode}${state.mode === 'split' ? ` ${state.percent} %` : ''}`}   from ${r.from} to ${r.to}${r.truncated ? ' (truncated)' : ''}`,
    line(head),
    ...rows.map(line),
    `routing changed ${state.updatedAt} by ${state.updatedBy} (revision ${r.revision})`,
  ].join('\n');
}

export function formatChange(
  change: 'promote' | 'rollback',
  c: { before: RoutingState; after: RoutingState },
  target: VersionsTarget,
): string {
  const when = target.kind === 'local' ? 'now' : `within ${ROUTING_CACHE_MS / 1000} s`;
  return change === 'promote'
    ? `${c.after.champion} is the champion ${when}; ${c.before.champion} stays hosted as the challenger, without traffic.`
    : `${c.after.challenger} takes no traffic and runs no shadow ${when}; ${c.after.champion} answers every request.`;
}

/**
 * How `mlship.config.json` stands beside the routing state stored on a stack. A promotion made on AWS
 * (by the policy in the quality job, or `mlship promote` run elsewhere) changes the stored state only:
 * the file must follow before the next deploy, or the deploy serves what the file says.
 */
export interface ConfigStatus {
  /**
   * `in-line`: the file's champion is the one in force (a rollback or a step of the policy needs no
   * change of the file); `promoted`: the file's challenger was made the champion, `mlship sync-config`
   * rewrites the file as `mlship promote` does; `foreign`: the champion in force is none of the file's
   * versions (a registered version the retraining loop handed over, or a file changed since the deploy).
   */
  readonly kind: 'in-line' | 'promoted' | 'foreign';
  readonly file: ConfiguredVersions;
  readonly state: RoutingState;
  /**
   * What a deploy of the file as it stands does to the state in force: `kept` (it was made from the same
   * deployed state), `same` (replaced by the file's own state, which routes every request alike) or
   * `replaced` (the file's own state routes otherwise: a promotion or rollback is undone).
   */
  readonly atDeploy: 'kept' | 'same' | 'replaced';
  /** The file's challenger, hosted without traffic under the state in force. @default - none */
  readonly rolledBack?: string;
  /** The champion in force is a registered version (docs/retraining.md). */
  readonly registered: boolean;
}

export function configStatus(stored: Pick<StoredRouting, 'state' | 'basis'>, file: ConfiguredVersions, now = new Date()): ConfigStatus {
  const { state } = stored;
  const kind = state.champion === file.champion ? 'in-line' : state.champion === file.challenger?.version ? 'promoted' : 'foreign';
  const rolledBack = state.percent === 0 && state.challenger !== undefined && state.challenger === file.challenger?.version;
  const deployed = initialRoutingState(file.champion, file.challenger, now, 'deploy');
  return {
    kind,
    file,
    state,
    atDeploy: basisOf(deployed) === stored.basis ? 'kept' : sameTraffic(state, deployed) ? 'same' : 'replaced',
    ...(rolledBack && kind === 'in-line' ? { rolledBack: state.challenger } : {}),
    registered: (state.registered ?? []).includes(state.champion),
  };
}

const changed = (s: RoutingState) => `routing changed by ${s.updatedBy} at ${s.updatedAt}`;
const atDeploy = (c: ConfigStatus, kept: string) =>
  c.atDeploy === 'kept'
    ? `a deploy of the file as it stands keeps ${kept} in force`
    : `a deploy of the file as it stands starts again from the file's own state, with ${c.file.champion} as the champion`;

/**
 * What `mlship versions` says of the config file when it is not in line with the stored state (undefined
 * when it is): which version the file serves, which one is in force, and the command that brings the file
 * in line.
 */
export function formatConfigStatus(c: ConfigStatus, syncCommand: string): string | undefined {
  const { file, state } = c;
  if (c.kind === 'promoted')
    return `${CONFIG_FILE} serves ${file.champion} as the champion, but ${state.champion} is the champion in force (${changed(state)}): run \`${syncCommand}\` to bring the file in line before the next cdk deploy (${atDeploy(c, 'the promotion')}).`;
  if (c.kind === 'foreign') return foreignChampion(c, syncCommand);
  if (c.atDeploy === 'replaced') return `${CONFIG_FILE} has changed since the routing state in force was made: ${atDeploy(c, 'it')}.`;
  return undefined;
}

/**
 * The note of `mlship versions` on a stack about `mlship.config.json` in `rootDir`: undefined when the file
 * is in line (or absent, or about another model).
 */
export function configNote(r: VersionsReport, rootDir: string, syncCommand: string): string | undefined {
  let file: ConfiguredVersions | undefined;
  try {
    file = configuredVersions(rootDir);
  } catch (e) {
    return `${CONFIG_FILE} could not be compared with the routing state: ${errorMessage(e)}`;
  }
  if (file === undefined || file.model !== r.model) return undefined;
  return formatConfigStatus(configStatus(r, file), syncCommand);
}

/** Whether two states send every request the same way (a challenger without traffic is none). */
function sameTraffic(a: RoutingState, b: RoutingState): boolean {
  const routes = (s: RoutingState) =>
    JSON.stringify(s.challenger === undefined || s.percent === 0 ? [s.champion] : [s.champion, s.challenger, s.mode, s.percent]);
  return routes(a) === routes(b);
}

function foreignChampion(c: ConfigStatus, syncCommand = 'mlship --stack NAME sync-config'): string {
  const { file, state } = c;
  const names = [file.champion, file.challenger?.version].filter((v) => v !== undefined).join(' and ');
  const what = c.registered
    ? `a registered version the retraining loop handed over (models/${file.model}/${state.champion}/ in the bucket): run \`${syncCommand}\` to download it to ${registeredDir(file, state.champion)} and make it modelDir`
    : 'the file changed since the last deploy, or names other model folders';
  return `${state.champion}, the champion in force, is none of the versions ${CONFIG_FILE} names (${names}): ${what}; ${atDeploy(c, 'it')}.`;
}

/**
 * Where sync-config puts a registered champion: beside the champion's folder, named `<name>-<version>`.
 * Beside it, so the app's models stay in one place and a relative `modelDir` stays relative; named by the
 * version, so it never meets the champion's own folder and a run again finds the same folder.
 */
export function registeredDir(file: Pick<ConfiguredVersions, 'model' | 'modelDir'>, version: string): string {
  return join(dirname(file.modelDir), `${file.model}-${version}`);
}

/** The outcome of `mlship sync-config`: how the file stood, and what was written to it. */
export interface SyncResult {
  readonly status: ConfigStatus;
  /** What changed in the file. @default - nothing changed */
  readonly written?: string;
  /** The registered champion put in the app's folder. @default - none (the champion is one of the file's) */
  readonly adopted?: AdoptedVersion;
}

/**
 * Brings `mlship.config.json` in `rootDir` in line with the routing state stored on the target: after a
 * promotion, the file is rewritten as `mlship promote` rewrites it; when the promoted champion is a
 * registered version, it is first downloaded and checked into `registeredDir` and becomes `modelDir`;
 * otherwise the file is left alone.
 */
export async function syncConfig(
  t: VersionsTarget & RegistryTarget,
  manifest: ModelManifest,
  rootDir: string,
  now = new Date(),
): Promise<SyncResult> {
  const file = configuredVersions(rootDir);
  if (file === undefined) throw new Error(`No ${CONFIG_FILE} in ${rootDir}: run this where the app's config is.`);
  if (file.model !== manifest.name) throw new Error(`${CONFIG_FILE} deploys the model ${file.model}; the stack serves ${manifest.name}.`);
  const ddb = clientOf(t);
  let stored: StoredRouting;
  try {
    stored = await storedRouting(new TableRoutingStore(ddb, t.tableName, manifest.name), manifest.name);
  } finally {
    ddb.destroy();
  }
  const status = configStatus(stored, file, now);
  if (status.kind === 'foreign' && status.registered) {
    // Checked beside the file's champion, as the model server checked it beside the deployed one.
    const adopted = await adoptRegisteredVersion(t, file.manifest, status.state.champion, registeredDir(file, status.state.champion));
    return { status, adopted, written: promoteInConfigFile(rootDir, adopted.dir) };
  }
  if (status.kind === 'foreign') throw new Error(`${foreignChampion(status)} Nothing was changed.`);
  const written = status.kind === 'promoted' ? promoteInConfigFile(rootDir) : undefined;
  return { status, ...(written === undefined ? {} : { written }) };
}

/**
 * What `mlship promote` on a stack does to `mlship.config.json` in `rootDir` once the promotion is stored:
 * what sync-config does (the file's challenger becomes `modelDir`, or a registered champion is downloaded
 * beside it first), so the next deploy serves the promoted version. Undefined without the file; a
 * sentence rather than an error when the file cannot follow, since the promotion stands.
 */
export async function configAfterPromotion(
  t: VersionsTarget & RegistryTarget,
  manifest: ModelManifest,
  rootDir: string,
): Promise<string | undefined> {
  if (!existsSync(join(rootDir, CONFIG_FILE))) return undefined;
  try {
    const r = await syncConfig(t, manifest, rootDir);
    return r.written === undefined ? undefined : `${adoptedLine(r)}${r.written}`;
  } catch (e) {
    return `${CONFIG_FILE} was not changed: ${errorMessage(e)}`;
  }
}

/** What sync-config downloaded (or found in place), as a line; empty when it fetched nothing. */
function adoptedLine(r: SyncResult): string {
  const a = r.adopted;
  if (a === undefined) return '';
  const files = a.files.join(', ');
  return a.reused
    ? `${a.dir} holds registered version ${a.version} already (${files}), the same as ${a.from}; checked as the model server checks it.\n`
    : `Downloaded registered version ${a.version} from ${a.from} to ${a.dir} (${files}); checked as the model server checks it.\n`;
}

export function formatSync(r: SyncResult, target: string): string {
  const { file, state } = r.status;
  if (r.written !== undefined) return `${adoptedLine(r)}${state.champion} is the champion on ${target} (${changed(state)}). ${r.written}`;
  const lines = [`${CONFIG_FILE} is in line with ${target}: ${file.champion} is the champion in force; nothing to change.`];
  if (r.status.rolledBack !== undefined)
    lines.push(
      `The challenger ${r.status.rolledBack} takes no traffic (${changed(state)}). The file keeps it, so it stays hosted without traffic: ${atDeploy(r.status, 'the rollback')}. Remove challengerDir and the other challenger keys to stop hosting it.`,
    );
  else if (r.status.atDeploy === 'replaced')
    lines.push(`The file has changed since the routing state in force was made: ${atDeploy(r.status, 'it')}.`);
  return lines.join('\n');
}
