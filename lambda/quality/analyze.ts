/**
 * One window of the prediction log compared with the model's baseline: per model version, the
 * per-feature drift of the logged inputs, the drift of the predicted classes against the class priors,
 * and the accuracy (or error) of the predictions that received feedback.
 */
import { type FeatureBaseline, isCategorical, type ModelBaseline } from '../../contract/baseline';
import { categoricalPsi, featureKs, featurePsi, ks, psi } from '../../contract/drift';
import type { FeatureValue, ModelManifest } from '../../contract/manifest';
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

/** Groups the window by model version and measures each group. */
export function analyzeWindow(
  manifest: ModelManifest,
  baseline: ModelBaseline | undefined,
  records: readonly PredictionRecord[],
): VersionQuality[] {
  const byVersion = new Map<string, PredictionRecord[]>();
  for (const r of records) {
    const list = byVersion.get(r.modelVersion);
    if (list) list.push(r);
    else byVersion.set(r.modelVersion, [r]);
  }
  return [...byVersion.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([modelVersion, group]) => analyzeVersion(manifest, baseline, modelVersion, group));
}

function analyzeVersion(
  manifest: ModelManifest,
  baseline: ModelBaseline | undefined,
  modelVersion: string,
  records: PredictionRecord[],
): VersionQuality {
  const quality = manifest.output.kind === 'classification' ? classifierQuality(records) : regressionQuality(records);
  const rows: LoggedValue[][] = [];
  for (const r of records) {
    const values = inputValues(manifest, r.inputValues);
    if (values !== undefined) rows.push(values);
  }
  const features = baseline !== undefined && rows.length > 0 ? featureDrift(baseline.features, rows) : [];
  const out: VersionQuality = { modelVersion, predictions: records.length, comparableInputs: rows.length, features, quality };
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
