/**
 * The prediction log's key design, shared by the CDK table, the handlers and the local runner.
 *
 * - get one prediction: GetItem on `id`;
 * - newest first per model, optionally in a time range: Query the `byModel` index on `model` with
 *   `createdAt` descending (`createdAt` is `<ISO timestamp>#<id>`, so it sorts by time and stays unique);
 * - idempotency records live in the same table under `id = idem#<apiKeyId>#<key>`; they carry no
 *   `model` attribute, so the sparse index never lists them.
 */
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

/** One logged prediction (one item per instance of a request). */
export interface PredictionRecord {
  id: string;
  /** Model name (the index partition key). */
  model: string;
  modelVersion: string;
  /** `<ISO timestamp>#<id>` — the index sort key. */
  createdAt: string;
  /** ISO timestamp of the prediction. */
  timestamp: string;
  /** The instance as sent, when small enough to keep inline. */
  input?: unknown;
  /** S3 key of the input (`predictions/…` for large inputs, `datasets/…` when the caller sent a key). */
  inputKey?: string;
  /** The model's answer for this instance. */
  output: unknown;
  /** Predicted label (classifiers), kept apart for summaries and accuracy. */
  label?: string;
  latencyMs: number;
  requestId: string;
  apiKeyId?: string;
  /** Ground truth recorded by the feedback route. */
  feedback?: { label: string; at: string };
  /** Epoch seconds after which DynamoDB may delete the item. */
  expiresAt?: number;
}

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
export interface PredictionPage {
  items: PredictionRecord[];
  cursor?: string;
}

/** Body of a `GET /metrics/summary` answer. */
export interface MetricsSummary {
  model: string;
  window: string;
  from: string;
  to: string;
  /** Predictions counted; `truncated` is true when the window held more than the summary reads. */
  count: number;
  truncated: boolean;
  /** Classifiers: predictions per label. */
  countsByLabel: Record<string, number>;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null };
  /** Predictions with recorded ground truth, and the share predicted right (null when none). */
  feedbackCount: number;
  accuracy: number | null;
}
