/**
 * The local predict function's routing cache: one GetItem serves every request until the table stream
 * reports a routing write — another client's promote is read at once — or MAX_AGE_MS has passed.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { initialRoutingState } from '../../contract/versions';
import { basisOf, TableRoutingStore } from '../../lambda/versions/routing-store';
import { dynamoClient, type EmbeddedDynamoDb, ensureTable, type ItemChange, startDynamoDbThread } from '../../local/dynamodb';
import { LOCAL_NAMES } from '../../local/paths';
import { cachedRoutingStore, MAX_AGE_MS } from '../../local/routing-cache';

const TABLE = LOCAL_NAMES.table;
let ddb: EmbeddedDynamoDb;
let client: DynamoDBClient;
const listeners = new Set<(c: ItemChange) => void>();
const onTableChange = (l: (c: ItemChange) => void) => {
  listeners.add(l);
  return () => void listeners.delete(l);
};
/** Resolves at the next reported write. */
const nextChange = () =>
  new Promise<void>((done) => {
    const stop = onTableChange(() => {
      stop();
      done();
    });
  });

beforeAll(async () => {
  ddb = await startDynamoDbThread({
    onChange: (c) => {
      for (const l of listeners) l(c);
    },
  });
  client = dynamoClient(ddb.url);
  await ensureTable(client, TABLE);
});
afterAll(async () => {
  client.destroy();
  await ddb.close();
});

/** The table's store, counting its reads. */
function countingStore(): { store: TableRoutingStore; reads: () => number } {
  const store = new TableRoutingStore(client, TABLE, 'breast-cancer');
  let reads = 0;
  const read = store.read.bind(store);
  store.read = () => {
    reads++;
    return read();
  };
  return { store, reads: () => reads };
}

it('reads the table once for many requests, and again at once when another client stores a change', async () => {
  // GIVEN a stored state and the cache over the table
  const first = initialRoutingState('1.0.0', undefined, new Date(), 'deploy');
  const other = dynamoClient(ddb.url);
  const writer = new TableRoutingStore(other, TABLE, 'breast-cancer');
  // The stream reports that write on its own time: waited for, so it cannot empty the cache below.
  const stored = nextChange();
  expect(await writer.write(first, basisOf(first), 0)).toBe(true);
  await stored;
  const table = countingStore();
  const cache = cachedRoutingStore(table.store, { table: TABLE, onTableChange });
  // WHEN 50 requests read it THEN one GetItem served them all
  const seen = await Promise.all(Array.from({ length: 50 }, () => cache.store.read()));
  expect(seen.every((s) => s?.revision === 1)).toBe(true);
  expect(await cache.store.read()).toMatchObject({ revision: 1 });
  expect(table.reads()).toBe(1);
  // WHEN another client stores a change (as `mlship promote` does) THEN the next read is the change's
  const changed = nextChange();
  const second = initialRoutingState('2.0.0', undefined, new Date(), 'promote');
  expect(await writer.write(second, basisOf(first), 1)).toBe(true);
  await changed;
  expect((await cache.store.read())?.state.champion).toBe('2.0.0');
  expect(table.reads()).toBe(2);
  cache.stop();
  other.destroy();
});

it('reads the table again after MAX_AGE_MS without a reported change, and keeps no failed read', async () => {
  let now = 0;
  const table = countingStore();
  const cache = cachedRoutingStore(table.store, { table: TABLE, onTableChange, clock: () => now });
  await cache.store.read();
  now += MAX_AGE_MS - 1;
  await cache.store.read();
  expect(table.reads()).toBe(1);
  now += 1;
  await cache.store.read();
  expect(table.reads()).toBe(2);
  // GIVEN DynamoDB down WHEN read THEN it fails, and the next read goes to the table again
  now += MAX_AGE_MS;
  await ddb.stop();
  try {
    await expect(cache.store.read()).rejects.toThrow();
    await expect(cache.store.read()).rejects.toThrow();
    expect(table.reads()).toBe(4);
  } finally {
    await ddb.start();
  }
  cache.stop();
});
