/**
 * Opaque page cursors: base64url of the position in an index (table key, index partition and sort key).
 * A cursor coming back is checked strictly (shape, partition, key format) so a tampered one — or one
 * issued to another caller — is a 400, never a DynamoDB error or a look at someone else's page.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ApiError } from '../../contract/errors';
import { LOG_TABLE } from '../../contract/prediction-log';
import { PREDICTION_ID } from './ids';

type Key = Record<string, AttributeValue>;
const CREATED_AT_ID = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9A-HJKMNP-TV-Z]{26}$/;

/** An index of the log as the list route reads it: which one, and the partition it reads. */
export interface IndexPartition {
  index: { readonly partitionKey: string; readonly sortKey: string };
  value: string;
}

export function encodeCursor(key: Key, at: IndexPartition): string {
  const plain = { i: key[LOG_TABLE.partitionKey]?.S, p: key[at.index.partitionKey]?.S, c: key[at.index.sortKey]?.S };
  return Buffer.from(JSON.stringify(plain)).toString('base64url');
}

export function decodeCursor(cursor: string, at: IndexPartition): Key {
  const bad = () => new ApiError('INVALID_CURSOR', 'The cursor is not one this API issued; start again without it.', 'cursor');
  if (cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let plain: unknown;
  try {
    plain = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const p = plain as { i?: unknown; p?: unknown; c?: unknown };
  if (typeof p !== 'object' || p === null || Object.keys(p).length !== 3) throw bad();
  if (
    typeof p.i !== 'string' ||
    !PREDICTION_ID.test(p.i) ||
    p.p !== at.value ||
    typeof p.c !== 'string' ||
    !CREATED_AT_ID.test(p.c) ||
    !p.c.endsWith(`#${p.i}`)
  ) {
    throw bad();
  }
  return { [LOG_TABLE.partitionKey]: { S: p.i }, [at.index.partitionKey]: { S: p.p }, [at.index.sortKey]: { S: p.c } };
}
