/**
 * Opaque page cursors: base64url of the index's LastEvaluatedKey. A cursor coming back is checked
 * strictly (shape, model, key format) so a tampered one is a 400, never a DynamoDB error.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ApiError } from '../../contract/errors';
import { LOG_TABLE } from '../../contract/prediction-log';
import { PREDICTION_ID } from './ids';

type Key = Record<string, AttributeValue>;
const ix = LOG_TABLE.byModelIndex;
const CREATED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9A-HJKMNP-TV-Z]{26}$/;

export function encodeCursor(key: Key): string {
  const plain = { i: key[LOG_TABLE.partitionKey]?.S, m: key[ix.partitionKey]?.S, c: key[ix.sortKey]?.S };
  return Buffer.from(JSON.stringify(plain)).toString('base64url');
}

export function decodeCursor(cursor: string, model: string): Key {
  const bad = () => new ApiError('INVALID_CURSOR', 'The cursor is not one this API issued; start again without it.', 'cursor');
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let plain: unknown;
  try {
    plain = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const p = plain as { i?: unknown; m?: unknown; c?: unknown };
  if (typeof p !== 'object' || p === null || Object.keys(p).length !== 3) throw bad();
  if (typeof p.i !== 'string' || !PREDICTION_ID.test(p.i) || p.m !== model || typeof p.c !== 'string' || !CREATED_AT.test(p.c) || !p.c.endsWith(`#${p.i}`)) {
    throw bad();
  }
  return { [LOG_TABLE.partitionKey]: { S: p.i }, [ix.partitionKey]: { S: p.m }, [ix.sortKey]: { S: p.c } };
}
