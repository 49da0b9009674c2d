/**
 * Calibration of predicted probabilities: the reliability curve over k equal-width bins of [0, 1] and the
 * expected calibration error ECE = Σ_b (n_b / n)·|observed rate_b − mean probability_b|.
 *
 * A probability p falls in bin ⌊p·k⌋ (p = 1 in the last): bins are [b/k, (b + 1)/k), the last closed.
 */
import { DEFAULT_QUALITY_THRESHOLDS } from './thresholds';

export interface ProbabilityOutcome {
  /** Predicted probability of the event, 0..1. */
  probability: number;
  /** Whether it happened. */
  outcome: boolean;
}

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability in the bin; null when empty. */
  meanProbability: number | null;
  /** Share of the bin's events that happened; null when empty. */
  observedRate: number | null;
}

export interface ReliabilityCurve {
  bins: ReliabilityBin[];
  count: number;
  /** Expected calibration error; null with no points. */
  ece: number | null;
}

export function reliabilityCurve(points: readonly ProbabilityOutcome[], k = DEFAULT_QUALITY_THRESHOLDS.calibrationBins): ReliabilityCurve {
  if (!Number.isInteger(k) || k < 1) throw new Error(`Calibration bins must be a whole number >= 1, got ${k}`);
  const count = new Array<number>(k).fill(0);
  const sumP = new Array<number>(k).fill(0);
  const hits = new Array<number>(k).fill(0);
  for (const { probability: p, outcome } of points) {
    if (!(p >= 0 && p <= 1)) throw new Error(`A probability must be within [0, 1], got ${p}`);
    const b = Math.min(Math.floor(p * k), k - 1); // 0 <= b < k
    (count[b] as number)++;
    (sumP[b] as number) += p;
    if (outcome) (hits[b] as number)++;
  }
  const bins = count.map((n, b) => ({
    lower: b / k,
    upper: (b + 1) / k,
    count: n,
    meanProbability: n === 0 ? null : (sumP[b] as number) / n,
    observedRate: n === 0 ? null : (hits[b] as number) / n,
  }));
  const total = points.length;
  const ece =
    total === 0
      ? null
      : bins.reduce(
          (s, bin) =>
            s + (bin.count === 0 ? 0 : (bin.count / total) * Math.abs((bin.observedRate as number) - (bin.meanProbability as number))),
          0,
        );
  return { bins, count: total, ece };
}

/**
 * Top-label (confidence) calibration of a classifier: each prediction's probability of its predicted
 * label against whether that label was right. Rows without that probability are left out.
 */
export function confidencePoints(
  rows: readonly { predicted: string; actual: string; probabilities: Readonly<Record<string, number>> }[],
): ProbabilityOutcome[] {
  return rows.flatMap((r) => {
    const p = r.probabilities[r.predicted];
    return typeof p === 'number' ? [{ probability: p, outcome: r.predicted === r.actual }] : [];
  });
}

/** Calibration of one label's probability (a binary classifier's positive class): the probability against whether the actual label is it. */
export function labelPoints(
  label: string,
  rows: readonly { actual: string; probabilities: Readonly<Record<string, number>> }[],
): ProbabilityOutcome[] {
  return rows.flatMap((r) => {
    const p = r.probabilities[label];
    return typeof p === 'number' ? [{ probability: p, outcome: r.actual === label }] : [];
  });
}
