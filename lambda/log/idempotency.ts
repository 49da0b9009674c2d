/**
 * `Idempotency-Key` for `POST /predict`: the first request with a key reserves `idem#<apiKeyId>#<key>`
 * in the prediction table (the sparse index never lists it), and its answer is stored there. A repeat
 * with the same body gets that answer and logs nothing; a different body under the same key is 409.
 * A reservation whose request died mid-way can be taken over once it is stale.
 */

import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ApiError } from '../../contract/errors';
import { FORMATS, LIMITS } from '../../contract/limits';
import { LOG_TABLE } from '../../contract/prediction-log';

const KEY_PATTERN = FORMATS.idempotencyKey;
/** Answers are replayed for a day, like most payment APIs. */
const RETENTION_SECONDS = 24 * 3600;
/** A reservation older than this belongs to a request that cannot still be running (API Gateway gives up at 29 s). */
const STALE_MS = 60_000;

export type Begin = { kind: 'new' } | { kind: 'replay'; statusCode: number; body: string };

export function checkIdempotencyKey(key: string): void {
  if (key.length === 0 || key.length > LIMITS.maxIdempotencyKeyLength || !KEY_PATTERN.test(key)) {
    throw new ApiError(
      'INVALID_HEADER',
      `Idempotency-Key must be 1-${LIMITS.maxIdempotencyKeyLength} printable ASCII characters without spaces.`,
      'Idempotency-Key',
    );
  }
}

export function bodyHash(contentType: string, body: Buffer): string {
  return createHash('sha256').update(contentType).update('\n').update(body).digest('base64url');
}

export class IdempotencyStore {
  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly table: string,
  ) {}

  itemId(apiKeyId: string, key: string): string {
    return `${LOG_TABLE.idempotencyPrefix}${apiKeyId}#${key}`;
  }

  async begin(id: string, hash: string, now = Date.now()): Promise<Begin> {
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            id: { S: id },
            bodyHash: { S: hash },
            state: { S: 'pending' },
            startedAt: { N: String(now) },
            [LOG_TABLE.ttlAttribute]: { N: String(Math.floor(now / 1000) + RETENTION_SECONDS) },
          },
          ConditionExpression: 'attribute_not_exists(#id) OR (#state = :pending AND startedAt < :stale)',
          ExpressionAttributeNames: { '#id': LOG_TABLE.partitionKey, '#state': 'state' },
          ExpressionAttributeValues: { ':pending': { S: 'pending' }, ':stale': { N: String(now - STALE_MS) } },
        }),
      );
      return { kind: 'new' };
    } catch (e) {
      if ((e as { name?: string }).name !== 'ConditionalCheckFailedException') throw storageError();
    }
    const existing = await this.read(id);
    if (existing === undefined) return this.begin(id, hash, now); // expired between the two calls
    if (existing.bodyHash !== hash) {
      throw new ApiError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used with a different request body.', 'Idempotency-Key');
    }
    if (existing.state !== 'done' || existing.body === undefined) {
      throw new ApiError(
        'IDEMPOTENCY_CONFLICT',
        'A request with this Idempotency-Key is still in progress; retry shortly.',
        'Idempotency-Key',
      );
    }
    return { kind: 'replay', statusCode: existing.statusCode, body: existing.body };
  }

  async complete(id: string, statusCode: number, body: string): Promise<void> {
    await this.ddb.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { id: { S: id } },
        UpdateExpression: 'SET #state = :done, statusCode = :s, responseBody = :b',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':done': { S: 'done' }, ':s': { N: String(statusCode) }, ':b': { S: body } },
      }),
    );
  }

  /** Frees the key after a failed request, so the caller's retry runs for real. */
  async abandon(id: string): Promise<void> {
    await this.ddb.send(new DeleteItemCommand({ TableName: this.table, Key: { id: { S: id } } }));
  }

  private async read(id: string): Promise<{ bodyHash: string; state: string; statusCode: number; body?: string } | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      item = (await this.ddb.send(new GetItemCommand({ TableName: this.table, Key: { id: { S: id } }, ConsistentRead: true }))).Item;
    } catch {
      throw storageError();
    }
    if (item === undefined) return undefined;
    return {
      bodyHash: item.bodyHash?.S ?? '',
      state: item.state?.S ?? '',
      statusCode: Number(item.statusCode?.N ?? 0),
      body: item.responseBody?.S,
    };
  }
}

function storageError(): ApiError {
  return new ApiError('STORAGE_UNAVAILABLE', 'The prediction log is unavailable; retry shortly.');
}
