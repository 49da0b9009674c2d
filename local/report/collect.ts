/**
 * What `mlship report` reads: the model (`GET /model`, with its baseline), the summary of the window
 * (`GET /metrics/summary`), the window's logged predictions (`GET /predictions`, newest first) and the
 * named analytics queries that apply to the model. The source is given as two functions, so the report
 * works against whatever answers the API (the local system, a deployed stack) and its analytics store.
 */

import { type NamedQuery, namedQueriesFor } from '../../contract/analytics-queries';
import type { ModelBaseline } from '../../contract/baseline';
import { errorMessage } from '../../contract/errors';
import type { ModelManifest } from '../../contract/manifest';
import type { MetricsSummary, PredictionPage, PredictionRecord } from '../../contract/prediction-log';
import { PARAMETERS, summaryWindowMs } from '../../contract/route-schemas';
import { type VersionReport, versionReports } from './versions';

export interface ReportSource {
  getJson<T>(path: string): Promise<T>;
  /** Runs a named analytics query from `since` (yyyy-mm-dd); undefined when the target has no analytics store to ask. */
  named?: (name: NamedQuery, since: string) => Promise<{ columns: string[]; rows: Record<string, unknown>[] }>;
}

export interface AnalyticsSection {
  name: NamedQuery;
  columns: string[];
  rows: Record<string, unknown>[];
  /** Why the query gave nothing, when it failed. */
  error?: string;
}

export interface ReportData {
  manifest: ModelManifest;
  baseline?: ModelBaseline;
  window: string;
  from: string;
  to: string;
  generatedAt: string;
  summary: MetricsSummary;
  /** Logged predictions read, and whether the window held more than the report reads. */
  recordsRead: number;
  truncated: boolean;
  versions: VersionReport[];
  analytics: AnalyticsSection[];
}

/** Predictions the report reads at most (pages of the API's largest size). */
export const MAX_REPORT_RECORDS = 10_000;
const PAGE = 200;

/** The named queries the report shows: quality and latency per day and version. */
const REPORT_QUERIES: readonly NamedQuery[] = ['accuracy-by-day', 'regression-error-by-day', 'latency-percentiles'];

export async function collectReport(source: ReportSource, opts: { since: string; now?: Date }): Promise<ReportData> {
  const window = PARAMETERS.window.parse(opts.since);
  const to = opts.now ?? new Date();
  const from = new Date(to.getTime() - summaryWindowMs(window));
  const { baseline, ...manifest } = await source.getJson<ModelManifest & { baseline?: ModelBaseline; backend?: string }>('/model');
  const summary = await source.getJson<MetricsSummary>(`/metrics/summary?window=${window}`);

  const records: PredictionRecord[] = [];
  let cursor: string | undefined;
  do {
    const q = new URLSearchParams({ limit: String(PAGE), from: from.toISOString(), to: to.toISOString() });
    if (cursor !== undefined) q.set('cursor', cursor);
    const page = await source.getJson<PredictionPage>(`/predictions?${q}`);
    records.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined && records.length < MAX_REPORT_RECORDS);

  const analytics: AnalyticsSection[] = [];
  if (source.named !== undefined) {
    const since = from.toISOString().slice(0, 10);
    for (const name of namedQueriesFor(manifest as ModelManifest, baseline).filter((q) => REPORT_QUERIES.includes(q))) {
      try {
        analytics.push({ name, ...(await source.named(name, since)) });
      } catch (e) {
        analytics.push({ name, columns: [], rows: [], error: errorMessage(e) });
      }
    }
  }
  return {
    manifest: manifest as ModelManifest,
    ...(baseline === undefined ? {} : { baseline }),
    window,
    from: from.toISOString(),
    to: to.toISOString(),
    generatedAt: to.toISOString(),
    summary,
    recordsRead: records.length,
    truncated: cursor !== undefined,
    versions: versionReports(manifest as ModelManifest, baseline, records),
    analytics,
  };
}
