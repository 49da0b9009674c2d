/**
 * Read side of the prediction log: `GET /predictions` (newest first, cursor pages, version and time
 * filters), `GET /predictions/{id}` and `GET /metrics/summary` — windows up to 24 h from the log's index,
 * longer ones from the analytics store (Athena on AWS, DuckDB locally: the same SQL either way).
 */
import { type AttributeValue, DynamoDBClient, GetItemCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { partitionDate } from '../contract/analytics';
import { summarySql } from '../contract/analytics-queries';
import { ENV } from '../contract/env';
import { ApiError } from '../contract/errors';
import { FORMATS, LIMITS } from '../contract/limits';
import { readManifestFile } from '../contract/model-files';
import { callerModelOf, decodeRecord, LOG_TABLE, type PredictionPage, type PredictionRecord } from '../contract/prediction-log';
import { analyticsEngineOf, cachedAnalyticsEngine } from './analytics/engine';
import { apiHandler, json, type RequestContext } from './http/api-handler';
import { type Caller, callerOf, maySee, operatorKeyIds } from './http/tenancy';
import { decodeCursor, encodeCursor, type IndexPartition } from './log/cursor';
import { isPredictionId } from './log/ids';
import { storageUnavailable } from './log/storage-errors';
import { MAX_LOG_WINDOW_MS, parseWindow, summarize, summarizeAnalytics } from './log/summary';
import { dynamoOptions } from './runtime/clients';
import { readConfig, required } from './runtime/config';
import { createLogger } from './runtime/logger';

const config = readConfig('query');
const manifest = readManifestFile(required(config, ENV.MODEL_MANIFEST_PATH), __dirname);
const table = required(config, ENV.PREDICTION_TABLE);
const operators = operatorKeyIds(required(config, ENV.OPERATOR_KEY_IDS));
const ddb = new DynamoDBClient(dynamoOptions());
/** Undefined on a deployment without the analytics store. */
const engine = analyticsEngineOf(config);
// The dashboard asks for the same long window every 10 s: a minute-old answer saves the other five queries.
const analytics = engine === undefined ? undefined : cachedAnalyticsEngine(engine, LIMITS.analyticsAnswerCacheMs);
const log = createLogger('query', { model: manifest.name });
const ix = LOG_TABLE.byModelIndex;

/** Items a summary reads at most (10 pages of 1,000): bounds its time and read cost. */
const SUMMARY_MAX_ITEMS = 10_000;
const SUMMARY_PAGE = 1_000;
/** Rounds of a filtered list query before answering a short page with a cursor. */
const LIST_MAX_ROUNDS = 10;

export const handler = apiHandler('query', log, { listPredictions, getPrediction, metricsSummary });

async function listPredictions(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const caller = callerOf(event, operators);
  const q = event.queryStringParameters ?? {};
  const limit = pageSize(q.limit);
  const version = q.version;
  if (version !== undefined && (version.length === 0 || version.length > FORMATS.maxVersionLength))
    throw new ApiError('INVALID_QUERY', `version must be 1-${FORMATS.maxVersionLength} characters.`, 'version');
  const from = q.from === undefined ? undefined : isoTime(q.from, 'from');
  const to = q.to === undefined ? undefined : isoTime(q.to, 'to');
  if (from !== undefined && to !== undefined && from > to) throw new ApiError('INVALID_QUERY', '"from" is after "to".', 'from');

  // Operators read the model's index; a client key reads its own partition of the caller index.
  const at = partitionFor(caller);
  const input = keyCondition(at, from, to);
  if (version !== undefined) {
    input.FilterExpression = 'modelVersion = :v';
    input.ExpressionAttributeValues = { ...input.ExpressionAttributeValues, ':v': { S: version } };
  }
  let startKey = q.cursor === undefined ? undefined : decodeCursor(q.cursor, at);
  const items: Record<string, AttributeValue>[] = [];
  // One item more than the page: a cursor is given only when a next item exists, so the last page has
  // none (DynamoDB alone returns a LastEvaluatedKey whenever it stops at the Limit, even at the end).
  // A version filter may leave a round short: read on until the page is full or the index is exhausted.
  for (let round = 0; round < LIST_MAX_ROUNDS && items.length <= limit; round++) {
    const out = await query({ ...input, Limit: limit + 1, ExclusiveStartKey: startKey });
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
    if (startKey === undefined) break;
  }
  let cursorKey = startKey;
  if (items.length > limit) {
    items.length = limit;
    cursorKey = items[limit - 1];
  }
  const page: PredictionPage = {
    items: items.map(decodeRecord),
    ...(cursorKey !== undefined ? { cursor: encodeCursor(cursorKey, at) } : {}),
  };
  return json(200, page);
}

function partitionFor(caller: Caller): IndexPartition {
  return caller.operator
    ? { index: LOG_TABLE.byModelIndex, value: manifest.name }
    : { index: LOG_TABLE.byCallerIndex, value: callerModelOf(caller.apiKeyId, manifest.name) };
}

async function getPrediction(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const caller = callerOf(event, operators);
  const id = event.pathParameters?.id ?? '';
  // Rejects idempotency records (`idem#…`) and anything else that is not a prediction id.
  if (!isPredictionId(id)) throw new ApiError('INVALID_ID', 'Not a prediction id (26 characters of Crockford base32).', 'id');
  const out = await ddb.send(new GetItemCommand({ TableName: table, Key: { [LOG_TABLE.partitionKey]: { S: id } } })).catch((e: unknown) => {
    throw storageUnavailable(e) ?? e;
  });
  // Another caller's prediction is "not found" too: its existence is not this caller's business.
  if (out.Item === undefined || out.Item[ix.partitionKey] === undefined || !maySee(caller, out.Item.apiKeyId?.S))
    throw new ApiError('NOT_FOUND', `No prediction ${id}.`, 'id');
  return json(200, decodeRecord(out.Item));
}

async function metricsSummary(event: APIGatewayProxyEvent, ctx: RequestContext): Promise<APIGatewayProxyResult> {
  if (!callerOf(event, operators).operator)
    throw new ApiError('FORBIDDEN', 'The metrics are for operator keys; this key reads its own predictions only.');
  const window = event.queryStringParameters?.window ?? '24h';
  const ms = parseWindow(window);
  if (ms === undefined)
    throw new ApiError('INVALID_QUERY', `window must look like 15m, 1h, 24h or 7d (at most ${FORMATS.maxSummaryWindowDays}d).`, 'window');
  if (ms > MAX_LOG_WINDOW_MS) return analyticsSummary(window, ms, ctx);
  const to = new Date();
  const from = new Date(to.getTime() - ms);
  const input = keyCondition({ index: ix, value: manifest.name }, from.toISOString(), to.toISOString());
  input.ProjectionExpression = 'label, latencyMs, feedback';
  const records: Pick<PredictionRecord, 'label' | 'latencyMs' | 'feedback'>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const out = await query({ ...input, Limit: Math.min(SUMMARY_PAGE, SUMMARY_MAX_ITEMS - records.length), ExclusiveStartKey: startKey });
    for (const it of out.Items ?? []) records.push(decodeRecord(it));
    startKey = out.LastEvaluatedKey;
  } while (startKey !== undefined && records.length < SUMMARY_MAX_ITEMS);
  return json(
    200,
    summarize(records, { model: manifest.name, window, from: from.toISOString(), to: to.toISOString(), truncated: startKey !== undefined }),
  );
}

