/**
 * Which model version answers a `POST /predict`, and the shadow run beside it (docs/versions.md):
 * a caller's pin (`x-mlship-model-version`) wins; otherwise the routing state in force decides —
 * the champion answers and the challenger shadows it, or a split sends a stable share of requests
 * (by the idempotency key, else the request id, so a retry lands on the same version) to the challenger.
 *
 * A shadow version travels in the champion's own model call: the model server runs it on the same rows and
 * answers its outcome beside the champion's within SHADOW_GRACE_MS; it is only ever logged, never part of
 * the caller's answer or status.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ApiError } from '../../contract/errors';
import { PREDICT_METRICS } from '../../contract/metrics/predict-metrics';
import { IDEMPOTENCY_HEADER } from '../../contract/routes';
import {
  type ChallengerSetting,
  initialRoutingState,
  MODEL_VERSION_PATTERN,
  MODEL_VERSION_REQUEST_HEADER,
  type Route,
  type RoutingState,
  routeRequest,
} from '../../contract/versions';
import { header } from '../http/request';
import type { Logger } from '../runtime/logger';
import type { Metrics } from '../runtime/metrics';
import { type RoutingStore, routingReader } from '../versions/routing-store';

export interface VersionsDeps {
  /** The routing state in force (a cached reader of the routing store). */
  readonly routing: () => Promise<RoutingState>;
  /** Every version the deployment hosts (champion and challenger). */
  readonly hosted: readonly string[];
  /**
   * The versions whose answers are taken: the hosted ones, and the registered ones the state in force
   * names (handed over by a training run). @default - `hosted`
   */
  readonly accepted?: () => readonly string[];
}

/** How long the predict function on AWS reuses a read routing state: a promotion takes effect within it. */
export const ROUTING_CACHE_MS = 15_000;

export interface VersionsOptions {
  readonly store: RoutingStore;
  /** The champion's version (the served manifest's). */
  readonly champion: string;
  /** The configured challenger; none when only a training run's hand-over may name one. */
  readonly challenger: ChallengerSetting | undefined;
  /** @default ROUTING_CACHE_MS */
  readonly cacheMs?: number;
  readonly logger: Logger;
  /** Where a replaced state is counted (PREDICT_METRICS.routingStateReplaced, which the alarm topic hears of). */
  readonly metrics: Metrics;
}

/**
 * The versions of a deployment with a challenger, or one a training run may hand a registered version
 * over to: its own state by default, a stored change once made.
 */
export function versionsDeps(opts: VersionsOptions): VersionsDeps {
  const deployed = initialRoutingState(opts.champion, opts.challenger, new Date(), 'deploy');
  const hosted = opts.challenger === undefined ? [opts.champion] : [opts.champion, opts.challenger.version];
  let inForce = deployed;
  const read = routingReader(opts.store, {
    deployed,
    cacheMs: opts.cacheMs ?? ROUTING_CACHE_MS,
    onChange: (state) => opts.logger.info('routing state changed', { state }),
    onError: (error) => opts.logger.warn('routing state unreadable; keeping the one in force', { error }),
    onReplace: (replaced) => {
      opts.logger.warn("routing state of another deployment replaced: the deployment's champion answers again", { replaced, deployed });
      opts.metrics.count(PREDICT_METRICS.routingStateReplaced, 1);
    },
  });
  return {
    hosted,
    accepted: () => [...hosted, ...(inForce.registered ?? [])],
    routing: async () => {
      inForce = await read();
      return inForce;
    },
  };
}

/**
 * The route of one request: a pinned version answers alone; without versions configured (and no pin)
 * the model server's own champion answers (`answer` undefined).
 */
export async function routeOf(versions: VersionsDeps | undefined, event: APIGatewayProxyEvent, requestId: string): Promise<Partial<Route>> {
  const pinned = header(event, MODEL_VERSION_REQUEST_HEADER);
  if (pinned !== undefined) {
    if (!MODEL_VERSION_PATTERN.test(pinned))
      throw new ApiError(
        'INVALID_HEADER',
        `${MODEL_VERSION_REQUEST_HEADER} must be a model version (letters, digits, . _ -).`,
        MODEL_VERSION_REQUEST_HEADER,
      );
    // Read all the same: a pinned registered version is accepted once the state in force names it.
    await versions?.routing();
    return { answer: pinned };
  }
  if (versions === undefined) return {};
  return routeRequest(await versions.routing(), header(event, IDEMPOTENCY_HEADER) ?? requestId);
}
