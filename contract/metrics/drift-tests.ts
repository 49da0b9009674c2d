/**
 * Drift tests with p-values, beside PSI: a live sample against the training baseline, answering
 * "insufficient data" below a minimum sample instead of a number that is mostly noise.
 *
 * Numeric features — two-sample Kolmogorov–Smirnov, adapted to a binned baseline. The baseline keeps
 * only the training CDF at its k − 1 decile edges, so the statistic is D = max over the edges of
 * |F_live(edge) − F_train(edge)| (`ks` in ../drift), a lower bound of the exact two-sample D. The
 * p-value is the asymptotic Kolmogorov tail Q_KS((√nₑ + 0.12 + 0.11/√nₑ)·D) with the effective sample
 * size nₑ = n·m / (n + m) (n live values, m training rows) and Stephens' small-sample correction. Because
 * D can only be smaller than the exact statistic, the p-value is conservative: it may miss a shift that
 * happens between two edges, it does not invent one.
 *
 * Categorical features and predicted classes — chi-square test of homogeneity on the 2 × k table of
 * training counts (share × rows, the baseline's "any other value" included) and live counts; categories
 * neither sample holds are dropped, and categories whose expected count in the smaller sample is under
 * 5 (Cochran's rule) are pooled into one cell, so an unseen category is evidence in proportion to how
 * often it appears rather than an infinite statistic. df = cells − 1; the p-value is the chi-square
 * survival function (regularized upper incomplete gamma).
 *
 * Missing values (null, NaN) are left out of both tests: the missing rate is measured on its own.
 */
import { type FeatureBaseline, isCategorical, type ModelBaseline } from '../baseline';
import { type BinnedDistribution, categoryCounts, ks } from '../drift';
import { chiSquareSurvival, kolmogorovSurvival } from './distributions';
import { isMissing } from './missing-values';
import { DEFAULT_QUALITY_THRESHOLDS } from './thresholds';

/** Fewer values than the minimum: no verdict. */
export interface InsufficientData {
  status: 'insufficient-data';
  n: number;
  minimum: number;
}

export interface KsTestResult {
  status: 'tested';
  test: 'ks';
  /** KS distance at the baseline's bin edges. */
  statistic: number;
  pValue: number;
  /** Live values compared (missing ones left out). */
  n: number;
  /** n·m / (n + m), m the baseline's training rows. */
  effectiveN: number;
  /** pValue below the threshold. */
  drifted: boolean;
}

export interface ChiSquareTestResult {
  status: 'tested';
  test: 'chi-square';
  statistic: number;
  pValue: number;
  /** Degrees of freedom: the cells after pooling, less one (0 when one cell is left: no evidence of drift). */
  df: number;
  n: number;
  drifted: boolean;
}

export type DriftTestResult = InsufficientData | KsTestResult | ChiSquareTestResult;

export interface DriftTestOptions {
  /** @default DEFAULT_QUALITY_THRESHOLDS.minimumSample */
  minimumSample?: number;
  /** @default DEFAULT_QUALITY_THRESHOLDS.driftPValue */
  pValue?: number;
}

/** Expected count below which a chi-square cell is pooled (Cochran's rule). */
export const MIN_EXPECTED_COUNT = 5;

function settings(options: DriftTestOptions): { minimum: number; alpha: number } {
  return {
    minimum: options.minimumSample ?? DEFAULT_QUALITY_THRESHOLDS.minimumSample,
    alpha: options.pValue ?? DEFAULT_QUALITY_THRESHOLDS.driftPValue,
  };
}

function checkRows(rows: number): void {
  if (!(Number.isInteger(rows) && rows > 0)) throw new Error(`The baseline's training rows must be a positive whole number, got ${rows}`);
}

/** KS test of the finite numbers among `values` against a binned baseline of `rows` training values. */
export function ksTest(
  baseline: BinnedDistribution,
  rows: number,
  values: ArrayLike<unknown>,
  options: DriftTestOptions = {},
): DriftTestResult {
  checkRows(rows);
  const { minimum, alpha } = settings(options);
  const live: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v)) live.push(v);
  }
  const n = live.length;
  if (n < minimum) return { status: 'insufficient-data', n, minimum };
  const statistic = ks(baseline, live);
  const effectiveN = (n * rows) / (n + rows);
  const root = Math.sqrt(effectiveN);
  const pValue = kolmogorovSurvival((root + 0.12 + 0.11 / root) * statistic);
  return { status: 'tested', test: 'ks', statistic, pValue, n, effectiveN, drifted: pValue < alpha };
}

/**
 * Pearson's chi-square test of homogeneity of two count vectors over the same categories (a 2 × k
 * table), with empty categories dropped and sparse ones pooled (see the module comment). The pooled
 * cell, if still sparse, joins the smallest other cell.
 */
