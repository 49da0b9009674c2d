/**
 * The prediction log: its key design, the item each prediction is stored as, and the one encoding of
 * that item to DynamoDB attribute values and back. The CDK table, the handlers, the quality job, the
 * local runner and the analytics export all read and write items through this module.
 *
 * Access patterns (no scan anywhere):
 * - one prediction: GetItem on `id` (a client key then sees it only when `apiKeyId` is its own);
 * - newest first per model, optionally in a time range (operators): Query `byModel` on `model`, sort key
 *   `createdAtId` (`<createdAt>#<id>`, so it sorts by time and stays unique);
 * - the same for one caller (client keys): Query `byCaller` on `callerModel` (`<apiKeyId>#<model>`),
 *   same sort key;
 * - idempotency records live in the same table under `id = idem#<apiKeyId>#<key>`; they carry no `model`
 *   or `callerModel`, so the sparse indexes never list them;
 * - shadow predictions (a challenger run beside the champion, docs/versions.md) are stored inside the
 *   answered item of the same instance, as its `shadow` map: one write per instance with or without a
 *   shadow, so a shadow adds no log write to the caller's wait. `shadowRecordsOf` gives readers each as
 *   its own record (model `<model>#shadow`, `shadowOf` = the answered id). Items of earlier releases hold
 *   them apart under the model `<model>#shadow` (Query `byModel` there); readers read both. No count,
 *   list or summary of answered predictions reads a shadow prediction either way;
 * - the versions' routing state is one item `id = routing#<model>`, without `model` like idempotency records.
 *
 * Attribute names are none of DynamoDB's reserved words (a test checks every name, nested ones too), so
 * AWS CLI query and scan expressions over the log need no `#placeholders`.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';

export const LOG_TABLE = {
  partitionKey: 'id',
  ttlAttribute: 'expiresAt',
  byModelIndex: {
    name: 'byModel',
    partitionKey: 'model',
    sortKey: 'createdAtId',
  },
  byCallerIndex: {
    name: 'byCaller',
    partitionKey: 'callerModel',
    sortKey: 'createdAtId',
  },
  idempotencyPrefix: 'idem#',
  routingPrefix: 'routing#',
  /** Appended to the model name to name its shadow predictions (the partition where earlier releases stored them apart). */
  shadowSuffix: '#shadow',
} as const;

/** The `model` of a model's shadow records (and the byModel partition of those stored apart by earlier releases). */
export function shadowLogModel(model: string): string {
  return `${model}${LOG_TABLE.shadowSuffix}`;
}

/**
 * Ground truth given through the feedback route: one of a classifier's labels, or a regression model's
 * true value as a number (items logged before regression feedback was numeric hold it as decimal text;
 * `feedbackValue` reads both).
 */
export const feedbackSchema = z.object({
  label: z.union([z.string(), z.number()]),
  /** ISO time the label was given. */
  givenAt: z.string(),
  /** API key id of the caller who gave it. */
  apiKeyId: z.optional(z.string()),
});
export type Feedback = z.output<typeof feedbackSchema>;

