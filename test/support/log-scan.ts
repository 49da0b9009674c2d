/**
 * Reads the whole prediction log through the SDK (paginated Scan) and reconciles it with what the API
 * answered: every id of a 200 answer must be in the table exactly once, and no request may be logged
 * twice or logged without a 200.
 */
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LOG_TABLE, type PredictionRecord } from '../../contract/prediction-log';
import { dynamoClient } from '../../local/dynamodb';

/** Every prediction item of the table (idempotency records, which carry no `model`, are skipped). */
export async function scanPredictions(dynamodbUrl: string, tableName: string): Promise<PredictionRecord[]> {
  const client = dynamoClient(dynamodbUrl);
  const items: PredictionRecord[] = [];
  try {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }));
      for (const raw of page.Items ?? []) {
        const item = unmarshall(raw) as PredictionRecord;
        if (item[LOG_TABLE.byModelIndex.partitionKey] !== undefined) items.push(item);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  } finally {
    client.destroy();
  }
  return items;
}

export interface Reconciliation {
  /** Ids answered with 200. */
  answered: number;
  /** Items of this run found in the table. */
  logged: number;
  /** Answered ids with no item. */
  lost: string[];
  /** Requests (markers) logged more than once, or ids answered twice. */
  duplicated: string[];
  /** Items of this run whose request got no 200 (written, then failed: "half-written"). */
  orphaned: string[];
}

/**
 * `answered` maps each id of a 200 answer to the marker of its request; `markerOf` reads the marker back
 * from a logged item (undefined for items of other runs, which are ignored).
 */
export function reconcile(
  answered: Map<string, string>,
  answeredTwice: string[],
  items: PredictionRecord[],
  markerOf: (item: PredictionRecord) => string | undefined,
): Reconciliation {
  const byMarker = new Map<string, number>();
  const ids = new Set<string>();
  const orphaned: string[] = [];
  let logged = 0;
  for (const item of items) {
    const marker = markerOf(item);
    if (marker === undefined) continue;
    logged++;
    ids.add(item.id);
    byMarker.set(marker, (byMarker.get(marker) ?? 0) + 1);
    if (!answered.has(item.id)) orphaned.push(item.id);
  }
  const lost = [...answered.keys()].filter((id) => !ids.has(id));
  const duplicated = [...answeredTwice, ...[...byMarker].filter(([, n]) => n > 1).map(([m]) => m)];
  return { answered: answered.size, logged, lost, duplicated, orphaned };
}
