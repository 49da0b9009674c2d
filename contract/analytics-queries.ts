/**
 * The named analytics queries, in one place, in SQL that Athena (Trino) and DuckDB both run unchanged:
 * Athena saves them as named queries of the workgroup, `mlship query --named` runs them locally, and the
 * dashboard's long windows run them through the query function.
 *
 * Dialect rules (checked by test/analytics/queries.test.ts over every query):
 * - only functions in PORTABLE_FUNCTIONS, which both engines document with the same meaning;
 * - no `::` casts, no double-quoted strings, numbers as `E` notation doubles (Trino reads `0.5` as DECIMAL);
 * - one `?` parameter: the first day (`yyyy-mm-dd`) of the window, compared with the `dt` partition so
 *   both engines read only the days asked for.
 *
 * Every query reads one model's rows only: the model name (restricted to safe characters by the manifest
 * schema) is written in as a condition on the `model` partition, so a bucket shared by several models
 * answers per model and reads only that model's folders.
 *
 * Every query keeps one row per prediction id, so a row written twice — a redelivered stream batch that
 * landed under a new key, an export over days the stream already wrote — is counted once. Feedback keeps
 * the latest label. Compacted rows (`compacted_at` set, `lambda/analytics/compact.ts`) already hold each
 * id once; only the rows the stream wrote since (the open day, late batches) go through `GROUP BY id`,
 * and a compacted row counts unless such a row has its id (feedback: a later one). The dedupe then costs
 * one day's ids, not the window's.
 */
import { type ColumnSpec, tableColumns } from './analytics';
import { isCategorical, type ModelBaseline } from './baseline';
import { FEATURE_BINS_TABLE, type FeatureBinSpec, featureBinSpecs, featureBinsFingerprint, inlineFeatureColumns } from './feature-bins';
import type { ModelManifest } from './manifest';
import { DEFAULT_QUALITY_THRESHOLDS } from './metrics/thresholds';
import { AGREEMENT_RELATIVE_TOLERANCE } from './versions';

/** Equal-width probability bins of the calibration query. */
const CALIBRATION_BINS = DEFAULT_QUALITY_THRESHOLDS.calibrationBins;

/** Shares below this are raised to it before the logarithm (the quality job's PSI_EPSILON; a test keeps them equal). */
export const QUERY_PSI_EPSILON = 1e-4;

export const NAMED_QUERIES = [
  'accuracy-by-day',
  'confusion-matrix',
  'class-metrics',
  'calibration',
  'roc-auc',
  'regression-error-by-day',
  'feature-drift',
  'prediction-drift',
  'latency-percentiles',
  'volume-by-api-key',
  'versions-side-by-side',
  'missing-rate-by-day',
] as const;
export type NamedQuery = (typeof NAMED_QUERIES)[number];

export const QUERY_DESCRIPTIONS: Record<NamedQuery, string> = {
  'accuracy-by-day': 'Predictions, feedback received and accuracy, per day and model version',
  'confusion-matrix': 'Predicted against fed-back label counts, per day and model version',
  'class-metrics': 'Per-class precision, recall, F1 and support, with macro and weighted F1, per model version',
  calibration: `Reliability curve of the predicted label's probability against accuracy (${CALIBRATION_BINS} equal-width bins) and the expected calibration error, per model version`,
  'roc-auc':
    "ROC AUC of the positive (second) label's probability, binary classifiers only (the store keeps the predicted label's probability alone), per model version",
  'regression-error-by-day': 'MAE, RMSE, mean error (predicted minus actual) and R2 of fed-back predictions, per day and model version',
  'feature-drift': 'PSI of each input feature against the training baseline, per model version',
  'prediction-drift': 'PSI of the predicted classes against the training class priors, per model version',
  'latency-percentiles': 'Latency p50, p90, p99 and max (nearest rank), per day and model version',
  'volume-by-api-key': 'Predictions per day and API key',
  'missing-rate-by-day': "Predictions and the share of them missing each input feature's value, per day, model version and feature",
  'versions-side-by-side':
    'Predictions answered and shadowed, agreement with the answered prediction of the same instance, graded predictions with their accuracy (MAE for regression), shadow error rate and latency p50 and p99, per day and model version',
};

/**
 * Functions both engines define alike (Trino: trino.io/docs/current/functions; DuckDB: duckdb.org/docs/sql/functions).
 */
export const PORTABLE_FUNCTIONS = [
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'abs',
  'sqrt',
  'try_cast',
  'max_by',
  'coalesce',
  'nullif',
  'greatest',
  'least',
  'floor',
  'ln',
  'ceil',
  'cast',
  'row_number',
] as const;

/**
 * CTE `p`: one row per prediction id of the window with `columns` (besides `id`), where `filter` (a
 * condition on the table's columns) holds. Compacted rows as they are, less the ids that rows not yet
 * compacted hold; those rows once per id (`max()` of columns the id fixes). The anti-join is a LEFT JOIN
 * on the small side: DuckDB ran `NOT IN (subquery)` at twice its CPU time (accuracy-by-day, 1 M rows).
 */
function predictionsOnce(columns: readonly string[], filter = ''): string {
  return rowsOnce('predictions', 'p', columns, filter);
}

