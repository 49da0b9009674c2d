/**
 * What `mlship versions`, `mlship promote` and `mlship rollback` do (docs/versions.md; the commands are
 * in program.ts): the hosted versions with their live figures from the prediction log, and the two
 * changes of the routing state. The state is
 * one item of the prediction table, changed by a conditional write; the local system reads it on every
 * request, a deployed predict function within ROUTING_CACHE_MS.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV } from '../contract/env';
import type { ModelManifest } from '../contract/manifest';
import { promoted, type RoutingState, rolledBack } from '../contract/versions';
import { ROUTING_CACHE_MS } from '../lambda/api/versions-routing';
import { PredictionLogStore } from '../lambda/log/prediction-log-store';
import { type VersionFigures, versionFigures } from '../lambda/versions/figures';
import { readVersionsWindow } from '../lambda/versions/log-window';
import { type StoredRouting, TableRoutingStore } from '../lambda/versions/routing-store';

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
