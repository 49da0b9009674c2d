/**
 * The Data stack on this machine: the prediction log table in an embedded DynamoDB (on its own thread),
 * the data bucket in s3rver and the log's dead-letter queue in the SQS stand-in. The table's accepted
 * writes are reported to subscribers, as the table's stream reports them on AWS.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { readJournal, writeCheckpoint } from '../change-journal';
import { dynamoClient, ensureTable, type ItemChange, startDynamoDbThread } from '../dynamodb';
import { removeDanglingIndexEntries } from '../index-repair';
import { LOCAL_NAMES } from '../paths';
import { startS3 } from '../s3';
import { startSqsServer } from '../sqs-server';
import { type Switchable, startPart } from './part';

export interface DataPartOptions {
  /** Folder of the table's LevelDB. @default - in memory */
  dynamodbDir?: string;
  /** Folder of the bucket. */
  s3Dir: string;
  /** File the queue is kept in. @default - in memory */
  sqsFile?: string;
  /**
   * Folder of the table stream's journal: accepted writes are kept there until the analytics writer has
   * written them, so a crash loses none. @default - none (in memory: nothing outlives the run anyway)
   */
  streamDir?: string;
  /** The last run did not stop cleanly: remove index entries a killed write left without their item. @default false */
  repairIndexes?: boolean;
  ports: { dynamodb: number; s3: number; sqs: number };
  onProgress: (message: string) => void;
}

export interface DataPart {
  readonly tableName: string;
  readonly bucketName: string;
  readonly logDlqUrl: string;
  readonly dynamodbUrl: string;
  readonly s3Url: string;
  readonly sqsUrl: string;
  /** A client of the queue stand-in, open until stop(). */
  readonly sqs: SQSClient;
  /** The embedded DynamoDB as a fault handle. */
  readonly dynamodb: Switchable;
  /** Reports each accepted write of the table (the table's stream); returns the unsubscribe. */
  onTableChange(listener: (change: ItemChange) => void): () => void;
  /** The journaled writes a run before this one did not see written (a crash), in order: for the first subscriber. */
  readonly pendingChanges: readonly ItemChange[];
  /** Records that every change up to number `seq` is written (the stream consumer's checkpoint). */
  checkpoint(seq: number): void;
  stop(): Promise<void>;
}

export function startData(opts: DataPartOptions): Promise<DataPart> {
  return startPart(async (started) => {
    const listeners = new Set<(change: ItemChange) => void>();

    opts.onProgress('starting DynamoDB (dynalite)');
    // Read before the table takes writes: what the last run journaled and did not see written.
    const { streamDir } = opts;
    const resumed = streamDir === undefined ? undefined : readJournal<ItemChange>(streamDir);
    // On its own thread: dynalite's work runs beside the gateway and the handlers, not between their requests.
    const ddb = await startDynamoDbThread({
      dir: opts.dynamodbDir,
      port: opts.ports.dynamodb,
      journal: streamDir === undefined || resumed === undefined ? undefined : { dir: streamDir, nextSeq: resumed.nextSeq },
      onChange: (c) => {
        for (const listener of listeners) listener(c);
      },
    });
    started.defer(() => ddb.close());
    const ddbClient = dynamoClient(ddb.url);
    started.defer(() => ddbClient.destroy());
    await ensureTable(ddbClient, LOCAL_NAMES.table);
    if (opts.repairIndexes) {
      const removed = await removeDanglingIndexEntries(ddbClient, LOCAL_NAMES.table);
      if (removed.length > 0) opts.onProgress(`removed ${removed.length} index entries a stopped write left without their item`);
    }

    opts.onProgress('starting S3 (s3rver)');
    const s3 = await startS3({ dir: opts.s3Dir, bucket: LOCAL_NAMES.bucket, port: opts.ports.s3 });
    started.defer(() => s3.close());

    opts.onProgress('starting SQS');
    const sqsServer = await startSqsServer({ port: opts.ports.sqs, file: opts.sqsFile, queues: [LOCAL_NAMES.logDlq] });
    started.defer(() => sqsServer.close());
    const sqs = new SQSClient({
      endpoint: sqsServer.url,
      region: LOCAL_NAMES.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    started.defer(() => sqs.destroy());

    return {
      tableName: LOCAL_NAMES.table,
      bucketName: LOCAL_NAMES.bucket,
      logDlqUrl: sqsServer.queueUrl(LOCAL_NAMES.logDlq),
      dynamodbUrl: ddb.url,
      s3Url: s3.url,
      sqsUrl: sqsServer.url,
      sqs,
      dynamodb: { url: ddb.url, stop: () => ddb.stop(), start: () => ddb.start() },
      pendingChanges: (resumed?.pending ?? []).map((e) => ({ ...e.change, seq: e.seq })),
      checkpoint: (seq: number) => {
        if (streamDir !== undefined) writeCheckpoint(streamDir, seq);
      },
      onTableChange(listener: (change: ItemChange) => void) {
        listeners.add(listener);
        return () => {
          listeners.delete(listener);
        };
      },
    };
  });
}