/** A regression feedback's true value: the stored number, or the decimal text older items hold; undefined when it is no finite number. */
export function feedbackValue(f: Pick<Feedback, 'label'>): number | undefined {
  const v = typeof f.label === 'number' ? f.label : f.label.trim() === '' ? Number.NaN : Number(f.label);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * What a shadow challenger made of an answered instance, kept inside the answered item: its own
 * prediction id, version, time and latency (from the start of the request), and either its answer or
 * the error code of the run (`errorCode`: `error` is a DynamoDB reserved word). The request, caller,
 * expiry and model are the answered record's.
 */
export const shadowOutcomeSchema = z.object({
  id: z.string(),
  modelVersion: z.string(),
  createdAt: z.string(),
  label: z.optional(z.string()),
  probabilities: z.optional(z.record(z.string(), z.number())),
  predictedValue: z.optional(z.number()),
  /** The challenger failed or was too slow (e.g. SHADOW_TIMEOUT): no prediction then. */
  errorCode: z.optional(z.string()),
  latencyMs: z.number(),
});
export type ShadowOutcomeRecord = z.output<typeof shadowOutcomeSchema>;

/** The API's documentation of a record's `shadow` (here and in each model's own record schema). */
export const SHADOW_DESCRIPTION =
  "A shadow challenger's outcome on the same instance: its prediction, or errorCode when it failed or was too slow. In answers to operator keys only.";

/**
 * One logged prediction (one item per instance of a request), as stored and as the API answers it.
 * The zod schema is the type the code uses and the response schema of the OpenAPI document.
 *
 * The input is kept in one canonical form, whatever shape the caller sent:
 * - `inputValues`: the values the model saw in the model's feature order (tabular rows, whether sent as
 *   an array, an object or CSV) or row-major pixel order (pixel arrays); float32 features as the shortest
 *   decimal that reads back as that float32 (`float32Decimal`), int/double/string/bool features as sent;
 * - `inputImage`: an encoded image (PNG/JPEG) as base64, when it is small enough to keep inline;
 * - `inputKey`: the S3 key of the input — the caller's `datasets/…` key, or `predictions/…` where an
 *   input too large to keep inline was stored (numbers as a JSON array, images as their own bytes), so
 *   either can be sent back as `{"s3Key": …}`.
 */
export const predictionRecordSchema = z.object({
  id: z.string(),
  /** Model name (the byModel partition key). */
  model: z.string(),
  modelVersion: z.string(),
  /** ISO time of the prediction. */
  createdAt: z.string(),
  /** A missing value of a nullable feature (sent as null, "NaN" or an empty CSV cell) is null. */
  inputValues: z.optional(z.array(z.union([z.number(), z.string(), z.boolean(), z.null()]))),
  inputImage: z.optional(z.string()),
  inputKey: z.optional(z.string()),
  /** Classifiers: the predicted label and each label's probability. */
  label: z.optional(z.string()),
  probabilities: z.optional(z.record(z.string(), z.number())),
  /** Regression: the predicted value. */
  predictedValue: z.optional(z.number()),
  latencyMs: z.number(),
  requestId: z.string(),
  /** API key id of the caller (API Gateway's `identity.apiKeyId`). */
  apiKeyId: z.optional(z.string()),
  /** The ground truth in force, and the labels it replaced (oldest first). */
  feedback: z.optional(feedbackSchema),
  feedbackHistory: z.optional(z.array(feedbackSchema)),
  /** Epoch seconds after which DynamoDB may delete the item. */
  expiresAt: z.optional(z.number()),
  /**
   * Set on shadow records only (a challenger's prediction nobody was answered with, as `shadowRecordsOf`
   * gives it, or an earlier release's separate item): the id of the answered prediction of the same
   * instance, whose feedback grades both.
   */
  shadowOf: z.optional(z.string()),
  /** Shadow predictions: the error code when the challenger failed or was too slow (no prediction then). */
  shadowError: z.optional(z.string()),
  /**
   * Answered predictions a shadow challenger ran beside: its outcome on the same instance. Only operator
   * keys see it through the API (a client key is answered by one version and sees no other's prediction).
   */
  shadow: z.optional(shadowOutcomeSchema.check(z.describe(SHADOW_DESCRIPTION))),
});
export type PredictionRecord = z.output<typeof predictionRecordSchema>;

/**
 * The shadow predictions of answered records, each as its own record, the form every reader takes:
 * under the model `<model>#shadow`, linked by `shadowOf`, with the answered record's request, caller and
 * expiry, and `shadowError` for a failed run — what earlier releases stored as separate items.
 */
export function shadowRecordsOf(answered: readonly PredictionRecord[]): PredictionRecord[] {
  return answered.flatMap((of) => {
    const s = of.shadow;
    if (s === undefined) return [];
    const shadow: PredictionRecord = {
      id: s.id,
      model: shadowLogModel(of.model),
      modelVersion: s.modelVersion,
      createdAt: s.createdAt,
      ...(s.label !== undefined ? { label: s.label } : {}),
      ...(s.probabilities !== undefined ? { probabilities: s.probabilities } : {}),
      ...(s.predictedValue !== undefined ? { predictedValue: s.predictedValue } : {}),
      ...(s.errorCode !== undefined ? { shadowError: s.errorCode } : {}),
      latencyMs: s.latencyMs,
      requestId: of.requestId,
      ...(of.apiKeyId !== undefined ? { apiKeyId: of.apiKeyId } : {}),
      ...(of.expiresAt !== undefined ? { expiresAt: of.expiresAt } : {}),
      shadowOf: of.id,
    };
    return [shadow];
  });
}

/** A record as a client key sees it: without the shadow outcome of another version. */
export function withoutShadow(r: PredictionRecord): PredictionRecord {
  if (r.shadow === undefined) return r;
  const { shadow: _, ...rest } = r;
  return rest;
}

/** Attributes that exist only for the indexes: stored, never part of an API answer. */
export const STORAGE_ONLY_ATTRIBUTES = [LOG_TABLE.byModelIndex.sortKey, LOG_TABLE.byCallerIndex.partitionKey] as const;

export function sortKeyOf(createdAt: string, id: string): string {
  return `${createdAt}#${id}`;
}

export function callerModelOf(apiKeyId: string, model: string): string {
  return `${apiKeyId}#${model}`;
}

/**
 * DynamoDB's number type: at most 38 significant digits, magnitude from 1e-130 to below 1e126.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
 */
export const DYNAMODB_NUMBER = { minMagnitude: 1e-130, magnitudeBelow: 1e126 } as const;

/**
 * A float32 as the shortest decimal that reads back as the same float32 (how numpy prints float32):
 * `28.77` rather than its float64 widening `28.770000457763672`. `Math.fround` of the result is the value
 * the model saw, bit for bit; at most 9 significant digits.
 */
export function float32Decimal(v: number): number {
  const f = Math.fround(v);
  if (!Number.isFinite(f) || f === 0) return f === 0 ? 0 : f;
  const a = Math.abs(f);
  // More than a float32's half gap at |f| (2^-24 relative, doubled for safety; far above float64 error).
  const gap = a * 2 ** -23;
  const e = Math.floor(Math.log10(a));
  // Only inside a decade, away from its ends, are the p-digit decimals near f the multiples of 10^(e-p+1).
  const skip = a > 1e-30 && a - gap > 10 ** e * (1 + 1e-9) && a + gap < 10 ** (e + 1) * (1 - 1e-9);
  let step = skip ? 10 ** e : 0;
  for (let p = 1; p < 9; p++, step /= 10) {
    // A precision whose nearest decimal lies farther from f than the gap cannot read back as f: not
    // formatted (the common case: a value sent with 4 digits takes one toPrecision, not four).
    if (skip) {
      const q = a / step;
      if (Math.abs(q - Math.round(q)) * step > gap) continue;
    }
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return Number(f.toPrecision(9));
}

/** A value the log cannot store: no retry or replay changes that. */
export class UnstorableValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnstorableValueError';
  }
}

