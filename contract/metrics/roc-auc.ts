/**
 * ROC AUC, exactly: the Mann–Whitney U statistic over the scores, AUC = (R₊ − n₊(n₊ + 1)/2) / (n₊·n₋),
 * where R₊ is the sum of the positives' ranks and tied scores share their average rank. That is the
 * probability that a random positive scores above a random negative, ties counting one half — the area
 * under the ROC curve with its ties drawn as diagonal segments (scikit-learn's `roc_auc_score`).
 */

export interface Scored {
  score: number;
  positive: boolean;
}

/** AUC of the scored outcomes; null unless both positives and negatives are present. */
export function rocAuc(points: readonly Scored[]): number | null {
  for (const p of points) if (!Number.isFinite(p.score)) throw new Error(`ROC AUC needs finite scores, got ${p.score}`);
  const sorted = [...points].sort((a, b) => a.score - b.score);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && (sorted[j] as Scored).score === (sorted[i] as Scored).score) j++;
    // Positions i..j−1 tie: each takes the average of the ranks i + 1 .. j.
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if ((sorted[k] as Scored).positive) {
        positives++;
        rankSum += rank;
      }
    }
    i = j;
  }
  const negatives = sorted.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface ProbabilityRow {
  actual: string;
  /** Each label's probability as the model answered it. */
  probabilities: Readonly<Record<string, number>>;
}

export type AucResult =
  | { kind: 'binary'; positive: string; auc: number | null; count: number }
  | { kind: 'one-vs-rest'; perClass: { label: string; auc: number | null }[]; macro: number | null; count: number };

/**
 * ROC AUC of a classifier's probabilities. Two labels: the AUC of the second label's probability (the
 * positive class, as scikit-learn orders a binary problem). More: one-vs-rest per label and their
 * unweighted mean over the labels whose AUC exists (a label that never occurred, or always did, has
 * none). Rows without a probability for every label are left out (`count` says how many were used).
 */
export function classifierAuc(labels: readonly string[], rows: readonly ProbabilityRow[]): AucResult {
  const usable = rows.filter((r) => labels.every((l) => typeof r.probabilities[l] === 'number'));
  const aucOf = (label: string) => rocAuc(usable.map((r) => ({ score: r.probabilities[label] as number, positive: r.actual === label })));
  if (labels.length === 2) {
    const positive = labels[1] as string;
    return { kind: 'binary', positive, auc: aucOf(positive), count: usable.length };
  }
  const perClass = labels.map((label) => ({ label, auc: aucOf(label) }));
  const defined = perClass.flatMap((c) => (c.auc === null ? [] : [c.auc]));
  return {
    kind: 'one-vs-rest',
    perClass,
    macro: defined.length === 0 ? null : defined.reduce((s, a) => s + a, 0) / defined.length,
    count: usable.length,
  };
}
