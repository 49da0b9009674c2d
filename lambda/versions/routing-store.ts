/**
 * Where the versions' routing state lives: one item of the prediction table, `id = routing#<model>`
 * (no `model` attribute, so no index lists it and the analytics export skips it). The predict function
 * reads it through a short cache; `mlship promote` / `rollback` write it with a conditional put on its
 * revision, so two changes never interleave, and each change is kept in the item's `history`.
 *
 * The deployment's own state (from mlship.config.json, or `npm start`'s flags) is the default: a stored
 * state counts only while it was made from the same deployed state (its `basis`) and names versions
 * the deployment hosts or a training run handed over from the registry (its `registered`), so a
 * `cdk deploy` with a new challenger starts from its config again.
 */

import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandOutput,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { errorMessage } from '../../contract/errors';
import { LOG_TABLE } from '../../contract/prediction-log';
import { parseRoutingState, type RoutingState } from '../../contract/versions';
import { storageUnavailable } from '../log/storage-errors';

/** Changes kept in the item, newest last. */
const HISTORY = 50;

export interface StoredRouting {
  readonly state: RoutingState;
  /** `basisOf` the deployed state this one was made from. */
  readonly basis: string;
  /** Increases with every write; 0 means nothing is stored. */
  readonly revision: number;
  /** Earlier states, oldest first. */
  readonly history: readonly RoutingState[];
}

export interface RoutingStore {
  read(): Promise<StoredRouting | undefined>;
  /** Stores `state` if the stored revision is still `revision` (0: none stored yet); false when another change came first. */
  write(state: RoutingState, basis: string, revision: number): Promise<boolean>;
}

/** What identifies a deployed state: its versions, mode and percent (not when or by whom). */
export function basisOf(s: RoutingState): string {
  const key = JSON.stringify([s.champion, s.challenger ?? null, s.mode, s.percent]);
  return createHash('sha256').update(key).digest('base64url').slice(0, 16);
}

export class TableRoutingStore implements RoutingStore {
  private readonly id: string;

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly table: string,
    model: string,
  ) {
    this.id = `${LOG_TABLE.routingPrefix}${model}`;
  }

  async read(): Promise<StoredRouting | undefined> {
    let item: GetItemCommandOutput;
    try {
      item = await this.ddb.send(
        new GetItemCommand({ TableName: this.table, Key: { [LOG_TABLE.partitionKey]: { S: this.id } }, ConsistentRead: true }),
      );
    } catch (e) {
      throw storageUnavailable(e) ?? e;
    }
    const it = item.Item;
    if (it === undefined) return undefined;
    const where = `${this.table} item ${this.id}`;
    return {
      state: parseRoutingState(it.state?.S ?? '', where),
      basis: it.basis?.S ?? '',
      revision: Number(it.revision?.N ?? 0),
      history: (it.history?.L ?? []).map((h) => parseRoutingState(h.S ?? '', `${where} history`)),
    };
  }

  async write(state: RoutingState, basis: string, revision: number): Promise<boolean> {
    const before = revision === 0 ? undefined : await this.read();
    const history = before === undefined ? [] : [...before.history, before.state].slice(-HISTORY);
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            [LOG_TABLE.partitionKey]: { S: this.id },
            state: { S: JSON.stringify(state) },
            basis: { S: basis },
            revision: { N: String(revision + 1) },
            history: { L: history.map((h) => ({ S: JSON.stringify(h) })) },
          },
          ...(revision === 0
            ? { ConditionExpression: 'attribute_not_exists(id)' }
            : { ConditionExpression: 'revision = :r', ExpressionAttributeValues: { ':r': { N: String(revision) } } }),
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException || (e as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw storageUnavailable(e) ?? e;
    }
  }
}

export interface RoutingReaderOptions {
  /** The deployment's state: what answers until a change is stored, and after a deploy that changes it. */
  readonly deployed: RoutingState;
  /** How long a read state is reused. 0 reads the store on every request (the local system). */
  readonly cacheMs: number;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Told when the state in force changes (logged), and when the store could not be read. */
  readonly onChange?: (state: RoutingState) => void;
  readonly onError?: (message: string) => void;
  /**
   * Told when this deployment's state replaced a stored one of another deployed state that named another
   * champion: a promotion the deployed config does not carry is undone (docs/versions.md).
   */
  readonly onReplace?: (replaced: RoutingState) => void;
}

/**
 * The routing state in force, read through a cache. A store that cannot be read keeps the last state
 * in force (a prediction never fails for it). A stored state from another deployed state, or naming a
 * version the deployment does not host, is replaced by this deployment's (a conditional write: when
 * another writer came first, its state is read again).
 */
export function routingReader(store: RoutingStore, opts: RoutingReaderOptions): () => Promise<RoutingState> {
  const clock = opts.clock ?? Date.now;
  const basis = basisOf(opts.deployed);
  const hosted = new Set([opts.deployed.champion, opts.deployed.challenger].filter((v) => v !== undefined));
  let current = opts.deployed;
  let readAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<RoutingState> | undefined;

  const refresh = async (retry = true): Promise<RoutingState> => {
    let next = opts.deployed;
    try {
      const stored = await store.read();
      // A version the deployment does not host counts only when a hand-over marked it registered (the model server loads it).
      const known = (v: string | undefined) => v === undefined || hosted.has(v) || (stored?.state.registered ?? []).includes(v);
      const valid = stored !== undefined && stored.basis === basis && known(stored.state.champion) && known(stored.state.challenger);
      if (valid) next = stored.state;
      // Nothing stored for this deployment yet: store its state, so `mlship versions` and `promote` start from it.
      else if (await store.write(opts.deployed, basis, stored?.revision ?? 0)) {
        if (stored !== undefined && stored.state.champion !== opts.deployed.champion) opts.onReplace?.(stored.state);
      } else if (retry) return await refresh(false);
    } catch (e) {
      opts.onError?.(errorMessage(e));
      next = current;
    }
    readAt = clock();
    if (JSON.stringify(next) !== JSON.stringify(current)) opts.onChange?.(next);
    current = next;
    return next;
  };

  return async () => {
    if (clock() - readAt < opts.cacheMs) return current;
    // Concurrent requests share one read.
    pending ??= refresh().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