/** CTE `name` (with `<name>r` beside it): `predictionsOnce` over any table whose rows are fixed by their id. */
function rowsOnce(table: 'predictions' | 'shadow_predictions', name: string, columns: readonly string[], filter = ''): string {
  const where = `dt >= ?${filter === '' ? '' : ` AND ${filter}`}`;
  const raw = `${name}r`;
  return `${raw} AS (SELECT id, ${columns.map((c) => `max(${c}) AS ${c}`).join(', ')} FROM ${table} WHERE ${where} AND compacted_at IS NULL GROUP BY id),
${name} AS (SELECT c.id, ${columns.map((x) => `c.${x}`).join(', ')}
  FROM (SELECT id, ${columns.join(', ')} FROM ${table} WHERE ${where} AND compacted_at IS NOT NULL) c LEFT JOIN ${raw} ON ${raw}.id = c.id WHERE ${raw}.id IS NULL
  UNION ALL SELECT id, ${columns.join(', ')} FROM ${raw})`;
}

/**
 * CTE `f(id, actual)`: the latest feedback label per prediction id of the window: the compacted row
 * (already the latest of its day's rows) or the latest of the rows not yet compacted, whichever was
 * received later.
 */
function latestFeedback(filter = ''): string {
  const where = `dt >= ?${filter === '' ? '' : ` AND ${filter}`}`;
  return `fr AS (SELECT id, max_by(label, received_at) AS label, max(received_at) AS received_at FROM feedback WHERE ${where} AND compacted_at IS NULL GROUP BY id),
fc AS (SELECT id, label, received_at FROM feedback WHERE ${where} AND compacted_at IS NOT NULL),
f AS (SELECT coalesce(fr.id, fc.id) AS id, CASE WHEN fr.id IS NULL OR fc.received_at > fr.received_at THEN fc.label ELSE fr.label END AS actual
  FROM fc FULL JOIN fr ON fr.id = fc.id)`;
}

/** The condition that keeps one model's rows (the `model` partition). */
function ofModel(manifest: Pick<ModelManifest, 'name'>): string {
  return `model = ${str(manifest.name)}`;
}

/** The queries that need nothing but the tables (and the model's name). */
function fixedQuery(
  name: Exclude<NamedQuery, 'feature-drift' | 'prediction-drift' | 'missing-rate-by-day' | 'roc-auc' | 'versions-side-by-side'>,
  manifest: Pick<ModelManifest, 'name'>,
): string {
  const model = ofModel(manifest);
  const feedback = latestFeedback(model);
  switch (name) {
    case 'accuracy-by-day':
      return `WITH ${predictionsOnce(['dt', 'version', 'predicted_label'], model)},
${feedback}
SELECT p.dt AS day, p.version, count(*) AS predictions, count(f.id) AS with_feedback,
  sum(CASE WHEN f.actual = p.predicted_label THEN 1 ELSE 0 END) AS correct,
  CAST(sum(CASE WHEN f.actual = p.predicted_label THEN 1 ELSE 0 END) AS DOUBLE) / nullif(count(f.id), 0) AS accuracy
FROM p LEFT JOIN f ON f.id = p.id
GROUP BY p.dt, p.version
ORDER BY day, p.version`;

    case 'confusion-matrix':
      return `WITH ${predictionsOnce(['dt', 'version', 'predicted_label'], model)},
${feedback}
SELECT p.dt AS day, p.version, p.predicted_label AS predicted, f.actual, count(*) AS n
FROM p JOIN f ON f.id = p.id
GROUP BY p.dt, p.version, p.predicted_label, f.actual
ORDER BY day, p.version, predicted, f.actual`;

    case 'class-metrics':
      return classMetrics(model);

    case 'calibration':
      return calibration(model);

    case 'regression-error-by-day':
      return regressionErrorByDay(model);

    case 'latency-percentiles':
      return `WITH ${predictionsOnce(['dt', 'version', 'latency_ms'], model)},
r AS (SELECT dt, version, latency_ms,
  row_number() OVER (PARTITION BY dt, version ORDER BY latency_ms) AS rn,
  count(*) OVER (PARTITION BY dt, version) AS n
  FROM p)
SELECT dt AS day, version, max(n) AS predictions,
  min(CASE WHEN rn >= ceil(5.0E-1 * n) THEN latency_ms END) AS p50,
  min(CASE WHEN rn >= ceil(9.0E-1 * n) THEN latency_ms END) AS p90,
  min(CASE WHEN rn >= ceil(9.9E-1 * n) THEN latency_ms END) AS p99,
  max(latency_ms) AS max_ms
FROM r
GROUP BY dt, version
ORDER BY day, version`;

    case 'volume-by-api-key':
      return `WITH ${predictionsOnce(['dt', 'api_key_id'], model)}
SELECT dt AS day, coalesce(api_key_id, '(none)') AS api_key_id, count(*) AS predictions
FROM p
GROUP BY dt, api_key_id
ORDER BY day, predictions DESC, api_key_id`;
  }
}

/**
 * Per model version and class (every label predicted or fed back), from the confusion counts of the
 * fed-back predictions: support (actual), predicted, true positives, precision = TP / predicted,
 * recall = TP / support (NULL where the divisor is 0), F1 = 2·TP / (support + predicted); on every row
 * the version's macro F1 (mean over its classes) and weighted F1 (by support). As
 * contract/metrics/classification.ts computes them.
 */
