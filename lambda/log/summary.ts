/** Pure arithmetic of `GET /metrics/summary`, kept apart from the DynamoDB paging and the analytics engine. */
import { FORMATS } from '../../contract/limits';
import type { MetricsSummary, PredictionRecord } from '../../contract/prediction-log';
import type { AnalyticsRow } from '../analytics/engine';

/** Nearest-rank percentile of sorted values; null when there are none. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? null;
}

export function summarize(
  records: Pick<PredictionRecord, 'label' | 'latencyMs' | 'feedback'>[],
  meta: Pick<MetricsSummary, 'model' | 'window' | 'from' | 'to' | 'truncated'>,
): MetricsSummary {
  const countsByLabel: Record<string, number> = {};
  const latencies: number[] = [];
  let feedbackCount = 0;
  let correct = 0;
  for (const r of records) {
    if (r.label !== undefined) countsByLabel[r.label] = (countsByLabel[r.label] ?? 0) + 1;
    latencies.push(r.latencyMs);
    if (r.feedback !== undefined && r.label !== undefined) {
      feedbackCount++;
      if (r.feedback.label === r.label) correct++;
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    ...meta,
    count: records.length,
    countsByLabel,
    latencyMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99) },
    feedbackCount,
    accuracy: feedbackCount === 0 ? null : correct / feedbackCount,
    source: 'log',
  };
}

/** A count or measure of an analytics row: Athena answers text, DuckDB numbers (counts as text too). */
function num(v: string | number | null | undefined): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new Error(`The analytics summary answered a non-number: ${String(v)}`);
  return n;
}

/** The smallest non-null value (each row holds a candidate of the window's percentile; see summarySql). */
function least(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.min(...present);
}

/**
 * The summary from the rows of `summarySql` (one per predicted label, a null label for regression):
 * the same figures as `summarize` gives from log items, counted once per prediction id.
 */
export function summarizeAnalytics(rows: AnalyticsRow[], meta: Pick<MetricsSummary, 'model' | 'window' | 'from' | 'to'>): MetricsSummary {
  const countsByLabel: Record<string, number> = {};
  let count = 0;
  let feedbackCount = 0;
  let correct = 0;
  for (const r of rows) {
    const n = num(r.predictions) ?? 0;
    count += n;
    const label = r.predicted_label;
    if (label === null || label === undefined) continue;
    // As from the log: feedback and accuracy count for predictions that carry a label (classifiers).
    countsByLabel[String(label)] = n;
    feedbackCount += num(r.with_feedback) ?? 0;
    correct += num(r.correct) ?? 0;
  }
  return {
    ...meta,
    count,
    truncated: false,
    countsByLabel,
    latencyMs: {
      p50: least(rows.map((r) => num(r.p50))),
      p90: least(rows.map((r) => num(r.p90))),
      p99: least(rows.map((r) => num(r.p99))),
    },
    feedbackCount,
    accuracy: feedbackCount === 0 ? null : correct / feedbackCount,
    source: 'analytics',
  };
}

const HOUR_MS = 3_600_000;
/** Longest window read from the log (a bounded number of pages of its index); longer ones come from the analytics store. */
export const MAX_LOG_WINDOW_MS = FORMATS.maxLogSummaryWindowHours * HOUR_MS;
