/**
 * Writes prediction records so that none is lost and none is doubled: the store's conditional write
 * (`attribute_not_exists(id)`, so a retry that already landed counts as written), retried with
 * exponential backoff; what still fails goes, whole, to the dead-letter queue for the replay handler.
 */
import { ApiError } from '../../contract/errors';
import { LIMITS } from '../../contract/limits';
import { PREDICT_METRICS as M } from '../../contract/metrics/predict-metrics';
import { LOG_TABLE, type PredictionRecord, UnstorableValueError } from '../../contract/prediction-log';
import type { SqsHandle } from '../runtime/lazy-clients';
import type { Logger } from '../runtime/logger';
import type { Metrics } from '../runtime/metrics';
import type { PredictionLogStore } from './prediction-log-store';

export interface PutOutcome {
  ok: boolean;
  attempts: number;
  error?: unknown;
  /** The failure is one no retry can fix (the item itself is refused): replaying it is pointless. */
  permanent?: boolean;
}

export async function putRecordWithRetry(
  store: PredictionLogStore,
  record: PredictionRecord,
  opts: { maxAttempts?: number; baseDelayMs?: number } = {},
): Promise<PutOutcome> {
  const maxAttempts = opts.maxAttempts ?? LIMITS.logWriteMaxAttempts;
  const baseDelayMs = opts.baseDelayMs ?? LIMITS.logWriteBaseDelayMs;
  let lastError: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      await store.putRecord(record);
      return { ok: true, attempts: attempt };
    } catch (e) {
      lastError = e;
      if (isPermanent(e)) return { ok: false, attempts: attempt, error: e, permanent: true };
      if (attempt < maxAttempts) await sleep(baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
    }
  }
  return { ok: false, attempts: maxAttempts, error: lastError, permanent: false };
}

/** Where records the table refused wait for the replay function. */
export interface DeadLetterQueue {
  readonly sqs: () => Promise<SqsHandle>;
  readonly url: string;
}

/**
 * Every record reaches the table or the dead-letter queue before the caller gets a 200. If both refuse,
 * the caller gets a 503 rather than an answer nobody can find later.
 */
export async function logRecords(
  records: PredictionRecord[],
  to: { store: PredictionLogStore; deadLetters: DeadLetterQueue; metrics: Metrics; log: Logger },
): Promise<void> {
  const outcomes = await Promise.all(records.map((r) => putRecordWithRetry(to.store, r)));
  const failed = records.filter((_, i) => outcomes[i]?.ok === false);
  if (failed.length === 0) return;
  to.metrics.count(M.logWriteFailures, failed.length);
  to.log.warn('log write failed; dead-lettering', {
    failed: failed.length,
    ids: failed.map((r) => r.id),
    error: outcomes.find((o) => !o.ok)?.error,
  });
  try {
    await sendToDeadLetterQueue(to.deadLetters.sqs, to.deadLetters.url, failed);
  } catch (e) {
    to.log.error('dead-letter queue refused records', { ids: failed.map((r) => r.id), error: e });
    throw new ApiError('STORAGE_UNAVAILABLE', 'The prediction could not be logged; retry shortly.');
  }
  to.metrics.count(M.dlqSends, failed.length);
}

/** Sends records to the dead-letter queue in batches of ten (SQS's batch limit); throws if any is refused. */
export async function sendToDeadLetterQueue(sqs: () => Promise<SqsHandle>, queueUrl: string, records: PredictionRecord[]): Promise<void> {
  const { sdk, client } = await sqs();
  for (let i = 0; i < records.length; i += 10) {
    const batch = records.slice(i, i + 10);
    const out = await client.send(
      new sdk.SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((r, j) => ({ Id: String(j), MessageBody: JSON.stringify(r) })),
      }),
    );
    const failed = out.Failed ?? [];
    const [first] = failed;
    if (first !== undefined) {
      throw new Error(`The dead-letter queue refused ${failed.length} record(s): ${first.Code ?? ''} ${first.Message ?? ''}`);
    }
  }
}

/**
 * Errors that fail the same way on every attempt and on replay: the item cannot be encoded, or DynamoDB
 * refuses it (validation, item too large, a 4xx other than throttling). Everything else — throttling,
 * 5xx, no answer — is transient.
 */
export function isPermanent(e: unknown): boolean {
  if (e instanceof UnstorableValueError) return true;
  const name = (e as { name?: string }).name ?? '';
  if (['ValidationException', 'ItemCollectionSizeLimitExceededException', 'SerializationException'].includes(name)) return true;
  if (TRANSIENT_4XX.has(name)) return false;
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // A 4xx the service answered about this request (not its rate, not our credentials, which may be rotated).
  return status === 400 && !['UnrecognizedClientException', 'ExpiredTokenException', 'AccessDeniedException'].includes(name);
}

const TRANSIENT_4XX = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'LimitExceededException',
]);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Checks that a dead-lettered message is a prediction record before it is written back. */
export function parseQueuedRecord(body: string): PredictionRecord {
  const r = JSON.parse(body) as Partial<PredictionRecord>;
  const strings: (keyof PredictionRecord)[] = ['id', 'model', 'modelVersion', 'createdAt', 'requestId'];
  for (const k of strings) {
    if (typeof r[k] !== 'string' || (r[k] as string).length === 0) throw new Error(`Queued record lacks "${k}"`);
  }
  if (typeof r.latencyMs !== 'number' || (r.label === undefined && !('predictedValue' in r)))
    throw new Error('Queued record lacks "latencyMs" or a prediction');
  if ((r.id as string).startsWith(LOG_TABLE.idempotencyPrefix)) throw new Error('Queued record has an idempotency id');
  return r as PredictionRecord;
}
