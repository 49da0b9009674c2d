/**
 * The prediction log table and every command sent to it, in one place: the conditional record write
 * (predict, replay), the idempotency reservations (predict), the reads of one prediction and of an index
 * partition (query, feedback, quality) and the feedback update. Callers speak in records and ids; the
 * key names, conditions and the mapping of DynamoDB's refusals live here.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ApiError } from '../../contract/errors';
import {
  decodeRecord,
  encodeRecord,
  type Feedback,
  isPredictionItem,
  LOG_TABLE,
  type PredictionRecord,
  toAttributeValue,
} from '../../contract/prediction-log';
import type { IndexPartition } from './cursor';
import { storageUnavailable } from './storage-errors';

export type LogItem = Record<string, AttributeValue>;

/** A range of one index partition, newest first; the time bounds are inclusive. */
export interface PartitionQuery {
  readonly at: IndexPartition & { index: { readonly name: string } };
  readonly from?: string;
  readonly to?: string;
  /** Only items of this model version. */
  readonly version?: string;
  /** Attributes to read (all when unset). */
  readonly projection?: string;
  readonly limit: number;
  readonly startKey?: LogItem;
}

/** An idempotency reservation as stored. */
export interface IdempotencyItem {
  bodyHash: string;
  state: string;
  statusCode: number;
  body?: string;
  /** Headers of the stored answer that a replay gives again (IdempotencyOptions.replayHeaders). */
  headers?: Record<string, string>;
}

/**
 * The DynamoDB client of a function that reads or writes the prediction log, lean on the request path:
 * its middleware stack is resolved once per command type rather than at every call (`cacheMiddleware`),
 * and the logger middleware is left out — it runs every item through the schema's sensitive-data filter
 * for a logger these functions never set (the SDK's default logs nothing). About a sixth less CPU per
 * PutItem (bench/local).
 */
export function logTableClient(config: DynamoDBClientConfig): DynamoDBClient {
  const client = new DynamoDBClient({ ...config, cacheMiddleware: true });
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

export class PredictionLogStore {
  constructor(
    private readonly ddb: DynamoDBClient,
    readonly table: string,
  ) {}

  // ---- prediction records --------------------------------------------------------------------------

  /** One conditional write; an item already there (an earlier attempt landed) counts as written. */
  async putRecord(record: PredictionRecord): Promise<void> {
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: encodeRecord(record),
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': LOG_TABLE.partitionKey },
        }),
      );
    } catch (e) {
      if (isConditionFailure(e)) return;
      throw e;
    }
  }

  /**
   * A logged prediction as stored, or undefined when the id names none (idempotency records, which lack
   * the index key, are none). An unreachable table is the caller's 503.
   */
  async getPrediction(id: string, opts: { consistent?: boolean } = {}): Promise<LogItem | undefined> {
    const out = await this.ddb
      .send(new GetItemCommand({ TableName: this.table, Key: keyOf(id), ...(opts.consistent ? { ConsistentRead: true } : {}) }))
      .catch((e: unknown) => {
        throw storageUnavailable(e) ?? e;
      });
    return out.Item !== undefined && isPredictionItem(out.Item) ? out.Item : undefined;
  }

  /** One page of an index partition; a start key outside the range is the caller's INVALID_CURSOR. */
  async queryPartition(q: PartitionQuery): Promise<{ items: LogItem[]; lastKey?: LogItem }> {
    const input = partitionInput(this.table, q);
    try {
      const out = await this.ddb.send(new QueryCommand(input));
      return { items: out.Items ?? [], lastKey: out.LastEvaluatedKey };
    } catch (e) {
      // A cursor outside the requested time range is refused by DynamoDB itself.
      if ((e as { name?: string }).name === 'ValidationException' && q.startKey !== undefined) {
        throw new ApiError('INVALID_CURSOR', 'The cursor does not belong to this query; start again without it.', 'cursor');
      }
      throw storageUnavailable(e) ?? e;
    }
  }

  /**
   * Items of `model` created in [from, to], newest first, at most `maxItems` (the quality job's window).
   * DynamoDB's own errors pass through: the scheduled job fails and runs again.
   */
  async readWindow(model: string, from: Date, to: Date, maxItems: number): Promise<{ records: PredictionRecord[]; truncated: boolean }> {
    const ix = LOG_TABLE.byModelIndex;
    const records: PredictionRecord[] = [];
    let startKey: LogItem | undefined;
    do {
      const page = await this.ddb.send(
        new QueryCommand({
          TableName: this.table,
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

  /**
   * Sets the feedback of a prediction read as `current`. The write applies only to that state (no
   * feedback then, or the same one), so two concurrent replacements cannot lose a label; a replaced
   * feedback moves to `feedbackHistory`. Answers the record as it now is, or `changed` when the state
   * moved on in between.
   */
  async setFeedback(id: string, feedback: Feedback, current: LogItem): Promise<PredictionRecord | 'changed'> {
    const existing = current.feedback;
    const values: LogItem = { ':fb': toAttributeValue(feedback, 'feedback') };
    let update = 'SET feedback = :fb';
    let condition = 'attribute_exists(id) AND attribute_not_exists(feedback)';
    if (existing !== undefined) {
      update += ', feedbackHistory = list_append(if_not_exists(feedbackHistory, :none), :old)';
      condition = 'feedback.givenAt = :currentAt AND feedback.label = :currentLabel';
      Object.assign(values, {
        ':none': { L: [] },
        ':old': { L: [existing] },
        ':currentAt': existing.M?.givenAt ?? { NULL: true },
        ':currentLabel': existing.M?.label ?? { NULL: true },
      });
    }
    try {
      const out = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: keyOf(id),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return decodeRecord(out.Attributes ?? {});
    } catch (e) {
      if (isConditionFailure(e)) return 'changed';
      throw storageUnavailable(e) ?? e;
    }
  }

  // ---- idempotency reservations ----------------------------------------------------------------------

  /**
   * Reserves `id` for a request with body hash `hash` unless a reservation is there (a stale pending one,
   * started before `staleBefore`, is taken over). False when another holds it. Throws 503 when the table
   * cannot answer.
   */
  async reserveIdempotency(id: string, hash: string, now: number, staleBefore: number, expiresAt: number): Promise<boolean> {
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            id: { S: id },
            bodyHash: { S: hash },
            state: { S: 'pending' },
            startedAt: { N: String(now) },
            [LOG_TABLE.ttlAttribute]: { N: String(expiresAt) },
          },
          ConditionExpression: 'attribute_not_exists(#id) OR (#state = :pending AND startedAt < :stale)',
          ExpressionAttributeNames: { '#id': LOG_TABLE.partitionKey, '#state': 'state' },
          ExpressionAttributeValues: { ':pending': { S: 'pending' }, ':stale': { N: String(staleBefore) } },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw logUnavailable();
    }
  }

  async readIdempotency(id: string): Promise<IdempotencyItem | undefined> {
    let item: LogItem | undefined;
    try {
      item = (await this.ddb.send(new GetItemCommand({ TableName: this.table, Key: keyOf(id), ConsistentRead: true }))).Item;
    } catch {
      throw logUnavailable();
    }
    if (item === undefined) return undefined;
    return {
      bodyHash: item.bodyHash?.S ?? '',
      state: item.state?.S ?? '',
      statusCode: Number(item.statusCode?.N ?? 0),
      body: item.responseBody?.S,
      ...(item.responseHeaders?.M === undefined
        ? {}
        : { headers: Object.fromEntries(Object.entries(item.responseHeaders.M).map(([k, v]) => [k, v.S ?? ''])) }),
    };
  }

  async completeIdempotency(id: string, statusCode: number, body: string, headers: Record<string, string> = {}): Promise<void> {
    await this.ddb.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: keyOf(id),
        UpdateExpression: 'SET #state = :done, statusCode = :s, responseBody = :b, responseHeaders = :h',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':done': { S: 'done' },
          ':s': { N: String(statusCode) },
          ':b': { S: body },
          ':h': { M: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, { S: v }])) },
        },
      }),
    );
  }

  async releaseIdempotency(id: string): Promise<void> {
    await this.ddb.send(new DeleteItemCommand({ TableName: this.table, Key: keyOf(id) }));
  }
}

