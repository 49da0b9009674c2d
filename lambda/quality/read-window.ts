/**
 * Reads one window of a model's prediction log through the `byModel` index (newest first), bounded by
 * MAX_QUALITY_ITEMS so a busy hour cannot make the job run out of time.
 */
import { type AttributeValue, type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { decodeRecord, LOG_TABLE, type PredictionRecord } from '../../contract/prediction-log';
import { MAX_QUALITY_ITEMS } from '../../contract/quality';

export interface LogWindow {
  records: PredictionRecord[];
  /** True when the window held more than the item bound and the oldest items were left unread. */
  truncated: boolean;
}

/** Items of `model` created in [from, to): the sort key `<ISO>#<id>` orders by time, so BETWEEN on the ISO bounds selects them. */
export async function readWindow(
  ddb: DynamoDBClient,
  table: string,
  model: string,
  from: Date,
  to: Date,
  maxItems = MAX_QUALITY_ITEMS,
): Promise<LogWindow> {
  const ix = LOG_TABLE.byModelIndex;
  const records: PredictionRecord[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: table,
        IndexName: ix.name,
        KeyConditionExpression: '#m = :m AND #t BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#m': ix.partitionKey, '#t': ix.sortKey },
        ExpressionAttributeValues: { ':m': { S: model }, ':from': { S: from.toISOString() }, ':to': { S: to.toISOString() } },
        ScanIndexForward: false,
        Limit: Math.min(1000, maxItems - records.length + 1),
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) records.push(decodeRecord(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined && records.length <= maxItems);
  const truncated = records.length > maxItems;
  return { records: truncated ? records.slice(0, maxItems) : records, truncated };
}
