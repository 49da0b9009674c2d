/**
 * Drains the prediction log's dead-letter queue: writes each queued record to the table with the same
 * `attribute_not_exists(id)` condition as the predict function, so a record lands exactly once however
 * often it is delivered. A record that can never be written (the table refuses the item itself) or that
 * still fails after LIMITS.replayMaxReceives deliveries is parked in the data bucket under
 * `parked/log-records/` with the reason, counted in the ParkedLogRecords metric (alarmed), and removed
 * from the queue: never cycled for good, never dropped. If parking fails too, it stays in the queue.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parkedRecordKey } from '../../contract/bucket';
import { ENV } from '../../contract/env';
import { errorMessage } from '../../contract/errors';
import { LIMITS } from '../../contract/limits';
import type { PredictionRecord } from '../../contract/prediction-log';
import { dynamoOptions, s3Options } from '../runtime/clients';
import { readConfig, required } from '../runtime/config';
import { lazyS3, type S3Handle } from '../runtime/lazy-clients';
import { createLogger, type Logger } from '../runtime/logger';
import { emfCount, PARKED_RECORDS_METRIC } from '../runtime/metrics';
import { parseQueuedRecord, putRecordWithRetry } from './log-writer';
import { logTableClient, PredictionLogStore } from './prediction-log-store';

export interface ReplayDeps {
  readonly log: PredictionLogStore;
  /** Where records that can never be written are parked (the data bucket). */
  readonly parking: { readonly s3: () => Promise<S3Handle>; readonly bucket: string };
  /** The queue this function drains; logged so an operator knows where failed records wait. */
  readonly queueUrl: string;
  /** @default - a logger of the replay function */
  readonly logger?: Logger;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

/** The replay function's dependencies as the CDK configures it: config from `env`, AWS clients. */
export function replayDepsFromEnv(env: NodeJS.ProcessEnv): ReplayDeps {
  const config = readConfig('replay', env);
  return {
    log: new PredictionLogStore(logTableClient(dynamoOptions(env, 1)), required(config, ENV.PREDICTION_TABLE)),
    parking: { s3: lazyS3(s3Options(env)), bucket: required(config, ENV.DATA_BUCKET) },
    queueUrl: required(config, ENV.LOG_DLQ_URL),
  };
}

export function createReplayHandler(deps: ReplayDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const { log: store, parking } = deps;
  const clock = deps.clock ?? (() => new Date());
  const log = deps.logger ?? createLogger('replay', { queueUrl: deps.queueUrl });

  async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    let written = 0;
    let parked = 0;
    await Promise.all(
      event.Records.map(async (msg) => {
        const outcome = await replayOne(msg);
        if (outcome === 'written') written++;
        else if (outcome === 'parked') parked++;
        else failures.push({ itemIdentifier: msg.messageId });
      }),
    );
    if (parked > 0) emfCount(PARKED_RECORDS_METRIC, parked);
    log.info('replayed', { received: event.Records.length, written, parked, failed: failures.length });
    return { batchItemFailures: failures };
  }

  async function replayOne(msg: SQSRecord): Promise<'written' | 'parked' | 'failed'> {
    const receives = Number(msg.attributes.ApproximateReceiveCount) || 1;
    let record: PredictionRecord;
    try {
      record = parseQueuedRecord(msg.body);
    } catch (e) {
      // Not a record at all: no write can fix it.
      return park(msg, undefined, `not a prediction record: ${errorMessage(e)}`);
    }
    const out = await putRecordWithRetry(store, record);
    if (out.ok) return 'written';
    const reason = `${(out.error as { name?: string })?.name ?? 'Error'}: ${errorMessage(out.error)}`;
    if (out.permanent) return park(msg, record.id, `the table refuses the item: ${reason}`);
    if (receives >= LIMITS.replayMaxReceives) return park(msg, record.id, `still failing after ${receives} deliveries: ${reason}`);
    log.warn('replay write failed; left in the queue', { messageId: msg.messageId, id: record.id, receives, error: out.error });
    return 'failed';
  }

  async function park(msg: SQSRecord, id: string | undefined, reason: string): Promise<'parked' | 'failed'> {
    const key = parkedRecordKey(clock().toISOString(), id ?? `message-${msg.messageId}`);
    const body = JSON.stringify({
      reason,
      parkedAt: clock().toISOString(),
      messageId: msg.messageId,
      receives: msg.attributes.ApproximateReceiveCount,
      body: msg.body,
    });
    try {
      const { sdk, client } = await parking.s3();
      await client.send(new sdk.PutObjectCommand({ Bucket: parking.bucket, Key: key, Body: body, ContentType: 'application/json' }));
    } catch (e) {
      // Kept in the queue (and, after its redrive count, in the queue's own dead-letter queue).
      log.error('parking a log record failed; left in the queue', { messageId: msg.messageId, id, reason, error: e });
      return 'failed';
    }
    log.error('log record parked', { messageId: msg.messageId, id, key, reason });
    return 'parked';
  }

  return handler;
}