/**
 * A number as DynamoDB's `N`: JavaScript's shortest round-trip text (at most 17 significant digits), so
 * reading it back gives the same float64. Values DynamoDB cannot hold throw UnstorableValueError.
 */
export function numberText(v: number, path: string): string {
  const a = Math.abs(v);
  if (!Number.isFinite(v) || (a !== 0 && (a < DYNAMODB_NUMBER.minMagnitude || a >= DYNAMODB_NUMBER.magnitudeBelow))) {
    throw new UnstorableValueError(`${path} = ${v} is outside DynamoDB's number range`);
  }
  return String(v === 0 ? 0 : v);
}

/** JSON-like values (what a record holds) to attribute values; undefined members are left out. */
export function toAttributeValue(v: unknown, path: string): AttributeValue {
  if (typeof v === 'string') return { S: v };
  if (typeof v === 'number') return { N: numberText(v, path) };
  if (typeof v === 'boolean') return { BOOL: v };
  if (v === null) return { NULL: true };
  if (Array.isArray(v)) return { L: v.map((x, i) => toAttributeValue(x, `${path}[${i}]`)) };
  if (typeof v === 'object') {
    const m: Record<string, AttributeValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) m[k] = toAttributeValue(x, `${path}.${k}`);
    return { M: m };
  }
  throw new UnstorableValueError(`${path} is a ${typeof v}, which the log does not store`);
}

