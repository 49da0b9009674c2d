/**
 * `Idempotency-Key` for `POST /predict`, as a wrapper around the route (the way Powertools'
 * `makeIdempotent` wraps a function): the first request with a key reserves `idem#<apiKeyId>#<key>` in
 * the prediction table (the sparse index never lists it), and its answer is stored there, with the
 * headers that describe it (the model version that answered, which a split or a promotion may change
 * between two requests). A repeat with the same body gets that answer and runs nothing; a different body under the same key is 409. A failed
 * request releases its key, so the caller's retry runs for real; a reservation whose request died
 * mid-way can be taken over once it is stale.
 */

import { createHash } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError } from '../../contract/errors';
import { FORMATS, LIMITS } from '../../contract/limits';
import { LOG_TABLE } from '../../contract/prediction-log';
import { IDEMPOTENCY_HEADER } from '../../contract/routes';
import { bodyBytes, header, mediaType, type RequestContext } from '../http/api-handler';
import type { PredictionLogStore } from './prediction-log-store';

const KEY_PATTERN = FORMATS.idempotencyKey;
/** Answers are replayed for a day, like most payment APIs. */
const RETENTION_SECONDS = 24 * 3600;
/** A reservation older than this belongs to a request that cannot still be running (API Gateway gives up at 29 s). */
const STALE_MS = 60_000;

type Begin = { kind: 'new' } | { kind: 'replay'; statusCode: number; body: string; headers: Record<string, string> };

export interface IdempotencyOptions {
  readonly store: PredictionLogStore;
  /**
   * Headers of the route's answer stored with it and given again on a replay, besides its content type
   * (e.g. the model version that answered). @default - none
   */
  readonly replayHeaders?: readonly string[];
  /** @default Date.now */
  readonly clock?: () => number;
}

function checkIdempotencyKey(key: string): void {
  if (key.length === 0 || key.length > LIMITS.maxIdempotencyKeyLength || !KEY_PATTERN.test(key)) {
    throw new ApiError(
      'INVALID_HEADER',
      `Idempotency-Key must be 1-${LIMITS.maxIdempotencyKeyLength} printable ASCII characters without spaces.`,
      'Idempotency-Key',
    );
  }
}

function bodyHash(contentType: string, body: Buffer): string {
  return createHash('sha256').update(contentType).update('\n').update(body).digest('base64url');
}

function idempotencyItemId(apiKeyId: string, key: string): string {
  return `${LOG_TABLE.idempotencyPrefix}${apiKeyId}#${key}`;
}

/** A route given what was parsed from its request before the key is looked at (so a bad body reserves nothing). */
export type ParsedRoute<A> = (event: APIGatewayProxyEvent, ctx: RequestContext, parsed: A) => Promise<APIGatewayProxyResult>;

/**
 * The route, made idempotent for requests that carry an Idempotency-Key: its answer is stored and
 * replayed; an error releases the key. Requests without the header run the route as they are.
 */
export function withIdempotency<A>(route: ParsedRoute<A>, opts: IdempotencyOptions): ParsedRoute<A> {
  const clock = opts.clock ?? Date.now;
  return async (event, ctx, parsed) => {
    const key = header(event, IDEMPOTENCY_HEADER);
    if (key === undefined) return route(event, ctx, parsed);
    checkIdempotencyKey(key);
    const id = idempotencyItemId(event.requestContext?.identity?.apiKeyId ?? 'anonymous', key);
    const begun = await begin(opts.store, id, requestHash(event), clock());
    if (begun.kind === 'replay') {
      ctx.log.info('idempotent replay');
      return {
        statusCode: begun.statusCode,
        headers: { 'content-type': 'application/json', ...begun.headers, 'idempotent-replay': 'true' },
        body: begun.body,
      };
    }
    let result: APIGatewayProxyResult;
    try {
      result = await route(event, ctx, parsed);
    } catch (e) {
      await opts.store.releaseIdempotency(id).catch((err) => ctx.log.warn('idempotency record not released', { error: err }));
      throw e;
    }
    await opts.store
      .completeIdempotency(id, result.statusCode, result.body, kept(result, opts.replayHeaders ?? []))
      .catch((e) => ctx.log.warn('idempotency record not completed', { error: e }));
    return result;
  };
}

/** The answer's headers named in `names` (matched without regard to case), as the answer spelled them. */
function kept(result: APIGatewayProxyResult, names: readonly string[]): Record<string, string> {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  return Object.fromEntries(
    Object.entries(result.headers ?? {})
      .filter(([name]) => wanted.has(name.toLowerCase()))
      .map(([name, value]) => [name, String(value)]),
  );
}

function requestHash(event: APIGatewayProxyEvent): string {
  return bodyHash(mediaType(event) ?? 'application/json', bodyBytes(event));
}

/** Reserves the key, or answers the stored response of an earlier request with the same body. */
async function begin(store: PredictionLogStore, id: string, hash: string, now: number): Promise<Begin> {
  const expiresAt = Math.floor(now / 1000) + RETENTION_SECONDS;
  if (await store.reserveIdempotency(id, hash, now, now - STALE_MS, expiresAt)) return { kind: 'new' };
  const existing = await store.readIdempotency(id);
  if (existing === undefined) return begin(store, id, hash, now); // expired between the two calls
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
  return { kind: 'replay', statusCode: existing.statusCode, body: existing.body, headers: existing.headers ?? {} };
}
