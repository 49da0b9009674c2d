/**
 * dynalite writes a put's index entries before its item, so a process killed between the two (kill -9
 * mid-write) leaves index entries without their item: listed and counted by the log's index queries, 404
 * by id. Such a write was never answered, so a start after an unclean stop removes those entries, through
 * the API: the item is put back from the entry (the indexes project every attribute) with a marker that
 * the change tap ignores, then deleted, which takes its index entries along.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { LOG_TABLE } from '../contract/prediction-log';

/** The attribute that tells the change tap a put is this repair's, not a write of the log. */
export const REPAIR_MARKER = 'mlshipIndexRepair';

type Item = Record<string, AttributeValue>;

/** Removes the index entries of the log table `table` whose item is missing; returns their ids. */
export async function removeDanglingIndexEntries(client: DynamoDBClient, table: string): Promise<string[]> {
  const key = LOG_TABLE.partitionKey;
  const entries = new Map<string, Item>();
  for (const IndexName of [LOG_TABLE.byModelIndex.name, LOG_TABLE.byCallerIndex.name]) {
    let start: Item | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: table, IndexName, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) {
        const id = item[key]?.S;
        if (id !== undefined) entries.set(id, item);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }
  const found = new Set<string>();
  const ids = [...entries.keys()];
  for (let i = 0; i < ids.length; i += 100) {
    let keys: Item[] | undefined = ids.slice(i, i + 100).map((id) => ({ [key]: { S: id } }));
    while (keys !== undefined && keys.length > 0) {
      const out: BatchGetItemCommandOutput = await client.send(
        new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys, ProjectionExpression: key, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[table] ?? []) if (item[key]?.S !== undefined) found.add(item[key].S);
      keys = out.UnprocessedKeys?.[table]?.Keys;
    }
  }
  const dangling = ids.filter((id) => !found.has(id));
  for (const id of dangling) {
    await client.send(new PutItemCommand({ TableName: table, Item: { ...entries.get(id), [REPAIR_MARKER]: { BOOL: true } } }));
    await client.send(new DeleteItemCommand({ TableName: table, Key: { [key]: { S: id } } }));
  }
  return dangling;
}
