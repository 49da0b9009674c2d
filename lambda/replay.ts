/**
 * Drains the prediction log's dead-letter queue: writes each queued record to the table with the same
 * `attribute_not_exists(id)` condition as the predict function, so a record lands exactly once however
 * often it is delivered. Records that still fail are reported back and stay in the queue.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENV } from '../contract/env';
import { readConfig, required } from './commons/config';
import { dynamoOptions } from './commons/clients';
import { createLogger } from './commons/logger';
import { parseQueuedRecord, putRecordWithRetry } from './commons/log-writer';

const config = readConfig('replay');
const table = required(config, ENV.PREDICTION_TABLE);
// The queue this function drains; logged so an operator knows where failed records wait.
const queueUrl = required(config, ENV.LOG_DLQ_URL);
const ddb = new DynamoDBClient(dynamoOptions(1));
const log = createLogger('replay', { queueUrl });

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  let written = 0;
  await Promise.all(
    event.Records.map(async (msg) => {
      let record;
      try {
        record = parseQueuedRecord(msg.body);
      } catch (e) {
        // Kept in the queue (and, after its retries, in the queue's own redrive target) for a person to look at.
        log.error('queued message is not a prediction record', { messageId: msg.messageId, error: e });
        failures.push({ itemIdentifier: msg.messageId });
        return;
      }
      const out = await putRecordWithRetry(ddb, table, record);
      if (out.ok) {
        written++;
      } else {
        log.warn('replay write failed', { messageId: msg.messageId, id: record.id, error: out.error });
        failures.push({ itemIdentifier: msg.messageId });
      }
    }),
  );
  log.info('replayed', { received: event.Records.length, written, failed: failures.length });
  return { batchItemFailures: failures };
}
