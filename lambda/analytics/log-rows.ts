/**
 * From a prediction log item to analytics rows. The one place that reads log attributes for the
 * analytics store: `id`, `model`, `modelVersion`, `timestamp`, `label`, `output` (probabilities or
 * value), `latencyMs`, `apiKeyId`, `input`, `inputKey` and `feedback.{label,at}`. The request id is
 * left out: no analytics question needs it, it is the costliest column (random text), and the log item
 * keeps it.
 */
import type { FeedbackRow, PredictionRow } from '../../contract/analytics';
import type { ModelManifest } from '../../contract/manifest';
import { LOG_TABLE, type PredictionRecord } from '../../contract/prediction-log';
import { inputValues } from '../quality/analyze';

/** Whether a log item is a logged prediction (idempotency records carry no index key). */
export function isPredictionItem(item: Record<string, unknown>): item is PredictionRecord & Record<string, unknown> {
  return typeof item[LOG_TABLE.byModelIndex.partitionKey] === 'string' && typeof item[LOG_TABLE.partitionKey] === 'string';
}

export function predictionRow(manifest: ModelManifest, r: PredictionRecord): PredictionRow {
  const output = (r.output ?? {}) as { label?: unknown; probabilities?: Record<string, unknown>; value?: unknown };
  const label = typeof r.label === 'string' ? r.label : typeof output.label === 'string' ? output.label : null;
  const score = label !== null && typeof output.probabilities?.[label] === 'number' ? (output.probabilities[label] as number) : null;
  const values = r.input === undefined ? undefined : inputValues(manifest, r.input);
  return {
    id: r.id,
    model: r.model,
    version: r.modelVersion,
    ts: timeOf(r.timestamp, 'timestamp', r.id),
    predicted_label: label,
    score,
    predicted_value: typeof output.value === 'number' ? output.value : null,
    latency_ms: r.latencyMs,
    api_key_id: r.apiKeyId ?? null,
    features: values ?? null,
    input_key: r.inputKey ?? null,
  };
}

/** The feedback row of an item that carries feedback, else undefined. */
export function feedbackRow(r: PredictionRecord): FeedbackRow | undefined {
  if (r.feedback === undefined) return undefined;
  return { id: r.id, model: r.model, version: r.modelVersion, ts: timeOf(r.timestamp, 'timestamp', r.id), label: r.feedback.label, received_at: timeOf(r.feedback.at, 'feedback.at', r.id) };
}

function timeOf(iso: string, field: string, id: string): Date {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`Log item ${id}: ${field} "${iso}" is not an ISO time`);
  return new Date(t);
}