function classMetrics(model: string): string {
  return `WITH ${predictionsOnce(['version', 'predicted_label'], `${model} AND predicted_label IS NOT NULL`)},
${latestFeedback(model)},
cm AS (SELECT p.version, p.predicted_label AS predicted, f.actual, count(*) AS n FROM p JOIN f ON f.id = p.id GROUP BY p.version, p.predicted_label, f.actual),
k AS (SELECT version, predicted AS label FROM cm UNION SELECT version, actual AS label FROM cm),
c AS (SELECT k.version, k.label,
  sum(CASE WHEN cm.actual = k.label THEN cm.n ELSE 0 END) AS support,
  sum(CASE WHEN cm.predicted = k.label THEN cm.n ELSE 0 END) AS predicted,
  sum(CASE WHEN cm.predicted = k.label AND cm.actual = k.label THEN cm.n ELSE 0 END) AS true_positives
  FROM k JOIN cm ON cm.version = k.version
  GROUP BY k.version, k.label),
m AS (SELECT version, label, support, predicted, true_positives,
  CAST(true_positives AS DOUBLE) / nullif(predicted, 0) AS precision,
  CAST(true_positives AS DOUBLE) / nullif(support, 0) AS recall,
  CAST(2 * true_positives AS DOUBLE) / (support + predicted) AS f1
  FROM c)
SELECT version, label, support, predicted, true_positives, precision, recall, f1,
  avg(f1) OVER (PARTITION BY version) AS macro_f1,
  sum(f1 * support) OVER (PARTITION BY version) / sum(support) OVER (PARTITION BY version) AS weighted_f1
FROM m
ORDER BY version, label`;
}

/**
 * Top-label calibration per model version: the fed-back predictions' `score` (the predicted label's
 * probability, stored as REAL) in bin ⌊score·k⌋ (score 1 in the last; scores outside [0, 1] left out),
 * each non-empty bin's count, mean probability and accuracy, and on every row the version's expected
 * calibration error Σ n_b·|accuracy_b − mean_b| / n. As contract/metrics/calibration.ts computes it
 * (`reliabilityCurve(confidencePoints(…))`), on float32 scores.
 */
function calibration(model: string): string {
  const k = CALIBRATION_BINS;
  return `WITH ${predictionsOnce(['version', 'predicted_label', 'score'], `${model} AND score >= ${dbl(0)} AND score <= ${dbl(1)}`)},
${latestFeedback(model)},
b AS (SELECT p.version, CAST(p.score AS DOUBLE) AS confidence, CASE WHEN f.actual = p.predicted_label THEN 1 ELSE 0 END AS hit
  FROM p JOIN f ON f.id = p.id),
g AS (SELECT version, CAST(least(floor(confidence * ${dbl(k)}), ${dbl(k - 1)}) AS INTEGER) AS bin, confidence, hit FROM b),
c AS (SELECT version, bin, count(*) AS n, avg(confidence) AS mean_confidence, CAST(sum(hit) AS DOUBLE) / count(*) AS accuracy
  FROM g GROUP BY version, bin)
SELECT version, bin, CAST(bin AS DOUBLE) / ${dbl(k)} AS lower, CAST(bin + 1 AS DOUBLE) / ${dbl(k)} AS upper, n, mean_confidence, accuracy,
  sum(n * abs(accuracy - mean_confidence)) OVER (PARTITION BY version) / sum(n) OVER (PARTITION BY version) AS ece
FROM c
ORDER BY version, bin`;
}

/**
 * Per day and model version: predictions, fed-back predictions, and over those whose label reads as a
 * finite number (`n`): MAE, RMSE, mean error (predicted − actual: positive when the model predicts too
 * high) and R² = 1 − Σ error² / Σ (actual − mean actual)², NULL when every actual value is the same. As
 * contract/metrics/regression.ts computes them. A label that is not a number (`try_cast` gives NULL;
 * NaN and infinities fail the range test) counts as feedback but not in `n`.
 */
function regressionErrorByDay(model: string): string {
  return regressionError(model, ['dt', 'version']);
}

/**
 * MAE, RMSE, mean error and R² of fed-back regression predictions per group (`dt` and `version`, or
 * `version` alone); a label that is no number counts as feedback but not in the error.
 */
function regressionError(model: string, groups: readonly ('dt' | 'version')[]): string {
  const actual = 'try_cast(f.actual AS DOUBLE)';
  const by = groups.join(', ');
  return `WITH ${predictionsOnce([...groups, 'predicted_value'], model)},
${latestFeedback(model)},
e AS (SELECT ${groups.map((g) => `p.${g}`).join(', ')}, f.id AS fid, p.predicted_value AS predicted,
  CASE WHEN p.predicted_value IS NOT NULL AND abs(${actual}) <= ${dbl(Number.MAX_VALUE)} THEN ${actual} END AS actual
  FROM p LEFT JOIN f ON f.id = p.id),
m AS (SELECT ${by}, fid, actual, predicted - actual AS err, avg(actual) OVER (PARTITION BY ${by}) AS mean_actual FROM e)
SELECT ${groups.includes('dt') ? 'dt AS day, version' : 'version'}, count(*) AS predictions, count(fid) AS with_feedback, count(err) AS n,
  sum(abs(err)) / nullif(count(err), 0) AS mae,
  sqrt(sum(err * err) / nullif(count(err), 0)) AS rmse,
  sum(err) / nullif(count(err), 0) AS mean_error,
  CASE WHEN min(actual) < max(actual) THEN 1.0E0 - sum(err * err) / sum((actual - mean_actual) * (actual - mean_actual)) END AS r2
FROM m
GROUP BY ${by}
ORDER BY ${groups.includes('dt') ? 'day, version' : 'version'}`;
}

