/**
 * Read side of the prediction log: `GET /predictions` (newest first, cursor pages, version and time
 * filters), `GET /predictions/{id}` and `GET /metrics/summary` — windows up to 24 h from the log's index,
 * longer ones from the analytics store (Athena on AWS, DuckDB locally: the same SQL either way).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { partitionDate } from '../../contract/analytics';
import { summarySql, versionQualitySql } from '../../contract/analytics-queries';
import { ENV } from '../../contract/env';
import { ApiError } from '../../contract/errors';
import { FORMATS, LIMITS } from '../../contract/limits';
import type { ModelManifest } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import {
  callerModelOf,
  decodeRecord,
  LOG_TABLE,
  type PredictionPage,
  type PredictionRecord,
  withoutShadow,
} from '../../contract/prediction-log';
import { summaryWindowMs } from '../../contract/route-schemas';
import { athenaEngineOf } from '../analytics/athena-engine';
import { type AnalyticsEngine, cachedAnalyticsEngine } from '../analytics/engine';
import { apiHandler, json, type RequestContext } from '../http/api-handler';
import { type Caller, callerOf, maySee, operatorKeyIds } from '../http/tenancy';
import { decodeCursor, encodeCursor } from '../log/cursor';
import { type LogItem, logTableClient, type PartitionQuery, PredictionLogStore } from '../log/prediction-log-store';
import {
  analyticsVersions,
  MAX_LOG_WINDOW_MS,
  SUMMARY_PROJECTION,
  type SummaryRecord,
  summarize,
  summarizeAnalytics,
} from '../log/summary';
import { dynamoOptions } from '../runtime/clients';
import { readConfig, required } from '../runtime/config';
import { createLogger, type Logger } from '../runtime/logger';

export interface QueryDeps {
  readonly manifest: ModelManifest;
  readonly log: PredictionLogStore;
  /** Ids of the operator keys (every caller's predictions and the metrics). */
  readonly operatorKeyIds: ReadonlySet<string>;
  /** The store of windows over 24 h; undefined on a deployment without it. */
  readonly analytics?: AnalyticsEngine;
  /** @default - a logger of the query function */
  readonly logger?: Logger;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

/** The query function's dependencies as the CDK configures it: config from `env`, DynamoDB and Athena clients. */
export function queryDepsFromEnv(env: NodeJS.ProcessEnv, baseDir: string): QueryDeps {
  const config = readConfig('query', env);
  return {
    manifest: readManifestFile(required(config, ENV.MODEL_MANIFEST_PATH), baseDir),
    log: new PredictionLogStore(logTableClient(dynamoOptions(env)), required(config, ENV.PREDICTION_TABLE)),
    operatorKeyIds: operatorKeyIds(required(config, ENV.OPERATOR_KEY_IDS)),
    analytics: athenaEngineOf(config),
  };
}

type Partition = PartitionQuery['at'];

/** Items a summary reads at most (10 pages of 1,000): bounds its time and read cost. */
const SUMMARY_MAX_ITEMS = 10_000;
const SUMMARY_PAGE = 1_000;
/** Rounds of a filtered list query before answering a short page with a cursor. */
const LIST_MAX_ROUNDS = 10;

