/**
 * One window of the prediction log compared with the model's baseline: per model version, the
 * per-feature drift of the logged inputs (PSI, and KS or chi-square tests with the share of features that
 * drifted), the missing rate per feature, the drift of the predictions, the quality of the predictions
 * that received feedback, and how long that feedback took.
 */
import { type FeatureBaseline, isCategorical, type ModelBaseline } from '../../contract/baseline';
import { categoricalPsi, featureKs, featurePsi, ks, psi } from '../../contract/drift';
import type { FeatureValue, ModelManifest } from '../../contract/manifest';
import {
  type DriftedShare,
  type DriftTestOptions,
  type DriftTestResult,
  driftedShare,
  type FeatureDriftTest,
  featureDriftTests,
  predictedValueDriftTest,
  predictionDriftTest,
} from '../../contract/metrics/drift-tests';
import { type LabelDelay, labelDelayStats, labelDelays } from '../../contract/metrics/label-delay';
import { type MissingRate, missingRates } from '../../contract/metrics/missing-values';
import { DEFAULT_QUALITY_THRESHOLDS, type QualityThresholds } from '../../contract/metrics/thresholds';
import type { PredictionRecord } from '../../contract/prediction-log';
import { type ClassifierQuality, classifierQuality, predictedLabel, type RegressionQuality, regressionQuality } from './accuracy';

export interface FeatureDrift {
  feature: string;
  psi: number;
  ks: number;
}

export interface VersionQuality {
  modelVersion: string;
  /** Predictions of this version in the window. */
  predictions: number;
  /** Of those, how many had inputs the job could read (inline numbers; not encoded images or S3 references). */
  comparableInputs: number;
  /** Per-feature drift, largest PSI first; empty when no input was comparable. */
  features: FeatureDrift[];
  maxFeaturePsi?: number;
  /** Drift of the predicted classes against the training class priors (classifiers with priors). */
  predictionPsi?: number;
  quality: ClassifierQuality | RegressionQuality;
  /** Each baseline feature's drift test (KS or chi-square) over the logged rows, in baseline order. */
  driftTests: FeatureDriftTest[];
  /** Share of the tested features that drifted, or why none could be tested. */
  driftedShare: DriftedShare;
  /**
   * The predictions' drift test: chi-square of the classes against the priors, KS of regression values
   * against the baseline's predicted-value bins; undefined when the baseline holds neither.
   */
  predictionDrift?: DriftTestResult;
  /** Tabular models: per feature, the share of logged values that were missing. */
  missing: MissingRate[];
  /** Time from prediction to first feedback of the window's fed-back predictions. */
  labelDelay: LabelDelay;
}

/** A logged input value; null is a nullable feature's missing value. */
export type LoggedValue = FeatureValue | null;

