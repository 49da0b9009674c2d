/**
 * The prediction log's key design, shared by the CDK table, the handlers and the local runner.
 *
 * - get one prediction: GetItem on `id`;
 * - newest first per model, optionally in a time range: Query the `byModel` index on `model` with
 *   `createdAt` descending (`createdAt` is `<ISO timestamp>#<id>`, so it sorts by time and stays unique);
 * - idempotency records live in the same table under `id = idem#<apiKeyId>#<key>`; they carry no
 *   `model` attribute, so the sparse index never lists them.
 */
import * as z from 'zod/mini';
import { predictionSchema } from './prediction';

export const LOG_TABLE = {
  partitionKey: 'id',
  ttlAttribute: 'expiresAt',
  byModelIndex: {
    name: 'byModel',
    partitionKey: 'model',
    sortKey: 'createdAt',
  },
  idempotencyPrefix: 'idem#',
} as const;

/**
 * One logged prediction (one item per instance of a request), as stored and as the API answers it.
 * The zod schema is the type the code uses and the response schema of the OpenAPI document.
 */
export const predictionRecordSchema = z.object({
  id: z.string(),
  /** Model name (the index partition key). */
  model: z.string(),
  modelVersion: z.string(),
  /** `<ISO timestamp>#<id>` — the index sort key. */
  createdAt: z.string(),
  /** ISO timestamp of the prediction. */
  timestamp: z.string(),
  /** The instance as sent, when small enough to keep inline. */
  input: z.optional(z.unknown()),
  /** S3 key of the input (`predictions/…` for large inputs, `datasets/…` when the caller sent a key). */
  inputKey: z.optional(z.string()),
  /** The model's answer for this instance. */
  output: predictionSchema,
  /** Predicted label (classifiers), kept apart for summaries and accuracy. */
  label: z.optional(z.string()),
  latencyMs: z.number(),
  requestId: z.string(),
  apiKeyId: z.optional(z.string()),
  /** Ground truth recorded by the feedback route. */
  feedback: z.optional(z.object({ label: z.string(), at: z.string() })),
  /** Epoch seconds after which DynamoDB may delete the item. */
  expiresAt: z.optional(z.number()),
});
export type PredictionRecord = z.output<typeof predictionRecordSchema>;

export function sortKeyOf(timestamp: string, id: string): string {
  return `${timestamp}#${id}`;
}

/**
 * The table definition as DynamoDB's CreateTable input (on-demand). The local runner creates its table
 * from this; the CDK stack builds the same key schema from LOG_TABLE, and a test compares the two.
 */
export function createTableInput(tableName: string) {
  const ix = LOG_TABLE.byModelIndex;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: LOG_TABLE.partitionKey, AttributeType: 'S' as const },
      { AttributeName: ix.partitionKey, AttributeType: 'S' as const },
      { AttributeName: ix.sortKey, AttributeType: 'S' as const },
    ],
    KeySchema: [{ AttributeName: LOG_TABLE.partitionKey, KeyType: 'HASH' as const }],
    GlobalSecondaryIndexes: [
      {
        IndexName: ix.name,
        KeySchema: [
          { AttributeName: ix.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: ix.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      },
    ],
  };
}

/** Body of a `GET /predictions` answer; `cursor` is absent on the last page. */
export const predictionPageSchema = z.object({
  items: z.array(predictionRecordSchema),
  cursor: z.optional(z.string()),
});
export type PredictionPage = z.output<typeof predictionPageSchema>;

const nullableMs = z.nullable(z.number());

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
  /** Predictions with recorded ground truth, and the share predicted right (null when none). */
  feedbackCount: z.int().check(z.minimum(0)),
  accuracy: z.nullable(z.number().check(z.minimum(0), z.maximum(1))),
});
export type MetricsSummary = z.output<typeof metricsSummarySchema>;
