/**
 * Classifier quality of fed-back predictions: accuracy, the confusion matrix, per-class precision,
 * recall, F1 and support, and their macro and weighted averages.
 */

export interface LabelPair {
  predicted: string;
  actual: string;
}

/** Share of pairs whose predicted label is the actual one; null with no pairs. */
export function accuracyOf(pairs: readonly LabelPair[]): number | null {
  if (pairs.length === 0) return null;
  let hits = 0;
  for (const p of pairs) if (p.predicted === p.actual) hits++;
  return hits / pairs.length;
}

export interface ConfusionMatrix {
  /** The model's labels in manifest order, then any other label seen (sorted), e.g. a fed-back label the model does not know. */
  labels: string[];
  /** counts[i][j]: pairs whose actual label is labels[i] and predicted label labels[j]. */
  counts: number[][];
  total: number;
}

/** The confusion matrix of the pairs, rows actual and columns predicted. */
export function confusionMatrix(modelLabels: readonly string[], pairs: readonly LabelPair[]): ConfusionMatrix {
  const labels = [...new Set(modelLabels)];
  const known = new Set(labels);
  const extra = new Set<string>();
  for (const { predicted, actual } of pairs) {
    if (!known.has(actual)) extra.add(actual);
    if (!known.has(predicted)) extra.add(predicted);
  }
  labels.push(...[...extra].sort());
  const index = new Map(labels.map((l, i) => [l, i]));
  const counts = labels.map(() => new Array<number>(labels.length).fill(0));
  for (const { predicted, actual } of pairs) {
    const row = counts[index.get(actual) as number] as number[]; // every label seen is indexed above
    (row[index.get(predicted) as number] as number)++;
  }
  return { labels, counts, total: pairs.length };
}

export interface ClassMetrics {
  label: string;
  /** Pairs whose actual label is this one. */
  support: number;
  /** Pairs predicted as this label. */
  predicted: number;
  truePositives: number;
  /** TP / predicted; null when the class was never predicted. */
  precision: number | null;
  /** TP / support; null when the class never occurred. */
  recall: number | null;
  /**
   * 2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall where both exist and 0 where
   * one is 0 or undefined; null when the class was neither predicted nor actual.
   */
  f1: number | null;
}

export interface ClassificationMetrics {
  count: number;
  accuracy: number | null;
  classes: ClassMetrics[];
  /** Unweighted mean of the F1 of the classes that were predicted or actual (as scikit-learn's `average="macro"`). */
  macroF1: number | null;
  /** Mean F1 weighted by support. */
  weightedF1: number | null;
  confusion: ConfusionMatrix;
}

/** Per-class and averaged metrics from a confusion matrix. */
export function classMetrics(m: ConfusionMatrix): Omit<ClassificationMetrics, 'confusion'> {
  const classes = m.labels.map((label, i) => {
    const row = m.counts[i] as number[]; // one row per label
    const support = row.reduce((s, c) => s + c, 0);
    const predicted = m.counts.reduce((s, r) => s + (r[i] as number), 0);
    const tp = row[i] as number;
    return {
      label,
      support,
      predicted,
      truePositives: tp,
      precision: predicted === 0 ? null : tp / predicted,
      recall: support === 0 ? null : tp / support,
      f1: support + predicted === 0 ? null : (2 * tp) / (support + predicted),
    };
  });
  const scored = classes.filter((c) => c.f1 !== null);
  const totalSupport = classes.reduce((s, c) => s + c.support, 0);
  const trace = m.labels.reduce((s, _, i) => s + ((m.counts[i] as number[])[i] as number), 0);
  return {
    count: m.total,
    accuracy: m.total === 0 ? null : trace / m.total,
    classes,
    macroF1: scored.length === 0 ? null : scored.reduce((s, c) => s + (c.f1 as number), 0) / scored.length,
    weightedF1: totalSupport === 0 ? null : classes.reduce((s, c) => s + (c.f1 ?? 0) * c.support, 0) / totalSupport,
  };
}

/** Everything above from the pairs, labels in the model's order. */
export function classificationMetrics(modelLabels: readonly string[], pairs: readonly LabelPair[]): ClassificationMetrics {
  const confusion = confusionMatrix(modelLabels, pairs);
  return { ...classMetrics(confusion), confusion };
}