export function chiSquareHomogeneity(
  a: readonly number[],
  b: readonly number[],
  minExpected = MIN_EXPECTED_COUNT,
): { statistic: number; df: number } {
  if (a.length !== b.length) throw new Error(`chi-square needs the same categories: ${a.length} vs ${b.length}`);
  if ([...a, ...b].some((c) => !(c >= 0) || !Number.isFinite(c))) throw new Error('chi-square counts must be finite and non-negative');
  const na = a.reduce((s, c) => s + c, 0);
  const nb = b.reduce((s, c) => s + c, 0);
  const total = na + nb;
  if (na === 0 || nb === 0) return { statistic: 0, df: 0 };
  const smaller = Math.min(na, nb);
  const cells: [number, number][] = [];
  const sparse: [number, number] = [0, 0];
  a.forEach((x, j) => {
    const y = b[j] as number; // a.length === b.length
    if (x + y === 0) return;
    if ((smaller * (x + y)) / total < minExpected) {
      sparse[0] += x;
      sparse[1] += y;
    } else cells.push([x, y]);
  });
  if (sparse[0] + sparse[1] > 0) {
    const smallest = cells.reduce<[number, number] | undefined>(
      (m, c) => (m === undefined || c[0] + c[1] < m[0] + m[1] ? c : m),
      undefined,
    );
    if (smallest !== undefined && (smaller * (sparse[0] + sparse[1])) / total < minExpected) {
      smallest[0] += sparse[0];
      smallest[1] += sparse[1];
    } else cells.push(sparse);
  }
  let statistic = 0;
  for (const [x, y] of cells) {
    const ea = (na * (x + y)) / total;
    const eb = (nb * (x + y)) / total;
    statistic += (x - ea) ** 2 / ea + (y - eb) ** 2 / eb;
  }
  return { statistic, df: cells.length - 1 };
}

/** Chi-square test of live counts against training shares of a baseline of `rows` rows (the same categories, in order). */
export function chiSquareTest(
  trainingShares: readonly number[],
  rows: number,
  live: readonly number[],
  options: DriftTestOptions = {},
): DriftTestResult {
  checkRows(rows);
  const { minimum, alpha } = settings(options);
  const n = live.reduce((s, c) => s + c, 0);
  if (n < minimum) return { status: 'insufficient-data', n, minimum };
  const { statistic, df } = chiSquareHomogeneity(
    trainingShares.map((s) => s * rows),
    live,
  );
  const pValue = df === 0 ? 1 : chiSquareSurvival(statistic, df);
  return { status: 'tested', test: 'chi-square', statistic, pValue, df, n, drifted: pValue < alpha };
}

/** The drift test of one baseline feature: KS for numbers, chi-square for categories (missing values left out). */
export function featureDriftTest(
  feature: FeatureBaseline,
  rows: number,
  values: ArrayLike<unknown>,
  options: DriftTestOptions = {},
): DriftTestResult {
  if (!isCategorical(feature)) return ksTest(feature, rows, values, options);
  const present: unknown[] = [];
  for (let i = 0; i < values.length; i++) if (!isMissing(values[i])) present.push(values[i]);
  return chiSquareTest(feature.proportions, rows, categoryCounts(feature.categories, present), options);
}

/** Chi-square test of the predicted classes against the training class priors; a label the priors lack is a category with no training share. */
export function predictionDriftTest(
  classPriors: Readonly<Record<string, number>>,
  rows: number,
  predicted: readonly string[],
  options: DriftTestOptions = {},
): DriftTestResult {
  const labels = Object.keys(classPriors);
  const known = new Set(labels);
  for (const label of predicted) {
    if (known.has(label)) continue;
    known.add(label);
    labels.push(label);
  }
  const counts = categoryCounts(labels, predicted).slice(0, labels.length); // every label is listed: nothing falls in the "other" slot
  return chiSquareTest(
    labels.map((l) => classPriors[l] ?? 0),
    rows,
    counts,
    options,
  );
}

export type DriftedShare =
  | {
      status: 'tested';
      /** Features with a verdict (enough data). */
      tested: number;
      drifted: number;
      /** drifted / tested. */
      share: number;
      /** share at or above the threshold. */
      alert: boolean;
    }
  | InsufficientData;

/** The share of drifted features among those tested, as one figure; insufficient data when none could be tested. */
export function driftedShare(
  results: readonly DriftTestResult[],
  threshold = DEFAULT_QUALITY_THRESHOLDS.driftedFeatureShare,
): DriftedShare {
  const tested = results.filter((r) => r.status === 'tested');
  if (tested.length === 0) {
    const n = results.reduce((m, r) => Math.max(m, r.n), 0);
    const minimum = results.reduce(
      (m, r) => Math.max(m, r.status === 'insufficient-data' ? r.minimum : 0),
      results.length === 0 ? DEFAULT_QUALITY_THRESHOLDS.minimumSample : 0,
    );
    return { status: 'insufficient-data', n, minimum };
  }
  const drifted = tested.filter((r) => r.drifted).length;
  const share = drifted / tested.length;
  return { status: 'tested', tested: tested.length, drifted, share, alert: share >= threshold };
}

export interface FeatureDriftTest {
  feature: string;
  result: DriftTestResult;
}

/**
 * Every baseline feature's test over the rows (row[j] is the value of baseline feature j, the model's
 * input order), in baseline order.
 */
export function featureDriftTests(
  baseline: Pick<ModelBaseline, 'rows' | 'features'>,
  rows: ReadonlyArray<ArrayLike<unknown>>,
  options: DriftTestOptions = {},
): FeatureDriftTest[] {
  const column = new Array<unknown>(rows.length);
  return baseline.features.map((f, j) => {
    rows.forEach((row, i) => {
      column[i] = row[j];
    });
    return { feature: f.name, result: featureDriftTest(f, baseline.rows, column, options) };
  });
}

/** KS test of a regressor's predicted values against the baseline's; undefined when the baseline holds no predicted-value bins. */
export function predictedValueDriftTest(
  baseline: Pick<ModelBaseline, 'rows' | 'prediction'>,
  values: ArrayLike<number>,
  options: DriftTestOptions = {},
): DriftTestResult | undefined {
  return baseline.prediction === undefined ? undefined : ksTest(baseline.prediction, baseline.rows, values, options);
}
