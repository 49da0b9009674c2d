/**
 * Label delay: how long ground truth takes to arrive, from a prediction to its first feedback. Quality
 * metrics of a window only see the predictions whose labels have arrived, so this says how far back
 * they can be trusted.
 */
import { nearestRank } from './percentile';

export interface LabelDelay {
  /** Predictions with feedback. */
  count: number;
  /** Nearest-rank percentiles and maximum, milliseconds; null with no feedback. */
  p50Ms: number | null;
  p90Ms: number | null;
  maxMs: number | null;
}

interface WithFeedback {
  createdAt: string;
  feedback?: { givenAt: string };
  /** Labels the current one replaced, oldest first: the first of them is when ground truth first arrived. */
  feedbackHistory?: readonly { givenAt: string }[];
}

/** Milliseconds from each record's prediction to its first feedback (records without feedback are skipped). */
export function labelDelays(records: readonly WithFeedback[]): number[] {
  return records.flatMap((r) => {
    const first = r.feedbackHistory?.[0] ?? r.feedback;
    if (first === undefined) return [];
    const delay = Date.parse(first.givenAt) - Date.parse(r.createdAt);
    if (Number.isNaN(delay)) throw new Error(`Not ISO times: createdAt "${r.createdAt}", givenAt "${first.givenAt}"`);
    return [delay];
  });
}

/** p50, p90 and maximum of the delays. */
export function labelDelayStats(delaysMs: readonly number[]): LabelDelay {
  const sorted = [...delaysMs].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: nearestRank(sorted, 50), p90Ms: nearestRank(sorted, 90), maxMs: sorted.at(-1) ?? null };
}