/** Attribute values back to JSON-like values; numbers are read exactly as `numberText` wrote them. */
export function fromAttributeValue(a: AttributeValue): unknown {
  if (a.S !== undefined) return a.S;
  if (a.N !== undefined) return Number(a.N);
  if (a.BOOL !== undefined) return a.BOOL;
  if (a.NULL !== undefined) return null;
  if (a.L !== undefined) return a.L.map(fromAttributeValue);
  if (a.M !== undefined) return Object.fromEntries(Object.entries(a.M).map(([k, x]) => [k, fromAttributeValue(x)]));
  if (a.SS !== undefined) return a.SS;
  if (a.NS !== undefined) return a.NS.map(Number);
  throw new Error(`Unsupported attribute value ${Object.keys(a).join(',')}`);
}

/** The stored item of a record: the record plus its index keys. Throws UnstorableValueError. */
export function encodeRecord(r: PredictionRecord): Record<string, AttributeValue> {
  const item = toAttributeValue(r, 'record').M ?? {};
  item[LOG_TABLE.byModelIndex.sortKey] = { S: sortKeyOf(r.createdAt, r.id) };
  if (r.apiKeyId !== undefined) item[LOG_TABLE.byCallerIndex.partitionKey] = { S: callerModelOf(r.apiKeyId, r.model) };
  return item;
}

/** A stored item as the API returns it: index-only attributes dropped. */
export function decodeRecord(item: Record<string, AttributeValue>): PredictionRecord {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) {
    if (!(STORAGE_ONLY_ATTRIBUTES as readonly string[]).includes(k)) out[k] = fromAttributeValue(v);
  }
  return out as unknown as PredictionRecord;
}

/** Whether a stored item is a prediction (idempotency records carry no `model`). */
export function isPredictionItem(item: Record<string, AttributeValue>): boolean {
  return item[LOG_TABLE.byModelIndex.partitionKey] !== undefined;
}

/**
 * The table definition as DynamoDB's CreateTable input (on-demand). The local runner creates its table
 * from this; the CDK stack builds the same key schema from LOG_TABLE, and a test compares the two.
 */
