/** Pure arithmetic of `GET /metrics/summary`, kept apart from the DynamoDB paging. */
import { FORMATS } from '../../contract/limits';
import type { MetricsSummary, PredictionRecord } from '../../contract/prediction-log';

/** Nearest-rank percentile of sorted values; null when there are none. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
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
  };
}

const WINDOW = FORMATS.summaryWindow;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Longest window: the summary reads a bounded number of pages, and older items may have expired. */
export const MAX_WINDOW_MS = FORMATS.maxSummaryWindowDays * UNIT_MS.d;

/** `15m`, `1h`, `24h`, `7d`… → milliseconds, or undefined when malformed or longer than 30 days. */
export function parseWindow(w: string): number | undefined {
  const m = WINDOW.exec(w);
  if (m === null) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > MAX_WINDOW_MS ? undefined : ms;
}
