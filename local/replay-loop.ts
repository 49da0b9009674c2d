/**
 * Drains the log dead-letter queue into the replay handler, as Lambda's SQS event source mapping does:
 * receive a batch, hand it over as an SQSEvent, delete what the handler did not report as failed.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type ReplayHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export interface DrainResult {
  received: number;
  replayed: number;
  failed: number;
}

/** Largest batch SQS returns (and the event source mapping's default batch size). */
const BATCH = 10;

export async function drainQueue(
  sqs: SQSClient,
  queueUrl: string,
  handler: ReplayHandler,
  opts: { maxBatches?: number; queueArn?: string } = {},
): Promise<DrainResult> {
  const result: DrainResult = { received: 0, replayed: 0, failed: 0 };
  const maxBatches = opts.maxBatches ?? 100;
  // Messages the handler rejected stay invisible for their visibility timeout, so a drain never loops on them.
  for (let i = 0; i < maxBatches; i++) {
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: BATCH, WaitTimeSeconds: 0, VisibilityTimeout: 30 }),
    );
    const messages = got.Messages ?? [];
    if (messages.length === 0) break;
    result.received += messages.length;
    const records: SQSRecord[] = messages.map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: m.Attributes?.SenderId ?? 'local',
        ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: opts.queueArn ?? `arn:aws:sqs:local:000000000000:${queueUrl.split('/').pop() ?? 'queue'}`,
      awsRegion: 'local',
    }));
    const { batchItemFailures } = await handler({ Records: records });
    const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    const done = records.filter((r) => !failed.has(r.messageId));
    result.failed += failed.size;
    result.replayed += done.length;
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle })),
        }),
      );
    }
  }
  return result;
}