export function createTableInput(tableName: string) {
  const indexes = [LOG_TABLE.byModelIndex, LOG_TABLE.byCallerIndex];
  const attributes = [...new Set([LOG_TABLE.partitionKey, ...indexes.flatMap((ix) => [ix.partitionKey, ix.sortKey])])];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: attributes.map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
    KeySchema: [{ AttributeName: LOG_TABLE.partitionKey, KeyType: 'HASH' as const }],
    GlobalSecondaryIndexes: indexes.map((ix) => ({
      IndexName: ix.name,
      KeySchema: [
        { AttributeName: ix.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: ix.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}

/** Body of a `GET /predictions` answer; `cursor` is present only when another non-empty page follows. */
export const predictionPageSchema = z.object({
  items: z.array(predictionRecordSchema),
  cursor: z.optional(z.string()),
});
export type PredictionPage = z.output<typeof predictionPageSchema>;

const nullableMs = z.nullable(z.number());

/** Regression quality of a version's fed-back predictions; error is predicted − actual. */
export const regressionSummarySchema = z.object({
  /** Fed-back predictions with a numeric true value. */
  count: z.int().check(z.minimum(1)),
  mae: z.number().check(z.describe('Mean absolute error.')),
  rmse: z.number().check(z.describe('Root-mean-square error.')),
  r2: z.nullable(z.number()).check(z.describe('Coefficient of determination; null when every true value is the same.')),
  meanError: z.number().check(z.describe('Mean of predicted − actual (bias): positive when the model predicts too high.')),
});

const share = z.number().check(z.minimum(0), z.maximum(1));
const nullableShare = z.nullable(share);

/** One class of a classifier's fed-back predictions. */
export const classSummarySchema = z.object({
  label: z.string(),
  /** Fed-back predictions whose true label is this one. */
  support: z.int().check(z.minimum(0)),
  /** Fed-back predictions of this label. */
  predicted: z.int().check(z.minimum(0)),
  precision: nullableShare.check(z.describe('True positives / predicted; null when the label was never predicted.')),
  recall: nullableShare.check(z.describe('True positives / support; null when the label never was the true one.')),
  f1: nullableShare.check(z.describe('2·TP / (2·TP + FP + FN); null when the label was neither predicted nor true.')),
});

/** Classifier quality of a version's fed-back predictions. */
export const classificationSummarySchema = z.object({
  count: z.int().check(z.minimum(1)),
  accuracy: share,
  classes: z.array(classSummarySchema),
  macroF1: nullableShare.check(z.describe('Unweighted mean F1 of the labels that were predicted or true.')),
  weightedF1: nullableShare.check(z.describe('Mean F1 weighted by support.')),
  /** Rows the true labels, columns the predicted ones, in `labels` order (the model's labels, then any other seen). */
  confusion: z.object({ labels: z.array(z.string()), counts: z.array(z.array(z.int().check(z.minimum(0)))) }),
  rocAuc: nullableShare.check(
    z.describe(
      "ROC AUC of the probabilities: two labels, the second label's; more, the mean of each label's one-vs-rest AUC. Null without probabilities or without both outcomes.",
    ),
  ),
  ece: nullableShare.check(
    z.describe("Expected calibration error of the predicted label's probability (equal-width bins); null without probabilities."),
  ),
  /**
   * The reliability curve behind `ece`: equal-width bins of the predicted label's probability, each with
   * its count, mean probability and the share of its predictions that were right (null when empty).
   * Absent without probabilities (and in windows from the analytics store).
   */
  calibration: z.optional(
    z.array(
      z.object({
        lower: share,
        upper: share,
        count: z.int().check(z.minimum(0)),
        meanProbability: nullableShare,
        observedRate: nullableShare,
      }),
    ),
  ),
});

export type ClassificationSummary = z.output<typeof classificationSummarySchema>;

/** One model version's share of the window and the quality of its fed-back predictions. */
export const versionSummarySchema = z.object({
  modelVersion: z.string(),
  count: z.int().check(z.minimum(0)),
  feedbackCount: z.int().check(z.minimum(0)),
  /** Regression models with numeric feedback in the window. */
  regression: z.optional(regressionSummarySchema),
  /** Classifiers with feedback in the window. */
  classification: z.optional(classificationSummarySchema),
});
export type VersionSummary = z.output<typeof versionSummarySchema>;

/** Body of a `GET /metrics/summary` answer. */
export const metricsSummarySchema = z.object({
  model: z.string(),
  window: z.string(),
  from: z.string(),
  to: z.string(),
  /** Predictions counted; `truncated` is true when the window held more than the summary reads. */
  count: z.int().check(z.minimum(0)),
  truncated: z.boolean(),
  /** Classifiers: predictions per label. */
  countsByLabel: z.record(z.string(), z.int()),
  latencyMs: z.object({ p50: nullableMs, p90: nullableMs, p99: nullableMs }),
  /** Predictions with recorded ground truth, and the share a classifier predicted right (null when none, and for regression). */
  feedbackCount: z.int().check(z.minimum(0)),
  accuracy: z.nullable(z.number().check(z.minimum(0), z.maximum(1))),
  /**
   * Per model version (sorted): its predictions and the quality of those with feedback. A window from the
   * analytics store has no ROC AUC or ECE (its rows keep the predicted label's probability only).
   */
  versions: z.array(versionSummarySchema),
  /** Where the figures come from: the prediction log (windows up to 24 h) or the analytics store (longer ones, whole UTC days). */
  source: z.enum(['log', 'analytics']),
});
export type MetricsSummary = z.output<typeof metricsSummarySchema>;