/**
 * The per-version quality of a long `GET /metrics/summary` window. Regression: the figures of
 * `regression-error-by-day` over the whole window, one row per version. Classifiers: one row per
 * version, predicted label and fed-back label (NULL for predictions without feedback) with its count,
 * from which the summary builds the confusion matrix and the per-class figures; a binary classifier's
 * rows also carry their version's `roc_auc`.
 */
export function versionQualitySql(manifest: Pick<ModelManifest, 'name' | 'output'>): string {
  const model = ofModel(manifest);
  const { output } = manifest;
  if (output.kind === 'regression') return regressionError(model, ['version']);
  if (output.labels.length === 2) return binaryVersionQuality(model, str(output.labels[1] as string));
  return `WITH ${predictionsOnce(['version', 'predicted_label'], model)},
${latestFeedback(model)}
SELECT p.version, p.predicted_label AS predicted, f.actual, count(*) AS n
FROM p LEFT JOIN f ON f.id = p.id
GROUP BY p.version, p.predicted_label, f.actual
ORDER BY version, predicted, actual`;
}

/**
 * `versionQualitySql` of a binary classifier: the same cells, each row also carrying its version's ROC AUC
 * as `roc-auc` computes it, in the same pass over the store (every CTE is read once: Athena inlines a CTE
 * at each reference, so a second reference would scan the store again). Cells are first grouped with the
 * positive label's probability of fed-back predictions (NULL for the others, which then group by cell
 * alone: bench/analytics measured 0.47 s CPU against 1.26 s grouping every prediction by its score); the
 * ties of `roc-auc` are the rows of one version at one probability, the negatives below a running sum
 * over the probabilities, and the area is summed back per cell and then per version.
 */
function binaryVersionQuality(model: string, positive: string): string {
  const version = 'PARTITION BY version';
  return `WITH ${predictionsOnce(['version', 'predicted_label', 'score'], model)},
${latestFeedback(model)},
j AS (SELECT version, predicted, actual, probability, count(*) AS n FROM (SELECT p.version, p.predicted_label AS predicted, f.actual,
  CASE WHEN f.actual IS NOT NULL AND p.score >= ${dbl(0)} AND p.score <= ${dbl(1)}
    THEN CASE WHEN p.predicted_label = ${positive} THEN CAST(p.score AS DOUBLE) ELSE ${dbl(1)} - CAST(p.score AS DOUBLE) END END AS probability
  FROM p LEFT JOIN f ON f.id = p.id) pf
  GROUP BY version, predicted, actual, probability),
k AS (SELECT version, predicted, actual, n, probability,
  CASE WHEN probability IS NOT NULL AND actual = ${positive} THEN n ELSE 0 END AS pos,
  CASE WHEN probability IS NOT NULL AND actual <> ${positive} THEN n ELSE 0 END AS neg
  FROM j),
w AS (SELECT version, predicted, actual, n, pos, neg,
  sum(neg) OVER (${version} ORDER BY probability RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    - sum(neg) OVER (${version}, probability) AS neg_below,
  sum(neg) OVER (${version}, probability) AS neg_at
  FROM k),
c AS (SELECT version, predicted, actual, sum(n) AS n, sum(pos) AS pos, sum(neg) AS neg,
  sum(pos * (neg_below + ${dbl(0.5)} * neg_at)) AS area
  FROM w GROUP BY version, predicted, actual)
SELECT version, predicted, actual, n,
  CASE WHEN sum(pos) OVER (${version}) > 0 AND sum(neg) OVER (${version}) > 0
    THEN sum(area) OVER (${version}) / (CAST(sum(pos) OVER (${version}) AS DOUBLE) * sum(neg) OVER (${version})) END AS roc_auc
FROM c
ORDER BY version, predicted, actual`;
}

/**
 * Champion and challenger side by side, per day and model version, as `mlship versions` computes its
 * figures from the log (lambda/versions/figures.ts): predictions it answered; shadow predictions it made
 * or failed to make; agreement, the share of its made shadow predictions whose answered prediction of the
 * same instance (`shadow_of`, in the window) has the same label, or for regression a value within
 * AGREEMENT_RELATIVE_TOLERANCE (contract/versions.ts); graded, its answered predictions with feedback and
 * its paired shadow predictions whose answered prediction got feedback (for regression, feedback that is
 * a number), with accuracy (1 − mean error of 0/1) or MAE on them; the share of its shadow runs that
 * failed; and the nearest-rank p50 and p99 latency of its answered and made shadow predictions. A shadow
 * prediction counts on its own day.
 */
