/**
 * From a prediction log item to analytics rows. The one place that reads log attributes for the
 * analytics store: `id`, `model`, `modelVersion`, `createdAt`, `label`, `probabilities`,
 * `predictedValue`, `latencyMs`, `apiKeyId`, `inputValues`, `inputKey`, `feedback.{label,givenAt}`, and of shadow
 * predictions (`shadowRecordsOf` of the `shadow` inside an answered item, or an earlier release's separate
 * item) `shadowOf` and `shadowError`. The request id is
 * left out: no analytics question needs it, it is the costliest column (random text), and the log item
 * keeps it.
 */
import type { AnswerCells, FeedbackRow, PredictionRow, ShadowRow } from '../../contract/analytics';
import type { ModelManifest } from '../../contract/manifest';
import { LOG_TABLE, type PredictionRecord, shadowRecordsOf } from '../../contract/prediction-log';
import { inputValues } from '../quality/analyze';

export function predictionRow(manifest: ModelManifest, r: PredictionRecord): PredictionRow {
  const values = r.inputValues === undefined ? undefined : inputValues(manifest, r.inputValues);
  return {
    id: r.id,
    model: r.model,
    ...answerOf(r),
    api_key_id: r.apiKeyId ?? null,
    features: values === undefined ? null : values.map((v) => (typeof v === 'boolean' ? String(v) : v)),
    input_key: r.inputKey ?? null,
  };
}

/**
 * The shadow rows of a log item: the shadow prediction inside an answered item, or the item itself when
 * it is one (a separate `#shadow` item of an earlier release); none for an answered item without one.
 */
export function shadowRowsOf(r: PredictionRecord): ShadowRow[] {
  return (r.shadowOf !== undefined ? [r] : shadowRecordsOf([r])).map((s) => shadowRow({ ...s, shadowOf: s.shadowOf ?? r.id }));
}

/** The row of a shadow prediction (a record with `shadowOf`), under the partition of the model it shadows. */
function shadowRow(r: PredictionRecord & { shadowOf: string }): ShadowRow {
  const suffix = LOG_TABLE.shadowSuffix;
  return {
    id: r.id,
    model: r.model.endsWith(suffix) ? r.model.slice(0, -suffix.length) : r.model,
    shadow_of: r.shadowOf,
    ...answerOf(r),
    shadow_error: r.shadowError ?? null,
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

/**
 * What answered and shadow rows say alike of a prediction: the version, time, answer and latency. The
 * score is the predicted label's probability.
 */
function answerOf(r: PredictionRecord): AnswerCells {
  const label = typeof r.label === 'string' ? r.label : null;
  return {
    version: r.modelVersion,
    ts: timeOf(r.createdAt, 'createdAt', r.id),
    predicted_label: label,
    score: label !== null && typeof r.probabilities?.[label] === 'number' ? r.probabilities[label] : null,
    predicted_value: typeof r.predictedValue === 'number' ? r.predictedValue : null,
    latency_ms: r.latencyMs,
  };
}

function timeOf(iso: string, field: string, id: string): Date {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`Log item ${id}: ${field} "${iso}" is not an ISO time`);
  return new Date(t);
}
