/**
 * Drains the log dead-letter queue through the replay handler outside Lambda's SQS trigger (the local
 * runner and the CLI): receive a batch, hand it over as an SQS event, delete what the handler wrote.
 * Messages the handler reports as failed stay in the queue and come back after their visibility timeout.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

export interface DrainResult {
  received: number;
  written: number;
  failed: number;
}

export async function drainQueue(opts: {
  sqs: SQSClient;
  queueUrl: string;
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** Batches read at most; bounds one drain. @default 100 */
  maxBatches?: number;
  /** Seconds a received message stays hidden while it is handled. @default 30 */
  visibilityTimeoutSeconds?: number;
}): Promise<DrainResult> {
  const result: DrainResult = { received: 0, written: 0, failed: 0 };
  for (let i = 0; i < (opts.maxBatches ?? 100); i++) {
    const out = await opts.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: opts.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: opts.visibilityTimeoutSeconds ?? 30, MessageSystemAttributeNames: ['All'] }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    const event: SQSEvent = {
      Records: messages.map((m) => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: m.Attributes?.SentTimestamp ?? '0',
          SenderId: 'local',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:local:000000000000:${opts.queueUrl.split('/').pop() ?? ''}`,
        awsRegion: 'local',
      })),
    };
    const response = await opts.handler(event);
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
    if (done.length > 0) {
      await opts.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: opts.queueUrl, Entries: done.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '' })) }),
      );
    }
    result.received += messages.length;
    result.written += done.length;
    result.failed += failed.size;
  }
  return result;
}