function versionsSideBySide(manifest: Pick<ModelManifest, 'name' | 'output'>): string {
  const model = ofModel(manifest);
  const classifier = manifest.output.kind === 'classification';
  const answer = classifier ? 'predicted_label' : 'predicted_value';
  const actual = 'try_cast(f.actual AS DOUBLE)';
  // How far prediction `x` is from the feedback `f`: 0 or 1 for a label, the absolute error for a value; NULL without.
  const grade = (x: string) =>
    classifier
      ? `CASE WHEN f.actual IS NULL OR ${x}.predicted_label IS NULL THEN NULL WHEN f.actual = ${x}.predicted_label THEN 0 ELSE 1 END`
      : `CASE WHEN abs(${actual}) <= ${dbl(Number.MAX_VALUE)} THEN abs(${x}.predicted_value - ${actual}) END`;
  const agrees = classifier
    ? 's.predicted_label = a.predicted_label'
    : `abs(s.predicted_value - a.predicted_value) <= ${dbl(AGREEMENT_RELATIVE_TOLERANCE)} * greatest(${dbl(1)}, abs(a.predicted_value))`;
  const made = 's.shadow_error IS NULL';
  return `WITH ${predictionsOnce(['dt', 'version', answer, 'latency_ms'], model)},
${rowsOnce('shadow_predictions', 's', ['dt', 'version', 'shadow_of', answer, 'latency_ms', 'shadow_error'], model)},
${latestFeedback(model)},
v AS (SELECT p.dt, p.version, 0 AS is_shadow, 0 AS failed, 0 AS paired, 0 AS agreeing, p.latency_ms, ${grade('p')} AS grade
  FROM p LEFT JOIN f ON f.id = p.id
  UNION ALL
  SELECT s.dt, s.version, 1 AS is_shadow, CASE WHEN ${made} THEN 0 ELSE 1 END AS failed,
  CASE WHEN ${made} AND a.id IS NOT NULL THEN 1 ELSE 0 END AS paired,
  CASE WHEN ${made} AND a.id IS NOT NULL AND ${agrees} THEN 1 ELSE 0 END AS agreeing,
  CASE WHEN ${made} THEN s.latency_ms END AS latency_ms,
  CASE WHEN ${made} AND a.id IS NOT NULL THEN ${grade('s')} END AS grade
  FROM s LEFT JOIN p a ON a.id = s.shadow_of LEFT JOIN f ON f.id = a.id),
r AS (SELECT dt, version, is_shadow, failed, paired, agreeing, latency_ms, grade,
  row_number() OVER (PARTITION BY dt, version ORDER BY latency_ms NULLS LAST) AS rn,
  count(latency_ms) OVER (PARTITION BY dt, version) AS n
  FROM v)
SELECT dt AS day, version, count(*) - sum(is_shadow) AS answered, sum(is_shadow) AS shadow,
  CAST(sum(agreeing) AS DOUBLE) / nullif(sum(paired), 0) AS agreement,
  count(grade) AS graded,
  ${classifier ? `${dbl(1)} - avg(grade) AS accuracy` : 'avg(grade) AS mae'},
  CAST(sum(failed) AS DOUBLE) / nullif(sum(is_shadow), 0) AS error_rate,
  min(CASE WHEN rn >= ceil(5.0E-1 * n) THEN latency_ms END) AS p50,
  min(CASE WHEN rn >= ceil(9.9E-1 * n) THEN latency_ms END) AS p99
FROM r
GROUP BY dt, version
ORDER BY day, version`;
}

/** A double literal both engines read as DOUBLE. */
function dbl(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`Not a finite number: ${x}`);
  return x.toExponential().toUpperCase();
}

