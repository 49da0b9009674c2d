/**
 * The analytics engine on AWS: Athena in the stack's workgroup (which enforces the encrypted result
 * location and the per-query scan limit). StartQueryExecution with the day as an execution parameter for
 * every `?`, GetQueryExecution until the query is done (waits growing from 100 ms to 1 s), then
 * GetQueryResults page by page. A query still running when the caller's deadline nears is stopped and
 * answered 504; a failed or refused one 503, with Athena's reason.
 */
import type { AthenaClient } from '@aws-sdk/client-athena';
import { parameterCount } from '../../contract/analytics-queries';
import { ANALYTICS_OFF, ENV } from '../../contract/env';
import { ApiError } from '../../contract/errors';
import { LIMITS } from '../../contract/limits';
import { type FunctionConfig, required } from '../runtime/config';
import type { AnalyticsEngine, AnalyticsRow } from './engine';

type AthenaModule = typeof import('@aws-sdk/client-athena');
/** What the engine needs of a client: `send` (a test hands in a recording stand-in). */
export type AthenaSender = Pick<AthenaClient, 'send'>;

export interface AthenaEngineOptions {
  readonly workgroup: string;
  readonly database: string;
  /** @default - an AthenaClient built on first use */
  readonly client?: AthenaSender;
  /** @default LIMITS.analyticsPollFirstMs / analyticsPollMaxMs / analyticsAnswerMarginMs */
  readonly pollFirstMs?: number;
  readonly pollMaxMs?: number;
  readonly answerMarginMs?: number;
}

/**
 * The query function's engine on AWS: Athena in the workgroup and database the environment names, or
 * undefined when both say `off` (no analytics store deployed).
 */
export function athenaEngineOf(config: FunctionConfig): AnalyticsEngine | undefined {
  const workgroup = required(config, ENV.ANALYTICS_WORKGROUP);
  const database = required(config, ENV.ANALYTICS_DATABASE);
  if ((workgroup === ANALYTICS_OFF) !== (database === ANALYTICS_OFF))
    throw new Error(`${ENV.ANALYTICS_WORKGROUP} and ${ENV.ANALYTICS_DATABASE} must both name the store or both be "${ANALYTICS_OFF}"`);
  return workgroup === ANALYTICS_OFF ? undefined : athenaEngine({ workgroup, database });
}

/** Rows of a GetQueryResults page asked for at once (Athena's maximum). */
const PAGE_ROWS = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function athenaEngine(opts: AthenaEngineOptions): AnalyticsEngine {
  // The SDK module is loaded on first use: a chunk of its own, off the cold path of the log-only routes.
  let handle: Promise<{ sdk: AthenaModule; client: AthenaSender }> | undefined;
  const athena = () =>
    (handle ??= import('@aws-sdk/client-athena').then((sdk) => ({ sdk, client: opts.client ?? new sdk.AthenaClient({}) })));
  const pollFirst = opts.pollFirstMs ?? LIMITS.analyticsPollFirstMs;
  const pollMax = opts.pollMaxMs ?? LIMITS.analyticsPollMaxMs;
  const margin = opts.answerMarginMs ?? LIMITS.analyticsAnswerMarginMs;

  const call = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof ApiError) throw e;
      const name = (e as { name?: string }).name ?? 'Error';
      throw new ApiError('ANALYTICS_UNAVAILABLE', `The analytics store could not be queried (Athena ${what}: ${name}).`);
    }
  };

  return {
    name: 'athena',
    async run(sql, since, deadline) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(since)) throw new Error(`since must be a day (yyyy-mm-dd), got "${since}"`);
      const { sdk, client } = await call('client', athena);
      const params = new Array<string>(parameterCount(sql)).fill(`'${since}'`);
      const started = await call('StartQueryExecution', () =>
        client.send(
          new sdk.StartQueryExecutionCommand({
            QueryString: sql,
            WorkGroup: opts.workgroup,
            QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: opts.database },
            ...(params.length > 0 ? { ExecutionParameters: params } : {}),
          }),
        ),
      );
      const id = started.QueryExecutionId;
      if (id === undefined) throw new ApiError('ANALYTICS_UNAVAILABLE', 'Athena started no query execution.');

      let wait = pollFirst;
      for (;;) {
        const state = await call('GetQueryExecution', () => client.send(new sdk.GetQueryExecutionCommand({ QueryExecutionId: id })));
        const status = state.QueryExecution?.Status;
        if (status?.State === 'SUCCEEDED') break;
        if (status?.State === 'FAILED' || status?.State === 'CANCELLED') {
          const reason = (status.AthenaError?.ErrorMessage ?? status.StateChangeReason ?? status.State).slice(0, 300);
          throw new ApiError('ANALYTICS_UNAVAILABLE', `The analytics query ${status.State.toLowerCase()}: ${reason}`);
        }
        if (Date.now() + wait > deadline - margin) {
          // Stopped so it scans (and bills) no further; the answer does not wait for the stop.
          await client.send(new sdk.StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
          throw new ApiError(
            'ANALYTICS_TIMEOUT',
            'The analytics query did not finish in time and was stopped; try a shorter window.',
            'window',
          );
        }
        await sleep(wait);
        wait = Math.min(pollMax, Math.ceil(wait * 1.5));
      }

      const rows: AnalyticsRow[] = [];
      let columns: string[] | undefined;
      let token: string | undefined;
      do {
        const page = await call('GetQueryResults', () =>
          client.send(new sdk.GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: PAGE_ROWS })),
        );
        const data = page.ResultSet?.Rows ?? [];
        let first = 0;
        if (columns === undefined) {
          columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
          // A SELECT's first page starts with the column names as a row.
          first = 1;
        }
        for (let i = first; i < data.length; i++) {
          const cells = data[i]?.Data ?? [];
          rows.push(Object.fromEntries(columns.map((c, j) => [c, cells[j]?.VarCharValue ?? null])));
        }
        token = page.NextToken;
      } while (token !== undefined);
      return rows;
    },
  };
}
