/**
 * A write killed between dynalite's index entries and its item leaves an entry listed by the log's index
 * queries but missing by id; a start after an unclean stop removes it, without reporting a change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { LOG_TABLE } from '../../contract/prediction-log';
import { dynamoClient, ensureTable, type ItemChange, startDynamoDb } from '../../local/dynamodb';
import { removeDanglingIndexEntries } from '../../local/index-repair';

/** dynalite's LevelDB, opened directly (classic-level through `level`, which dynalite itself uses). */
type LevelDb = {
  iterator(o: { gte: string; lt: string }): AsyncIterable<[string, { id?: { S?: string } }]>;
  del(key: string): Promise<void>;
  close(): Promise<void>;
};
const { Level } = require('level') as { Level: new (path: string, o: { valueEncoding: 'json' }) => LevelDb };

const TABLE = 'repair-test-log';

it('removes an index entry whose item a killed write never stored, and reports no change for it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlship-repair-'));
  const changes: ItemChange[] = [];
  let db = await startDynamoDb({ dir, onChange: (c) => changes.push(c) });
  let client = dynamoClient(db.url);
  try {
    // GIVEN two logged items, and the second's item gone from the store as a kill between index and item leaves it
    await ensureTable(client, TABLE);
    for (const id of ['A', 'B'])
      await client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: {
            id: { S: id },
            [LOG_TABLE.byModelIndex.partitionKey]: { S: 'm' },
            [LOG_TABLE.byModelIndex.sortKey]: { S: `t#${id}` },
            [LOG_TABLE.byCallerIndex.partitionKey]: { S: 'k#m' },
          },
        }),
      );
    client.destroy();
    await db.close();
    const level = new Level(dir, { valueEncoding: 'json' });
    for await (const [key, value] of level.iterator({ gte: `item-${TABLE}~`, lt: `item-${TABLE}~\uffff` }))
      if (value.id?.S === 'B') await level.del(key);
    await level.close();
    db = await startDynamoDb({ dir, onChange: (c) => changes.push(c) });
    client = dynamoClient(db.url);
    const listed = async () =>
      (
        await client.send(
          new QueryCommand({
            TableName: TABLE,
            IndexName: LOG_TABLE.byModelIndex.name,
            KeyConditionExpression: '#m = :m',
            ExpressionAttributeNames: { '#m': LOG_TABLE.byModelIndex.partitionKey },
            ExpressionAttributeValues: { ':m': { S: 'm' } },
          }),
        )
      ).Items?.map((i) => i.id?.S);
    expect(await listed()).toEqual(['A', 'B']);
    expect((await client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'B' } } }))).Item).toBeUndefined();
    changes.length = 0;

    // WHEN the repair runs THEN B is no longer listed, A is untouched, and the tap reported nothing
    expect(await removeDanglingIndexEntries(client, TABLE)).toEqual(['B']);
    expect(await listed()).toEqual(['A']);
    expect(changes).toEqual([]);
  } finally {
    client.destroy();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