/** The model-input values of a logged instance, or undefined when the log does not hold them inline. */
export function inputValues(manifest: ModelManifest, input: unknown): LoggedValue[] | undefined {
  if (manifest.input.kind === 'tabular') {
    const features = manifest.input.features;
    // Numbers for numeric features (or null for a nullable one's missing value), strings for categorical
    // ones, booleans for bool ones. Rows given to it have one value per feature.
    const fits = (row: unknown[]) =>
      features.every((f, j) => {
        const v = row[j];
        if (v === null) return f.nullable === true;
        return f.type === 'string' ? typeof v === 'string' : f.type === 'bool' ? typeof v === 'boolean' : isNumber(v);
      });
    if (Array.isArray(input)) return input.length === features.length && fits(input) ? (input as LoggedValue[]) : undefined;
    if (input !== null && typeof input === 'object') {
      const o = input as Record<string, unknown>;
      const row = features.map((f) => o[f.name]);
      return fits(row) ? (row as LoggedValue[]) : undefined;
    }
    return undefined;
  }
  // Images: only numeric pixel arrays (already preprocessed, like the baseline) are comparable; an
  // encoded PNG/JPEG would have to be decoded with the model server's preprocessing.
  const { width, height, channels } = manifest.input;
  if (!Array.isArray(input)) return undefined;
  const flat = (input as unknown[]).flat(2);
  return flat.length === width * height * channels && flat.every(isNumber) ? (flat as number[]) : undefined;
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * The logged values of a tabular instance as a row of the model's features, missing ones (null) kept:
 * the drift tests leave them out and the missing rates count them. Undefined for other inputs.
 */
export function loggedRow(manifest: ModelManifest, input: unknown): readonly unknown[] | undefined {
  if (manifest.input.kind !== 'tabular') return undefined;
  const features = manifest.input.features;
  if (Array.isArray(input)) return input.length === features.length ? input : undefined;
  if (input !== null && typeof input === 'object') return features.map((f) => (input as Record<string, unknown>)[f.name] ?? null);
  return undefined;
}

/** Groups the window by model version and measures each group. */
export function analyzeWindow(
  manifest: ModelManifest,
  baseline: ModelBaseline | undefined,
  records: readonly PredictionRecord[],
  thresholds: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS,
): VersionQuality[] {
  const byVersion = new Map<string, PredictionRecord[]>();
  for (const r of records) {
    const list = byVersion.get(r.modelVersion);
    if (list) list.push(r);
    else byVersion.set(r.modelVersion, [r]);
  }
  return [...byVersion.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([modelVersion, group]) => analyzeVersion(manifest, baseline, modelVersion, group, thresholds));
}

/**
 * The model as served: every answered prediction of the window together, whichever version answered it
 * (its `modelVersion` names them, joined by `+`); undefined for an empty window. What the alarms judge,
 * so they follow a promotion made without a deploy.
 */
export function analyzeServed(
  manifest: ModelManifest,
  baseline: ModelBaseline | undefined,
  records: readonly PredictionRecord[],
  thresholds: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS,
): VersionQuality | undefined {
  if (records.length === 0) return undefined;
  const versions = [...new Set(records.map((r) => r.modelVersion))].sort((a, b) => a.localeCompare(b));
  return analyzeVersion(manifest, baseline, versions.join('+'), [...records], thresholds);
}

function analyzeVersion(
  manifest: ModelManifest,
  baseline: ModelBaseline | undefined,
  modelVersion: string,
  records: PredictionRecord[],
  thresholds: QualityThresholds,
): VersionQuality {
  const { output } = manifest;
  const quality =
    output.kind === 'classification' ? classifierQuality(records, output.labels, thresholds.calibrationBins) : regressionQuality(records);
  const rows: LoggedValue[][] = [];
  const logged: (readonly unknown[])[] = [];
  for (const r of records) {
    const values = inputValues(manifest, r.inputValues);
    if (values !== undefined) rows.push(values);
    const row = loggedRow(manifest, r.inputValues);
    if (row !== undefined) logged.push(row);
  }
  const features = baseline !== undefined && rows.length > 0 ? featureDrift(baseline.features, rows) : [];
  const options = { minimumSample: thresholds.minimumSample, pValue: thresholds.driftPValue };
  // Tabular rows with their missing values; image models test the comparable pixel rows.
  const tested = manifest.input.kind === 'tabular' ? logged : rows;
  const driftTests = baseline === undefined ? [] : featureDriftTests(baseline, tested, options);
  const out: VersionQuality = {
    modelVersion,
    predictions: records.length,
    comparableInputs: rows.length,
    features,
    quality,
    driftTests,
    driftedShare: driftedShare(
      driftTests.map((t) => t.result),
      thresholds.driftedFeatureShare,
    ),
    missing:
      manifest.input.kind === 'tabular'
        ? missingRates(
            manifest.input.features.map((f) => f.name),
            logged,
          )
        : [],
    labelDelay: labelDelayStats(labelDelays(records)),
  };
  const predictionDrift = predictionDriftOf(manifest, baseline, records, options);
  if (predictionDrift !== undefined) out.predictionDrift = predictionDrift;
  const [largest] = features;
  if (largest !== undefined) out.maxFeaturePsi = largest.psi;
  if (manifest.output.kind === 'classification' && baseline?.classPriors !== undefined) {
    const counts: Record<string, number> = {};
    let labelled = 0;
    for (const r of records) {
      const label = predictedLabel(r);
      if (label === undefined) continue;
      counts[label] = (counts[label] ?? 0) + 1;
      labelled++;
    }
    if (labelled > 0) out.predictionPsi = categoricalPsi(baseline.classPriors, counts);
  }
  return out;
}

/** The predictions' drift test against the baseline, when it holds class priors (classifiers) or predicted-value bins (regression). */
function predictionDriftOf(
  manifest: ModelManifest,
  baseline: ModelBaseline | undefined,
  records: readonly PredictionRecord[],
  options: DriftTestOptions,
): DriftTestResult | undefined {
  if (baseline === undefined) return undefined;
  if (manifest.output.kind === 'regression') {
    const values = records.flatMap((r) => (typeof r.predictedValue === 'number' ? [r.predictedValue] : []));
    return predictedValueDriftTest(baseline, values, options);
  }
  if (baseline.classPriors === undefined) return undefined;
  const labels = records.flatMap((r) => predictedLabel(r) ?? []);
  return predictionDriftTest(baseline.classPriors, baseline.rows, labels, options);
}

/**
 * Per-feature PSI and KS over the rows (column j of every row against baseline feature j), largest PSI
 * first. Missing values (null) are left out of a numeric feature's distribution.
 */
export function featureDrift(baseline: readonly FeatureBaseline[], rows: readonly (readonly LoggedValue[])[]): FeatureDrift[] {
  const column = new Float64Array(rows.length);
  const out: FeatureDrift[] = [];
  for (const [j, f] of baseline.entries()) {
    if (isCategorical(f)) {
      const values = rows.map((r) => r[j]);
      out.push({ feature: f.name, psi: featurePsi(f, values), ks: featureKs(f, values) });
      continue;
    }
    let i = 0;
    for (const r of rows) {
      const v = r[j];
      if (typeof v === 'number') column[i++] = v;
    }
    const present = column.subarray(0, i);
    out.push({ feature: f.name, psi: psi(f, present), ks: ks(f, present) });
  }
  return out.sort((a, b) => b.psi - a.psi || a.feature.localeCompare(b.feature));
}
