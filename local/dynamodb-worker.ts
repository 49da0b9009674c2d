/**
 * The embedded DynamoDB in a worker thread (see `startDynamoDbThread`): dynalite answers on its own
 * event loop and heap, so its parsing, LevelDB work and garbage collection run beside the handlers on
 * the other core instead of between their requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type DynamoDbThreadReply, type DynamoDbThreadRequest, type ItemChange, type JournalOptions, startDynamoDb } from './dynamodb';
import { PortInUseError } from './listen';

const port = parentPort;
if (port === null) throw new Error('dynamodb-worker runs as a worker thread');

const { tapChanges, ...options } = workerData as { dir?: string; port?: number; tapChanges?: boolean; journal?: JournalOptions };
// Accepted item writes go to the main thread, which feeds them to the analytics writer as stream records.
const onChange = tapChanges
  ? (change: ItemChange) => port.postMessage({ kind: 'change', change } satisfies DynamoDbThreadReply)
  : undefined;

startDynamoDb({ ...options, onChange }).then(
  (db) => {
    port.on('message', (m: DynamoDbThreadRequest) => {
      db[m.op]().then(
        () => {
          port.postMessage({ kind: 'done', id: m.id } satisfies DynamoDbThreadReply);
          if (m.op === 'close') port.close();
        },
        (e: Error) => port.postMessage({ kind: 'done', id: m.id, error: e.message } satisfies DynamoDbThreadReply),
      );
    });
    port.postMessage({ kind: 'ready', port: db.port } satisfies DynamoDbThreadReply);
  },
  (e: Error) => {
    const portInUse = e instanceof PortInUseError ? e.port : undefined;
    port.postMessage({ kind: 'failed', error: e.message, portInUse } satisfies DynamoDbThreadReply);
    port.close();
  },
);