/** A string literal (single quotes doubled). */
function str(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * ROC AUC per model version of a binary classifier's fed-back predictions, as contract/metrics/roc-auc.ts
 * computes it: the positive label is the second one, and its probability is the stored `score` where it
 * was predicted and 1 − score where the other label was (the two sum to 1, up to the model's float32
 * rounding: a tie in the log may become a near-tie here, which moves the AUC by at most half a pair over
 * positives·negatives). A fed-back label other than the positive one
 * counts as negative. Tied probabilities count one half: AUC = Σ over distinct probabilities of
 * positives·(negatives below + negatives at / 2), over positives·negatives; NULL without both outcomes.
 * The store keeps only the predicted label's probability, so a model of three labels or more has no
 * one-vs-rest AUC here (`GET /metrics/summary` computes it from the log).
 */
export function rocAucSql(manifest: Pick<ModelManifest, 'name' | 'output'>): string {
  const { output } = manifest;
  if (output.kind !== 'classification' || output.labels.length !== 2)
    throw new Error("roc-auc is for binary classifiers: the analytics store keeps only the predicted label's probability");
  const positive = str(output.labels[1] as string);
  const model = ofModel(manifest);
  return `WITH ${predictionsOnce(['version', 'predicted_label', 'score'], `${model} AND score >= ${dbl(0)} AND score <= ${dbl(1)}`)},
${latestFeedback(model)},
s AS (SELECT p.version,
  CASE WHEN p.predicted_label = ${positive} THEN CAST(p.score AS DOUBLE) ELSE ${dbl(1)} - CAST(p.score AS DOUBLE) END AS probability,
  CASE WHEN f.actual = ${positive} THEN 1 ELSE 0 END AS positive
  FROM p JOIN f ON f.id = p.id),
g AS (SELECT version, probability, sum(positive) AS pos, count(*) - sum(positive) AS neg FROM s GROUP BY version, probability),
r AS (SELECT version, pos, neg,
  coalesce(sum(neg) OVER (PARTITION BY version ORDER BY probability ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS neg_below
  FROM g)
SELECT version, ${positive} AS positive_label, sum(pos) AS positives, sum(neg) AS negatives,
  CASE WHEN sum(pos) > 0 AND sum(neg) > 0 THEN sum(pos * (neg_below + ${dbl(0.5)} * neg)) / (CAST(sum(pos) AS DOUBLE) * sum(neg)) END AS roc_auc
FROM r
GROUP BY version
ORDER BY version`;
}

/**
 * PSI per version and feature from `expected(feature_index, feature, bin, share)` (the training shares)
 * and `counts(version, feature_index, bin, n)` (the live counts). Bins no live row fell in count as 0.
 */
function psiSelect(): string {
  const a = `greatest(CAST(coalesce(c.n, 0) AS DOUBLE) / t.total, ${dbl(QUERY_PSI_EPSILON)})`;
  const e = `greatest(e.share, ${dbl(QUERY_PSI_EPSILON)})`;
  return `totals AS (SELECT version, feature_index, sum(n) AS total FROM counts GROUP BY version, feature_index)
SELECT t.version, e.feature_index, e.feature, max(t.total) AS predictions, sum((${a} - ${e}) * ln(${a} / ${e})) AS psi
FROM expected e
JOIN totals t ON t.feature_index = e.feature_index
LEFT JOIN counts c ON c.version = t.version AND c.feature_index = e.feature_index AND c.bin = e.bin
GROUP BY t.version, e.feature_index, e.feature`;
}

/**
 * The bin of one feature column as a CASE. Numbers land in decile bin i when edges[i-1] < v <= edges[i],
 * the quality job's rule; the edges are compared in the column's type (REAL for float features), so a
 * value equal to an edge lands where it did in training. Categories land in the bin of their value,
 * and any value training did not see (or a missing one) in the last bin, the baseline's "any other".
 * The compactor's counts follow the same rule (`binOfValue`, contract/feature-bins.ts).
 */
function binCase({ feature: f, column, nullable }: FeatureBinSpec): string {
  if (isCategorical(f))
    return `CASE ${f.categories.map((c, i) => `WHEN ${column.name} = ${str(c)} THEN ${i}`).join(' ')} ELSE ${f.categories.length} END`;
  const edge = (x: number) => (column.type === 'float' ? `CAST(${dbl(x)} AS REAL)` : dbl(x));
  // A nullable feature's missing value has no bin: its grouping row is left out of the counts and totals.
  const missing = nullable ? `WHEN ${column.name} IS NULL THEN NULL ` : '';
  return `CASE ${missing}${f.edges.map((x, i) => `WHEN ${column.name} <= ${edge(x)} THEN ${i}`).join(' ')} ELSE ${f.edges.length} END`;
}

/**
 * CTEs `binned`, `sets` and `<name>(version, feature_index, bin, n)`: the rows of `p` counted per
 * version, feature and bin in one pass (the grouping sets count every feature's bins together).
 */
function binnedCounts(specs: readonly FeatureBinSpec[], name: string): string {
  const bins = specs.map((s) => `b${s.featureIndex}`);
  return `binned AS (SELECT version,
${specs.map((s, j) => `  ${binCase(s)} AS ${bins[j]}`).join(',\n')}
  FROM p),
sets AS (SELECT version, ${bins.join(', ')}, count(*) AS n FROM binned GROUP BY GROUPING SETS (${bins.map((b) => `(version, ${b})`).join(', ')})),
${name} AS (SELECT version, CASE ${bins.map((b, j) => `WHEN ${b} IS NOT NULL THEN ${j + 1}`).join(' ')} END AS feature_index, coalesce(${bins.join(', ')}) AS bin, n FROM sets)`;
}

/** The condition keeping the rows whose inputs are inline (`inlineFeatureColumns`). */
function inlineCondition(specs: readonly FeatureBinSpec[]): string {
  const { all, columns } = inlineFeatureColumns(specs);
  return all ? `${columns[0]} IS NOT NULL` : `(${columns.map((c) => `${c} IS NOT NULL`).join(' OR ')})`;
}

/** The training shares as VALUES rows `(feature_index, feature, bin, share)`. */
function expectedShares(specs: readonly FeatureBinSpec[]): string {
  return specs
    .flatMap(({ feature: f, featureIndex }) =>
      f.proportions.map((share, bin) => `(${featureIndex}, ${str(f.name)}, ${bin}, ${dbl(share)})`),
    )
    .join(',\n  ');
}

/** The window's rows of `feature_bins` made with these bins (a FROM … WHERE to extend with AND). */
function countedBins(model: string, specs: readonly FeatureBinSpec[]): string {
  return `${FEATURE_BINS_TABLE} WHERE dt >= ? AND ${model} AND baseline = ${str(featureBinsFingerprint(specs))}`;
}

/**
 * CTEs `count_days` (closed days whose `counted` rows cover them: no row the stream wrote since) and
 * `row_days` (every other day of the window, binned from its rows).
 */
function countAndRowDays(model: string, counted: string): string {
  return `days AS (SELECT DISTINCT dt FROM predictions WHERE dt >= ? AND ${model}),
raw_days AS (SELECT DISTINCT dt FROM predictions WHERE dt >= ? AND ${model} AND compacted_at IS NULL),
counted_days AS (SELECT DISTINCT dt FROM ${counted}),
count_days AS (SELECT d.dt FROM days d JOIN counted_days c ON c.dt = d.dt LEFT JOIN raw_days r ON r.dt = d.dt WHERE r.dt IS NULL),
row_days AS (SELECT d.dt FROM days d LEFT JOIN count_days c ON c.dt = d.dt WHERE c.dt IS NULL)`;
}

/**
 * Per day, version and baseline feature, the inline predictions and how many of them had no value
 * (`missing_rate` = missing / predictions), as the quality job's missing rates count them. A counted
 * closed day is read from the compactor's counts (their NULL bin is the missing values; a feature never
 * missing has none), every other day from its rows, each prediction once, in one grouped pass whose
 * per-feature sums are then unfolded into rows.
 */
function missingRateByDay(manifest: ModelManifest, baseline: ModelBaseline): string {
  const specs = featureBinSpecs(manifest, baseline);
  const model = ofModel(manifest);
  const counted = countedBins(model, specs);
  const sums = specs.map((s) => `m${s.featureIndex}`);
  return `WITH ${countAndRowDays(model, counted)},
${predictionsOnce(['dt', 'version', ...specs.map((s) => s.column.name)], `${model} AND ${inlineCondition(specs)} AND dt IN (SELECT dt FROM row_days)`)},
live AS (SELECT dt, version, count(*) AS n,
${specs.map((s, j) => `  sum(CASE WHEN ${s.column.name} IS NULL THEN 1 ELSE 0 END) AS ${sums[j]}`).join(',\n')}
  FROM p GROUP BY dt, version),
features(feature_index, feature) AS (VALUES
  ${specs.map((s) => `(${s.featureIndex}, ${str(s.feature.name)})`).join(',\n  ')}),
u AS (SELECT l.dt, l.version, x.feature_index, l.n,
  CASE x.feature_index ${sums.map((m, j) => `WHEN ${j + 1} THEN ${m}`).join(' ')} END AS missing
  FROM live l CROSS JOIN features x
  UNION ALL SELECT dt, version, CAST(feature_index AS INTEGER), CAST(sum(n) AS BIGINT),
  CAST(sum(CASE WHEN bin IS NULL THEN n ELSE 0 END) AS BIGINT)
  FROM ${counted} AND dt IN (SELECT dt FROM count_days)
  GROUP BY dt, version, feature_index)
SELECT u.dt AS day, u.version, x.feature, u.n AS predictions, u.missing, CAST(u.missing AS DOUBLE) / u.n AS missing_rate
FROM u JOIN features x ON x.feature_index = u.feature_index
WHERE u.n > 0
ORDER BY day, version, u.feature_index`;
}

/**
 * Per-feature PSI of the inline inputs against the baseline: decile bins for numeric features, one bin
 * per category (and one for any other value) for string and bool features. The baseline is written
 * into the query (bins as one CASE per feature column, training shares as VALUES), so it runs on the
 * tables alone.
 *
 * A closed day whose counts the compactor wrote with these bins (`feature_bins`, contract/feature-bins.ts)
 * and which holds no rows the stream wrote since is read from its counts; every other day (the open day,
 * a day with a late batch not yet folded in, a day compacted before the counts existed or under another
 * baseline) is binned from its rows, each prediction once. Both engines read only the days' files each
 * side needs (DuckDB's and Trino's dynamic filters on `dt IN (…)`), and the answer is the one binning
 * every row gives (`featureDriftRowsSql`).
 */
function featureDrift(manifest: ModelManifest, baseline: ModelBaseline): string {
  const specs = featureBinSpecs(manifest, baseline);
  const model = ofModel(manifest);
  const counted = countedBins(model, specs);
  const columns = specs.map((s) => s.column.name);
  return `WITH ${countAndRowDays(model, counted)},
${predictionsOnce(['version', ...columns], `${model} AND ${inlineCondition(specs)} AND dt IN (SELECT dt FROM row_days)`)},
${binnedCounts(specs, 'live')},
counts AS (SELECT version, feature_index, bin, sum(n) AS n FROM (SELECT version, feature_index, bin, n FROM live
  UNION ALL SELECT version, CAST(feature_index AS INTEGER), CAST(bin AS INTEGER), CAST(n AS BIGINT) FROM ${counted} AND bin IS NOT NULL AND dt IN (SELECT dt FROM count_days)) u
  GROUP BY version, feature_index, bin),
expected(feature_index, feature, bin, share) AS (VALUES
  ${expectedShares(specs)}),
${psiSelect()}
ORDER BY t.version, psi DESC, e.feature`;
}

/**
 * The feature-drift query as it was before the compactor's counts: every row of the window binned
 * (one pass, the grouping sets counting every feature's bins together). The bench runs it beside the
 * named query, and the tests hold the two answers equal.
 */
export function featureDriftRowsSql(manifest: ModelManifest, baseline: ModelBaseline): string {
  const specs = featureBinSpecs(manifest, baseline);
  return `WITH ${predictionsOnce(['version', ...specs.map((s) => s.column.name)], `${ofModel(manifest)} AND ${inlineCondition(specs)}`)},
${binnedCounts(specs, 'counts')},
expected(feature_index, feature, bin, share) AS (VALUES
  ${expectedShares(specs)}),
${psiSelect()}
ORDER BY t.version, psi DESC, e.feature`;
}

/** PSI of the predicted classes against the training class priors: one categorical variable whose bins are the labels. */
function predictionDrift(manifest: ModelManifest, baseline: ModelBaseline): string {
  const priors = Object.entries(baseline.classPriors ?? {});
  if (priors.length === 0) throw new Error('prediction-drift needs class priors in the baseline (classifiers only)');
  const expected = priors.map(([label, share]) => `(1, 'predicted_label', ${str(label)}, ${dbl(share)})`).join(',\n  ');
  return `WITH ${predictionsOnce(['version', 'predicted_label'], `${ofModel(manifest)} AND predicted_label IS NOT NULL`)},
counts AS (SELECT version, 1 AS feature_index, predicted_label AS bin, count(*) AS n FROM p GROUP BY version, predicted_label),
expected(feature_index, feature, bin, share) AS (VALUES
  ${expected}),
${psiSelect()}
ORDER BY t.version`;
}

/**
 * The SQL of a named query for a model (feature drift reads its column types) and its baseline (drift
 * queries need one; the others ignore it).
 */
export function namedQuerySql(name: NamedQuery, manifest: ModelManifest, baseline: ModelBaseline | undefined): string {
  if (name === 'feature-drift' || name === 'prediction-drift' || name === 'missing-rate-by-day') {
    if (baseline === undefined) throw new Error(`${name} needs the model's baseline.json`);
    if (name === 'missing-rate-by-day') return missingRateByDay(manifest, baseline);
    return name === 'feature-drift' ? featureDrift(manifest, baseline) : predictionDrift(manifest, baseline);
  }
  if (name === 'roc-auc') return rocAucSql(manifest);
  if (name === 'versions-side-by-side') return versionsSideBySide(manifest);
  return fixedQuery(name, manifest);
}

/** Queries about predicted labels, which only classifiers have, and about predicted values, which only regressors have. */
const CLASSIFIER_QUERIES: readonly NamedQuery[] = [
  'accuracy-by-day',
  'confusion-matrix',
  'class-metrics',
  'calibration',
  'roc-auc',
  'prediction-drift',
];
const REGRESSOR_QUERIES: readonly NamedQuery[] = ['regression-error-by-day'];

/**
 * The named queries a model supports: label queries for classifiers, error queries for regressors;
 * feature drift and missing rates need a baseline and tabular inputs (the store keeps no pixel columns), prediction
 * drift a classifier's class priors, ROC AUC two labels.
 */
export function namedQueriesFor(manifest: ModelManifest, baseline: ModelBaseline | undefined): NamedQuery[] {
  const other = manifest.output.kind === 'classification' ? REGRESSOR_QUERIES : CLASSIFIER_QUERIES;
  const binary = manifest.output.kind === 'classification' && manifest.output.labels.length === 2;
  return NAMED_QUERIES.filter((q) =>
    other.includes(q) || (q === 'roc-auc' && !binary)
      ? false
      : q === 'feature-drift' || q === 'missing-rate-by-day'
        ? baseline !== undefined && manifest.input.kind === 'tabular'
        : q === 'prediction-drift'
          ? baseline?.classPriors !== undefined
          : true,
  );
}

/**
 * The dashboard summary of a long window (`GET /metrics/summary` over 24 h) for one model: one row per
 * predicted label (one NULL row for regression) with its predictions, fed-back predictions and hits,
 * and the latency percentiles of the whole window as candidates — the nearest-rank rule over every row
 * (`row_number()` across the window), so the smallest candidate over the rows is the window's
 * percentile. Same dialect rules and `dt >= ?` parameter as the named queries; the model name is
 * written in (it is restricted to safe characters by the manifest schema).
 */
export function summarySql(manifest: Pick<ModelManifest, 'name'>): string {
  const model = ofModel(manifest);
  return `WITH ${predictionsOnce(['predicted_label', 'latency_ms'], model)},
${latestFeedback(model)},
r AS (SELECT p.predicted_label, p.latency_ms, f.actual,
  row_number() OVER (ORDER BY p.latency_ms) AS rn,
  count(*) OVER () AS n
  FROM p LEFT JOIN f ON f.id = p.id)
SELECT predicted_label, count(*) AS predictions, count(actual) AS with_feedback,
  sum(CASE WHEN actual = predicted_label THEN 1 ELSE 0 END) AS correct,
  min(CASE WHEN rn >= ceil(5.0E-1 * n) THEN latency_ms END) AS p50,
  min(CASE WHEN rn >= ceil(9.0E-1 * n) THEN latency_ms END) AS p90,
  min(CASE WHEN rn >= ceil(9.9E-1 * n) THEN latency_ms END) AS p99
FROM r
GROUP BY predicted_label
ORDER BY predicted_label`;
}

/** Counts the `?` parameters of a query (all of them take the first day of the window). */
export function parameterCount(sql: string): number {
  return (sql.replace(/'(?:[^']|'')*'/g, '').match(/\?/g) ?? []).length;
}

/**
 * The labeled predictions of a tabular model, for a training snapshot: each prediction once, its inputs
 * as the model saw them (the feature columns), the latest feedback as `actual`, oldest first — the
 * snapshot holds the most recent rows out. Same dialect and `dt >= ?` parameters as the named queries;
 * Athena runs it inside an `UNLOAD`, DuckDB as it is.
 */
export function labeledPredictionsSql(manifest: ModelManifest): string {
  const model = ofModel(manifest);
  const features = featureColumnsOf(manifest).map((c) => c.name);
  return `WITH ${predictionsOnce([...features, 'ts'], model)},
${latestFeedback(model)}
SELECT ${features.map((c) => `p.${c}`).join(', ')}, f.actual, p.ts
FROM p JOIN f ON f.id = p.id
ORDER BY p.ts, p.id`;
}

/** A tabular model's feature columns in manifest order (the analytics column of each feature). */
export function featureColumnsOf(manifest: ModelManifest): ColumnSpec[] {
  if (manifest.input.kind !== 'tabular') throw new Error('Only a tabular model keeps its inputs as columns of the analytics store.');
  return tableColumns('predictions', manifest)
    .filter((c) => c.featureIndex !== undefined)
    .sort((a, b) => (a.featureIndex as number) - (b.featureIndex as number));
}