function keyOf(id: string): LogItem {
  return { [LOG_TABLE.partitionKey]: { S: id } };
}

function isConditionFailure(e: unknown): boolean {
  return (e as { name?: string }).name === 'ConditionalCheckFailedException';
}

function logUnavailable(): ApiError {
  return new ApiError('STORAGE_UNAVAILABLE', 'The prediction log is unavailable; retry shortly.');
}

/** Query of one index partition, newest first, optionally bounded in time (inclusive at both ends). */
function partitionInput(table: string, q: PartitionQuery): QueryCommandInput {
  const { at, from, to } = q;
  const values: LogItem = { ':m': { S: at.value } };
  let cond = '#m = :m';
  // The sort key is `<createdAt>#<id>`: '#' < '$', so `<to>$` is above every id at that instant.
  if (from !== undefined && to !== undefined) {
    cond += ' AND #c BETWEEN :from AND :to';
    values[':from'] = { S: from };
    values[':to'] = { S: `${to}$` };
  } else if (from !== undefined) {
    cond += ' AND #c >= :from';
    values[':from'] = { S: from };
  } else if (to !== undefined) {
    cond += ' AND #c <= :to';
    values[':to'] = { S: `${to}$` };
  }
  if (q.version !== undefined) values[':v'] = { S: q.version };
  return {
    TableName: table,
    IndexName: at.index.name,
    KeyConditionExpression: cond,
    ExpressionAttributeNames: {
      '#m': at.index.partitionKey,
      ...(from !== undefined || to !== undefined ? { '#c': at.index.sortKey } : {}),
    },
    ExpressionAttributeValues: values,
    ...(q.version !== undefined ? { FilterExpression: 'modelVersion = :v' } : {}),
    ...(q.projection !== undefined ? { ProjectionExpression: q.projection } : {}),
    ScanIndexForward: false,
    Limit: q.limit,
    ExclusiveStartKey: q.startKey,
  };
}
