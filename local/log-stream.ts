/**
 * The local stand-in for the prediction log's DynamoDB stream and its Lambda event source mapping: the
 * embedded DynamoDB reports each accepted item write (`ItemChange`), and this feeder hands them in
 * batches, as `DynamoDBStreamEvent`s with the NEW_IMAGE view, to the analytics writer handler — the same
 * code the deployed function runs. PutItem is reported as INSERT (the log only ever inserts with
 * `attribute_not_exists(id)`), UpdateItem as MODIFY.
 */
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { LOG_TABLE } from '../contract/prediction-log';
import type { ItemChange } from './dynamodb';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<void>;

export interface LogStreamFeeder {
  /** Takes one accepted write (only the log table's are kept). */
  push(change: ItemChange): void;
  /** Hands everything buffered to the handler now; resolves when it is written. */
  flush(): Promise<void>;
  /** Flushes and stops the timer. */
  close(): Promise<void>;
}

export interface FeederOptions {
  table: string;
  handler: StreamHandler;
  /** How often buffered records are handed over. @default 2000 */
  intervalMs?: number;
  /** Records per event at most (the deployed mapping's batch size). @default 1000 */
  batchSize?: number;
  onError?: (e: unknown) => void;
  /** Called after each batch the handler took, with the journal number of its last change (journaled changes only). */
  onWritten?: (seq: number) => void;
}

export function createLogStreamFeeder(opts: FeederOptions): LogStreamFeeder {
  const batchSize = opts.batchSize ?? 1000;
  let buffer: DynamoDBRecord[] = [];
  let sequence = 0;
  /** Journal numbers of the buffered records that have one, by event id. */
  const journaled = new Map<string, number>();
  let chain: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    // One batch at a time, in order, as a stream shard is read.
    chain = chain.then(async () => {
      while (buffer.length > 0) {
        const batch = buffer.slice(0, batchSize);
        await opts.handler({ Records: batch });
        buffer = buffer.slice(batch.length);
        const last = journaled.get(batch.at(-1)?.eventID ?? '');
        if (last !== undefined) opts.onWritten?.(last);
        for (const r of batch) journaled.delete(r.eventID ?? '');
      }
    });
    return chain.catch((e: unknown) => {
      chain = Promise.resolve();
      // The batch stays buffered and is handed over again at the next flush, as Lambda retries a failed batch.
      (opts.onError ?? (() => undefined))(e);
    });
  };
  const timer = setInterval(() => void flush(), opts.intervalMs ?? 2000);
  timer.unref();
  return {
    push(change) {
      if (change.table !== opts.table) return;
      const image = change.newImage as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'];
      const id = (image as Record<string, { S?: string }>)[LOG_TABLE.partitionKey]?.S ?? '';
      sequence++;
      const eventID = `local-${sequence}`;
      if (change.seq !== undefined) journaled.set(eventID, change.seq);
      buffer.push({
        eventID,
        eventName: change.operation === 'PutItem' ? 'INSERT' : 'MODIFY',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'local',
        eventSourceARN: `arn:aws:dynamodb:local:000000000000:table/${opts.table}/stream/local`,
        dynamodb: {
          Keys: { [LOG_TABLE.partitionKey]: { S: id } },
          NewImage: image,
          SequenceNumber: String(sequence).padStart(21, '0'),
          StreamViewType: 'NEW_IMAGE',
          ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        },
      });
      if (buffer.length >= batchSize) void flush();
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
