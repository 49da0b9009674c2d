/**
 * The hand-over of a registered version, the last step of an accepted training run (`mlship train
 * --shadow` locally; the Training stack's hand-over function on AWS, docs/retraining.md): the routing
 * state names the version as the challenger in shadow, in one conditional write on the item's revision.
 * Nothing is deployed or restarted: the predict function reads the new state (within its cache) and the
 * model server loads the version from the registry on the first request that names it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../contract/env';
import { readManifestFile } from '../../contract/model-files';
import {
  handedOver,
  handOverBlocked,
  initialRoutingState,
  MODEL_VERSION_PATTERN,
  parseChallengerSetting,
  type RoutingState,
} from '../../contract/versions';
import { dynamoOptions } from '../runtime/clients';
import { readConfig, required } from '../runtime/config';
import { createLogger, type Logger } from '../runtime/logger';
import { basisOf, type RoutingStore, TableRoutingStore } from './routing-store';

export interface HandOverRequest {
  /** The registered version to put in the shadow. */
  readonly version: string;
  /**
   * The deployment's own state, when the caller knows it (the function on AWS): it stands in for an
   * item that is missing or was made from another deployment. @default - a stored state must exist
   */
  readonly deployed?: RoutingState;
  /** Who hands over (`updatedBy`). */
  readonly by: string;
  /** @default new Date() */
  readonly now?: Date;
}

export type HandOverResult =
  | { readonly handedOver: true; readonly before: RoutingState; readonly after: RoutingState }
  | { readonly handedOver: false; readonly reason: string };

/** Conditional writes tried before giving up when other changes keep coming first. */
const ATTEMPTS = 3;

export async function handOverInShadow(store: RoutingStore, req: HandOverRequest): Promise<HandOverResult> {
  if (!MODEL_VERSION_PATTERN.test(req.version)) throw new Error(`"${req.version}" is not a model version.`);
  const deployedBasis = req.deployed === undefined ? undefined : basisOf(req.deployed);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const stored = await store.read();
    let base: { state: RoutingState; basis: string; revision: number };
    if (stored !== undefined && (deployedBasis === undefined || stored.basis === deployedBasis)) base = stored;
    else if (req.deployed !== undefined && deployedBasis !== undefined)
      base = { state: req.deployed, basis: deployedBasis, revision: stored?.revision ?? 0 };
    else
      return {
        handedOver: false,
        reason: 'No routing state is stored for the model: start the system (npm start) or send it a prediction first.',
      };
    const { state } = base;
    // A retried step finds its own hand-over done.
    if (state.challenger === req.version && state.mode === 'shadow' && state.percent > 0)
      return { handedOver: true, before: state, after: state };
    if (state.champion === req.version) return { handedOver: false, reason: `${req.version} is the champion already.` };
    const blocked = handOverBlocked(state);
    if (blocked !== undefined) return { handedOver: false, reason: blocked };
    const after = handedOver(state, req.version, req.by, req.now ?? new Date());
    if (await store.write(after, base.basis, base.revision)) return { handedOver: true, before: state, after };
  }
  throw new Error('The routing state kept changing during the hand-over; run it again.');
}

/** What the Training stack's hand-over step sends: the version its evaluation registered. */
export interface HandOverEvent {
  readonly version: string;
}

export interface HandOverDeps {
  readonly store: RoutingStore;
  /** The deployment's own routing state (its champion and configured challenger). */
  readonly deployed: RoutingState;
  /** @default - a logger of the hand-over function */
  readonly logger?: Logger;
}

/** The hand-over step on AWS: the state machine passes the registered version; the answer says whether it is in the shadow, or why not. */
export function createHandOverHandler(deps: HandOverDeps): (event: HandOverEvent) => Promise<HandOverResult> {
  const logger = deps.logger ?? createLogger('hand-over');
  return async (event) => {
    const result = await handOverInShadow(deps.store, { version: String(event?.version), deployed: deps.deployed, by: 'training' });
    if (result.handedOver) logger.info('handed over in shadow', { version: event.version, state: result.after });
    else logger.warn('not handed over', { version: event.version, reason: result.reason });
    return result;
  };
}

/** The function's dependencies as the CDK configures it: the table, the bundled manifest and the deployed challenger. */
export function handOverDepsFromEnv(env: NodeJS.ProcessEnv, baseDir: string): HandOverDeps {
  const config = readConfig('hand-over', env);
  const manifest = readManifestFile(required(config, ENV.MODEL_MANIFEST_PATH), baseDir);
  const challenger = parseChallengerSetting(required(config, ENV.CHALLENGER));
  return {
    store: new TableRoutingStore(new DynamoDBClient(dynamoOptions(env)), required(config, ENV.PREDICTION_TABLE), manifest.name),
    // The time and author are not part of the basis: the state stands in only until a change is stored.
    deployed: initialRoutingState(manifest.version, challenger, new Date(0), 'deploy'),
    logger: createLogger('hand-over', { model: manifest.name }),
  };
}