export function createQueryHandler(deps: QueryDeps) {
  const { manifest, log: store, operatorKeyIds: operators } = deps;
  const clock = deps.clock ?? (() => new Date());
  // The dashboard asks for the same long window every 10 s: a minute-old answer saves the other five queries.
  const analytics = deps.analytics === undefined ? undefined : cachedAnalyticsEngine(deps.analytics, LIMITS.analyticsAnswerCacheMs);
  const logger = deps.logger ?? createLogger('query', { model: manifest.name });

  async function listPredictions(event: APIGatewayProxyEvent, ctx: RequestContext<'listPredictions'>): Promise<APIGatewayProxyResult> {
    const caller = callerOf(event, operators);
    const { limit, cursor, version, from, to } = ctx.query;

    // Operators read the model's index; a client key reads its own partition of the caller index.
    const at = partitionFor(caller);
    let startKey = cursor === undefined ? undefined : decodeCursor(cursor, at);
    const items: LogItem[] = [];
    // One item more than the page: a cursor is given only when a next item exists, so the last page has
    // none (DynamoDB alone returns a LastEvaluatedKey whenever it stops at the Limit, even at the end).
    // A version filter may leave a round short: read on until the page is full or the index is exhausted.
    for (let round = 0; round < LIST_MAX_ROUNDS && items.length <= limit; round++) {
      const out = await store.queryPartition({ at, from, to, version, limit: limit + 1, startKey });
      items.push(...out.items);
      startKey = out.lastKey;
      if (startKey === undefined) break;
    }
    let cursorKey = startKey;
    if (items.length > limit) {
      items.length = limit;
      cursorKey = items[limit - 1];
    }
    const page: PredictionPage = {
      items: items.map((it) => visibleTo(caller, decodeRecord(it))),
      ...(cursorKey !== undefined ? { cursor: encodeCursor(cursorKey, at) } : {}),
    };
    return json(200, page);
  }

  function partitionFor(caller: Caller): Partition {
    return caller.operator
      ? { index: LOG_TABLE.byModelIndex, value: manifest.name }
      : { index: LOG_TABLE.byCallerIndex, value: callerModelOf(caller.apiKeyId, manifest.name) };
  }

  async function getPrediction(event: APIGatewayProxyEvent, ctx: RequestContext<'getPrediction'>): Promise<APIGatewayProxyResult> {
    const caller = callerOf(event, operators);
    // A prediction id: never an idempotency record's key (`idem#…`).
    const { id } = ctx.params;
    const item = await store.getPrediction(id);
    // Another caller's prediction is "not found" too: its existence is not this caller's business. So is,
    // for a client key, a shadow prediction an earlier release logged as an item of its own (see visibleTo).
    const hidden = item !== undefined && !caller.operator && item.shadowOf !== undefined;
    if (item === undefined || hidden || !maySee(caller, item.apiKeyId?.S)) throw new ApiError('NOT_FOUND', `No prediction ${id}.`, 'id');
    return json(200, visibleTo(caller, decodeRecord(item)));
  }

  /**
   * A record as `caller` may read it: a client key was answered by one version and does not see the
   * prediction another version made in its shadow; operators compare versions and see it.
   */
  function visibleTo(caller: Caller, r: PredictionRecord): PredictionRecord {
    return caller.operator ? r : withoutShadow(r);
  }

  async function metricsSummary(event: APIGatewayProxyEvent, ctx: RequestContext<'metricsSummary'>): Promise<APIGatewayProxyResult> {
    if (!callerOf(event, operators).operator)
      throw new ApiError('FORBIDDEN', 'The metrics are for operator keys; this key reads its own predictions only.');
    const { window } = ctx.query;
    const ms = summaryWindowMs(window);
    if (ms > MAX_LOG_WINDOW_MS) return analyticsSummary(window, ms, ctx);
    const to = clock();
    const from = new Date(to.getTime() - ms);
    const at: Partition = { index: LOG_TABLE.byModelIndex, value: manifest.name };
    const records: SummaryRecord[] = [];
    let startKey: LogItem | undefined;
    do {
      const out = await store.queryPartition({
        at,
        from: from.toISOString(),
        to: to.toISOString(),
        projection: SUMMARY_PROJECTION,
        limit: Math.min(SUMMARY_PAGE, SUMMARY_MAX_ITEMS - records.length),
        startKey,
      });
      for (const it of out.items) records.push(decodeRecord(it));
      startKey = out.lastKey;
    } while (startKey !== undefined && records.length < SUMMARY_MAX_ITEMS);
    return json(
      200,
      summarize(
        records,
        {
          model: manifest.name,
          window,
          from: from.toISOString(),
          to: to.toISOString(),
          truncated: startKey !== undefined,
        },
        manifest,
      ),
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
    const to = clock();
    const since = partitionDate(new Date(to.getTime() - ms));
    const started = Date.now();
    const [rows, versionRows] = await Promise.all([
      analytics.run(summarySql(manifest), since, ctx.deadline),
      analytics.run(versionQualitySql(manifest), since, ctx.deadline),
    ]);
    ctx.log.info('analytics summary', { engine: analytics.name, window, since, rows: rows.length, ms: Date.now() - started });
    const meta = { model: manifest.name, window, from: `${since}T00:00:00.000Z`, to: to.toISOString() };
    return json(200, summarizeAnalytics(rows, meta, analyticsVersions(versionRows, manifest)));
  }

  return apiHandler('query', logger, { listPredictions, getPrediction, metricsSummary });
}
