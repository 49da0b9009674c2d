/**
 * Model versions side by side: a champion that answers and an optional challenger beside it in the same
 * model server, chosen per request by a header (or, through SageMaker, a custom attribute). The routing
 * state (which version is champion, shadow or split, the split's percent) lives outside the image, so
 * promoting or rolling back needs no redeploy. The model server, the predict function, the local runner
 * and the CLI all read these names and rules from here.
 */
import * as z from 'zod/mini';
import { jsonOrNone, NONE_SETTING } from './json-setting';
import type { ModelManifest } from './manifest';
import { versionSchema } from './model-version';
import type { Prediction } from './prediction';

/** Request header naming the version that must answer; also how a caller pins one through the API. */
export const MODEL_VERSION_REQUEST_HEADER = 'x-mlship-model-version';
/** The same in SageMaker's `CustomAttributes` (`mlship-model-version=2.0.0`), which reach the container as a header. */
export const MODEL_VERSION_ATTRIBUTE = 'mlship-model-version';
/**
 * Request header naming the version that shadows the one answering: the model server runs it on the same
 * rows and answers its outcome beside the answer (`shadow`), within SHADOW_GRACE_MS. Model server only.
 */
export const SHADOW_VERSION_REQUEST_HEADER = 'x-mlship-shadow-version';
/** The same in SageMaker's `CustomAttributes` (`mlship-shadow-version=2.0.0`). */
export const SHADOW_VERSION_ATTRIBUTE = 'mlship-shadow-version';

export const ROUTING_MODES = ['shadow', 'split'] as const;
export type RoutingMode = (typeof ROUTING_MODES)[number];
export type VersionRole = 'champion' | 'challenger';

/** Percent of requests a split challenger may answer (a larger share is a promotion, not a split). */
export const SPLIT_PERCENT = { min: 1, max: 50 } as const;

/**
 * The longest the model server waits, once the champion's predictions are made, for the shadow version's
 * predictions of the same rows (never past the caller's deadline). A shadow slower than this is answered
 * and logged as SHADOW_TIMEOUT; the caller's answer never waits longer than this for it, and never changes
 * because of it.
 */
export const SHADOW_GRACE_MS = 200;

/** Why a shadow run has no predictions when the grace period ran out first. */
export const SHADOW_TIMEOUT = 'SHADOW_TIMEOUT';

/**
 * The shadow version's outcome in a model server's JSON answer (`"shadow": {...}`): its predictions of the
 * same instances, or why there are none (SHADOW_TIMEOUT or an ApiError code), and the milliseconds from
 * the start of its run to the outcome.
 */
export type ShadowAnswer = { readonly version: string; readonly ms: number } & (
  | { readonly predictions: Prediction[] }
  | { readonly error: string }
);

export { MODEL_VERSION_PATTERN, versionSchema } from './model-version';

/**
 * Two regression answers to the same instance agree when they differ by at most this share of the
 * answered value (of 1 when that is smaller): `mlship versions` and the `versions-side-by-side` named
 * query both judge agreement by it.
 */
export const AGREEMENT_RELATIVE_TOLERANCE = 1e-6;

/** Whether a shadow's predicted value agrees with the answered one (AGREEMENT_RELATIVE_TOLERANCE). */
export function valuesAgree(shadow: number, answered: number): boolean {
  return Math.abs(shadow - answered) <= AGREEMENT_RELATIVE_TOLERANCE * Math.max(1, Math.abs(answered));
}

/**
 * Who answers: the champion always hosted; the challenger (when hosted) shadowing it or answering
 * `percent` % of requests; `percent: 0` is a rolled-back challenger (hosted, no traffic, no shadow).
 */
