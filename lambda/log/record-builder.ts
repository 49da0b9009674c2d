/**
 * The log record of one answered instance: the prediction, who asked, when, and the input as the model
 * saw it — inline when small, else stored in the data bucket under `predictions/` and named by key.
 */
import { predictionInputKey } from '../../contract/bucket';
import { LIMITS } from '../../contract/limits';
import type { FeatureValue, Instance, ModelManifest, Row } from '../../contract/manifest';
import type { InvocationResponse, Prediction } from '../../contract/prediction';
import { float32Decimal, type PredictionRecord } from '../../contract/prediction-log';
import { imageFormatOf, type ResolvedInstance } from '../model/inputs';
import { newPredictionId } from './ids';

/** Stores an input too large for the log item under `key`, for the API key id `owner`. */
export type InputWriter = (key: string, body: Uint8Array | string, contentType: string, owner: string | undefined) => Promise<void>;

export interface RecordBuilderOptions {
  readonly manifest: ModelManifest;
  /** Days a record is kept (0: forever). */
  readonly ttlDays: number;
  readonly storeInput: InputWriter;
}

/** One answered instance and the request it came in. */
export interface RecordInput {
  readonly prediction: Prediction;
  /** The instance as the caller sent it (values, an image or an S3 key). */
  readonly sent: Instance;
  /** The instance as the model saw it (an S3 key fetched). */
  readonly seen: ResolvedInstance;
  readonly model: InvocationResponse['model'];
  readonly requestId: string;
  readonly apiKeyId?: string;
  readonly now: Date;
  readonly latencyMs: number;
}

export type RecordBuilder = (input: RecordInput) => Promise<PredictionRecord>;

function loggedFloat32(v: number): number | null {
  return Number.isNaN(v) ? null : float32Decimal(v);
}

export function recordBuilder(opts: RecordBuilderOptions): RecordBuilder {
  const { manifest, ttlDays, storeInput } = opts;

  /**
   * The values the model saw, as the log keeps them: float32 numbers as their shortest decimal; int, double,
   * string and bool features (fed through their own typed tensors) as they are; a missing value (NaN, only
   * nullable features have one) as null.
   */
  const loggedValues = (row: Row): (FeatureValue | null)[] => {
    if (row instanceof Float32Array) return Array.from(row, loggedFloat32);
    const features = manifest.input.kind === 'tabular' ? manifest.input.features : [];
    return row.map((v, i) => (typeof v !== 'number' ? v : features[i]?.type === 'float' ? loggedFloat32(v) : Number.isNaN(v) ? null : v));
  };

  return async ({ prediction: p, sent, seen, model, requestId, apiKeyId, now, latencyMs }) => {
    const id = newPredictionId(now.getTime());
    const createdAt = now.toISOString();
    const record: PredictionRecord = {
      id,
      model: model.name,
      modelVersion: model.version,
      createdAt,
      ...('label' in p ? { label: p.label, probabilities: p.probabilities } : { predictedValue: p.value }),
      latencyMs,
      requestId,
      ...(apiKeyId !== undefined ? { apiKeyId } : {}),
      ...(ttlDays > 0 ? { expiresAt: Math.floor(now.getTime() / 1000) + ttlDays * 86_400 } : {}),
    };
    if ('s3Key' in sent) record.inputKey = sent.s3Key;
    if ('values' in seen) {
      const values = loggedValues(seen.values);
      const text = JSON.stringify(values);
      if (Buffer.byteLength(text) <= LIMITS.maxInlineInputBytes) record.inputValues = values;
      else if (record.inputKey === undefined) {
        record.inputKey = predictionInputKey(record.model, createdAt, id, 'json');
        await storeInput(record.inputKey, text, 'application/json', apiKeyId);
      }
    } else if (record.inputKey !== undefined) {
      // An image sent by key: the bucket holds its bytes already.
    } else if (seen.image.length <= LIMITS.maxInlineInputBytes) {
      record.inputImage = seen.image;
    } else {
      const bytes = Buffer.from(seen.image, 'base64');
      const format = imageFormatOf(bytes) ?? 'png';
      record.inputKey = predictionInputKey(record.model, createdAt, id, format);
      await storeInput(record.inputKey, bytes, format === 'png' ? 'image/png' : 'image/jpeg', apiKeyId);
    }
    return record;
  };
}

/** What the challenger made of one instance a shadow run gave it: its prediction, or why there is none. */
export type ShadowOutcome = { readonly prediction: Prediction } | { readonly error: string };

/**
 * The answered record of one instance with the challenger's outcome inside it (`shadow`): its own
 * prediction id, version, time and latency, and its prediction or error code. One item holds both, so a
 * shadow adds no write to the caller's wait; readers take it apart with `shadowRecordsOf`.
 */
export function withShadow(of: PredictionRecord, version: string, outcome: ShadowOutcome, now: Date, latencyMs: number): PredictionRecord {
  const p = 'prediction' in outcome ? outcome.prediction : undefined;
  return {
    ...of,
    shadow: {
      id: newPredictionId(now.getTime()),
      modelVersion: version,
      createdAt: now.toISOString(),
      ...(p === undefined ? {} : 'label' in p ? { label: p.label, probabilities: p.probabilities } : { predictedValue: p.value }),
      ...('error' in outcome ? { errorCode: outcome.error } : {}),
      latencyMs,
    },
  };
}
