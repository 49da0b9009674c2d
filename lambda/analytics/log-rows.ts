/**
 * From a prediction log item to analytics rows. The one place that reads log attributes for the
 * analytics store: `id`, `model`, `modelVersion`, `createdAt`, `label`, `probabilities`,
 * `predictedValue`, `latencyMs`, `apiKeyId`, `inputValues`, `inputKey` and `feedback.{label,givenAt}`. The request id is
 * left out: no analytics question needs it, it is the costliest column (random text), and the log item
 * keeps it.
 */
import type { FeedbackRow, PredictionRow } from '../../contract/analytics';
import type { ModelManifest } from '../../contract/manifest';
import type { PredictionRecord } from '../../contract/prediction-log';
import { inputValues } from '../quality/analyze';

export function predictionRow(manifest: ModelManifest, r: PredictionRecord): PredictionRow {
  const label = typeof r.label === 'string' ? r.label : null;
  const score = label !== null && typeof r.probabilities?.[label] === 'number' ? r.probabilities[label] : null;
  const values = r.inputValues === undefined ? undefined : inputValues(manifest, r.inputValues);
  return {
    id: r.id,
    model: r.model,
    version: r.modelVersion,
    ts: timeOf(r.createdAt, 'createdAt', r.id),
    predicted_label: label,
    score,
    predicted_value: typeof r.predictedValue === 'number' ? r.predictedValue : null,
    latency_ms: r.latencyMs,
    api_key_id: r.apiKeyId ?? null,
    features: values === undefined ? null : values.map((v) => (typeof v === 'boolean' ? String(v) : v)),
    input_key: r.inputKey ?? null,
  };
}

/** The feedback row of an item that carries feedback, else undefined. */
export function feedbackRow(r: PredictionRecord): FeedbackRow | undefined {
  if (r.feedback === undefined) return undefined;
  return {
    id: r.id,
    model: r.model,
    version: r.modelVersion,
    ts: timeOf(r.createdAt, 'createdAt', r.id),
    // The table's label column is text (regression values as decimal text, as older items hold them).
    label: String(r.feedback.label),
    received_at: timeOf(r.feedback.givenAt, 'feedback.givenAt', r.id),
  };
}

function timeOf(iso: string, field: string, id: string): Date {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`Log item ${id}: ${field} "${iso}" is not an ISO time`);
  return new Date(t);
}