export const routingStateSchema = z.object({
  champion: versionSchema,
  challenger: z.optional(versionSchema),
  mode: z.enum(ROUTING_MODES),
  /** Split share answered by the challenger, 0 (rolled back) to 100 (promoted through the split). */
  percent: z.number().check(z.int(), z.minimum(0), z.maximum(100)),
  /** ISO time of the last change and who made it (`deploy`, `cli`, `policy`, `training`). */
  updatedAt: z.string(),
  updatedBy: z.string(),
  /**
   * Versions of this state that the deployment did not start with: registered versions a training run
   * handed over, which the model server loads from the registry (`models/<name>/<version>/`) on their
   * first request. @default - none
   */
  registered: z.optional(z.array(versionSchema)),
});
export type RoutingState = z.output<typeof routingStateSchema>;

/** Parses a stored routing state, naming what is wrong. */
export function parseRoutingState(raw: string, source: string): RoutingState {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`${source} is not JSON`);
  }
  const parsed = routingStateSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(`${source} is not a routing state: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  if (parsed.data.challenger === parsed.data.champion)
    throw new Error(`${source}: the challenger and the champion are both ${parsed.data.champion}`);
  return parsed.data;
}

/**
 * A request's place in 0..99, from a key that a retry repeats (the idempotency key, else the request id):
 * the same key always lands on the same version.
 */
export function splitBucket(key: string): number {
  // FNV-1a over the UTF-16 code units, then murmur3's finalizer to spread the bits: no crypto module, so
  // the contract stays loadable in the dashboard's bundle, and the same everywhere.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) % 100;
}

/** What happens to one request under `state`: the version that answers and the one that shadows it, if any. */
export interface Route {
  readonly answer: string;
  readonly shadow?: string;
}

export function routeRequest(state: RoutingState, key: string): Route {
  const { champion, challenger, mode, percent } = state;
  if (challenger === undefined || percent === 0) return { answer: champion };
  if (mode === 'shadow') return { answer: champion, shadow: challenger };
  return { answer: splitBucket(key) < percent ? challenger : champion };
}

/** The role a version plays under `state`, or undefined when it is not hosted. */
export function roleOf(state: RoutingState, version: string): VersionRole | undefined {
  if (version === state.champion) return 'champion';
  if (version === state.challenger) return 'challenger';
  return undefined;
}

/** The challenger becomes the champion; the former champion stays hosted as a challenger without traffic. */
export function promoted(state: RoutingState, by: string, now: Date): RoutingState {
  if (state.challenger === undefined) throw new Error('There is no challenger to promote.');
  return { ...state, champion: state.challenger, challenger: state.champion, percent: 0, updatedAt: now.toISOString(), updatedBy: by };
}

/** The challenger keeps being hosted, with no traffic and no shadow. */
export function rolledBack(state: RoutingState, by: string, now: Date): RoutingState {
  if (state.challenger === undefined) throw new Error('There is no challenger to roll back.');
  return { ...state, percent: 0, updatedAt: now.toISOString(), updatedBy: by };
}

/**
 * A registered version handed over by a training run: it becomes the challenger in shadow (the model
 * server loads it from the registry), replacing a challenger that shadowed or was rolled back. The
 * champion is kept, and stays marked as registered when it came from the registry too.
 */
export function handedOver(state: RoutingState, version: string, by: string, now: Date): RoutingState {
  if (version === state.champion) throw new Error(`${version} is the champion already.`);
  const registered = [...(state.registered ?? []).filter((v) => v === state.champion), version];
  return { ...state, challenger: version, mode: 'shadow', percent: 100, registered, updatedAt: now.toISOString(), updatedBy: by };
}

/** Why a hand-over must wait: a challenger answering a share of requests is an experiment under way. */
export function handOverBlocked(state: RoutingState): string | undefined {
  if (state.challenger === undefined || state.mode !== 'split' || state.percent === 0) return undefined;
  return `${state.challenger} answers ${state.percent} % of requests (a split under way): promote or roll it back first.`;
}

/** The state a deployment or `npm start` begins with. */
export function initialRoutingState(champion: string, challenger: ChallengerSetting | undefined, now: Date, by: string): RoutingState {
  const base = { champion, updatedAt: now.toISOString(), updatedBy: by };
  if (challenger === undefined) return { ...base, mode: 'shadow', percent: 0 };
  // Shadow runs the challenger on every request; its `percent` only says it is live (100) or rolled back (0).
  const percent = challenger.mode === 'shadow' ? 100 : (challenger.percent ?? SPLIT_PERCENT.min);
  return { ...base, challenger: challenger.version, mode: challenger.mode, percent };
}

/** A deployment's challenger: its version and how it takes traffic. */
export const challengerSettingSchema = z.object({
  version: versionSchema,
  mode: z.enum(ROUTING_MODES),
  percent: z.optional(z.number().check(z.int(), z.minimum(SPLIT_PERCENT.min), z.maximum(SPLIT_PERCENT.max))),
});
export type ChallengerSetting = z.output<typeof challengerSettingSchema>;

/** The value of MLSHIP_CHALLENGER when no challenger is hosted. */
export const NO_CHALLENGER = NONE_SETTING;
/**
 * The value of MLSHIP_CHALLENGER when none is hosted at deploy but a training run may hand one over:
 * the routing state is read, and a registered version it names is accepted (docs/retraining.md).
 */
export const REGISTRY_CHALLENGER = 'registry';

/** MLSHIP_CHALLENGER of the predict function and the hand-over step: the configured challenger, else whether one may be handed over. */
export function challengerSetting(challenger: ChallengerSetting | undefined, handOver: boolean): string {
  if (challenger !== undefined) return JSON.stringify(challenger);
  return handOver ? REGISTRY_CHALLENGER : NO_CHALLENGER;
}

/** MLSHIP_CHALLENGER's value: the challenger setting, or undefined for `none` and `registry`. */
export function parseChallengerSetting(raw: string): ChallengerSetting | undefined {
  if (raw === REGISTRY_CHALLENGER) return undefined;
  const json = jsonOrNone(raw, 'The challenger setting');
  if (json === undefined) return undefined;
  const parsed = challengerSettingSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(`The challenger setting is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The split percent as given on a command line or in config, checked against SPLIT_PERCENT. */
export function checkSplitPercent(raw: unknown, where: string): number {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < SPLIT_PERCENT.min || n > SPLIT_PERCENT.max)
    throw new Error(`${where} must be a whole percent from ${SPLIT_PERCENT.min} to ${SPLIT_PERCENT.max}, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * A challenger must take the champion's requests as they are (the API checks them against one manifest)
 * and answer in the same shape: same name, task, input and labels; a different version.
 */
export function checkChallenger(champion: ModelManifest, challenger: ModelManifest): void {
  const problems: string[] = [];
  if (challenger.name !== champion.name) problems.push(`its name is "${challenger.name}", the champion's "${champion.name}"`);
  if (challenger.version === champion.version) problems.push(`its version is the champion's (${champion.version}): give it a new one`);
  if (challenger.output.kind !== champion.output.kind)
    problems.push(`it answers ${challenger.output.kind}, the champion ${champion.output.kind}`);
  if (JSON.stringify(callerInput(challenger)) !== JSON.stringify(callerInput(champion)))
    problems.push("its input differs from the champion's");
  if (JSON.stringify(labelsOf(challenger)) !== JSON.stringify(labelsOf(champion))) problems.push("its labels differ from the champion's");
  if (problems.length > 0) throw new Error(`The challenger cannot stand beside the champion: ${problems.join('; ')}.`);
}

/** The input as callers send it (tensor names are the model's own business). */
function callerInput(m: ModelManifest): unknown {
  if (m.input.kind === 'image') return m.input;
  return m.input.features.map((f) => ({ ...f, tensor: undefined }));
}

function labelsOf(m: ModelManifest): unknown {
  // A set: the order is the model's own class order, which a retrained model may change.
  return m.output.kind === 'classification' ? [...m.output.labels].sort() : undefined;
}