/**
 * A window over 24 h, from the analytics store: whole UTC days from the window's first day on (the
 * store is partitioned by day), each prediction counted once however often the stream delivered it.
 */
async function analyticsSummary(window: string, ms: number, ctx: RequestContext): Promise<APIGatewayProxyResult> {
  if (analytics === undefined) {
    throw new ApiError(
      'ANALYTICS_OFF',
      `Windows over ${FORMATS.maxLogSummaryWindowHours}h are answered from the analytics store, which this deployment leaves out (analytics=false); ask for ${FORMATS.maxLogSummaryWindowHours}h or less.`,
      'window',
    );
  }
  const to = new Date();
  const since = partitionDate(new Date(to.getTime() - ms));
  const started = Date.now();
  const rows = await analytics.run(summarySql(manifest), since, ctx.deadline);
  ctx.log.info('analytics summary', { engine: analytics.name, window, since, rows: rows.length, ms: Date.now() - started });
  return json(200, summarizeAnalytics(rows, { model: manifest.name, window, from: `${since}T00:00:00.000Z`, to: to.toISOString() }));
}

/** Query of one index partition, newest first, optionally bounded in time (inclusive at both ends). */
function keyCondition(at: IndexPartition, from: string | undefined, to: string | undefined): QueryCommandInput {
  const values: Record<string, AttributeValue> = { ':m': { S: at.value } };
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
  return {
    TableName: table,
    IndexName: at.index === ix ? ix.name : LOG_TABLE.byCallerIndex.name,
    KeyConditionExpression: cond,
    ExpressionAttributeNames: {
      '#m': at.index.partitionKey,
      ...(from !== undefined || to !== undefined ? { '#c': at.index.sortKey } : {}),
    },
    ExpressionAttributeValues: values,
    ScanIndexForward: false,
  };
}

async function query(input: QueryCommandInput) {
  try {
    return await ddb.send(new QueryCommand(input));
  } catch (e) {
    // A cursor outside the requested time range is refused by DynamoDB itself.
    if ((e as { name?: string }).name === 'ValidationException' && input.ExclusiveStartKey !== undefined) {
      throw new ApiError('INVALID_CURSOR', 'The cursor does not belong to this query; start again without it.', 'cursor');
    }
    throw storageUnavailable(e) ?? e;
  }
}

function pageSize(raw: string | undefined): number {
  if (raw === undefined) return LIMITS.defaultPageSize;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > LIMITS.maxPageSize) {
    throw new ApiError('INVALID_QUERY', `limit must be an integer from 1 to ${LIMITS.maxPageSize}.`, 'limit');
  }
  return Number(raw);
}

/** An ISO 8601 time with a zone, normalized to the form the log's keys use. */
function isoTime(raw: string, field: string): string {
  const t = FORMATS.isoTime.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(t)) throw new ApiError('INVALID_QUERY', `${field} must be an ISO 8601 time such as 2025-01-31T12:00:00Z.`, field);
  return new Date(t).toISOString();
}
