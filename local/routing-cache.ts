/**
 * The predict function's routing state on this machine: read from the table, then served from memory
 * until the table reports a write of a routing item. The local table stream sees every PutItem, which is
 * how `mlship promote`, `rollback`, a training run's hand-over and the promotion loop store a change, so a
 * change still takes effect at once, without a GetItem beside every prediction. A write the stream does
 * not report (another client's DeleteItem or batch write) is read within MAX_AGE_MS.
 */
import { LOG_TABLE } from '../contract/prediction-log';
import type { RoutingStore, StoredRouting } from '../lambda/versions/routing-store';
import type { ItemChange } from './dynamodb';

/** The longest a read state is served without a reported change. */
export const MAX_AGE_MS = 1000;

export interface RoutingCacheOptions {
  /** The table the routing items live in. */
  readonly table: string;
  /** Subscribes to the table's accepted writes; returns the unsubscribe. */
  readonly onTableChange: (listener: (change: ItemChange) => void) => () => void;
  /** @default Date.now */
  readonly clock?: () => number;
}

export function cachedRoutingStore(store: RoutingStore, opts: RoutingCacheOptions): { store: RoutingStore; stop: () => void } {
  const clock = opts.clock ?? Date.now;
  let cached: Promise<StoredRouting | undefined> | undefined;
  let readAt = Number.NEGATIVE_INFINITY;
  const forget = () => {
    cached = undefined;
  };
  const stop = opts.onTableChange((change) => {
    if (change.table !== opts.table) return;
    const id = (change.newImage[LOG_TABLE.partitionKey] as { S?: unknown } | undefined)?.S;
    if (typeof id === 'string' && id.startsWith(LOG_TABLE.routingPrefix)) forget();
  });
  return {
    stop,
    store: {
      read() {
        if (cached !== undefined && clock() - readAt < MAX_AGE_MS) return cached;
        const read = store.read();
        cached = read;
        readAt = clock();
        // A failed read is not kept: the next request reads again, as without the cache.
        read.catch(() => {
          if (cached === read) forget();
        });
        return read;
      },
      async write(state, basis, revision) {
        forget();
        try {
          return await store.write(state, basis, revision);
        } finally {
          forget();
        }
      },
    },
  };
}
