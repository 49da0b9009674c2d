/**
 * The embedded DynamoDB: dynalite on 127.0.0.1, on LevelDB in a folder (or in memory), with the
 * prediction log table created from the same CreateTable input the contract defines.
 */

import { existsSync, mkdirSync } from 'node:fs';
import { type IncomingMessage, Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../contract/prediction-log';
import { ChangeJournal } from './change-journal';
import { REPAIR_MARKER } from './index-repair';
import { listen, PortInUseError } from './listen';
import { LOCAL_NAMES } from './paths';

/** dynalite ships no types: the factory returns a node:http server whose close() also closes the store. */
type DynaliteFactory = (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
const dynalite = require('dynalite') as DynaliteFactory;

export interface EmbeddedDynamoDb {
  readonly url: string;
  readonly port: number;
  /** Stops answering (connections refused) but keeps the data: a fault for tests. */
  stop(): Promise<void>;
  /** Answers again on the same port after stop(). */
  start(): Promise<void>;
  /** Stops for good and closes the store (flushes LevelDB and releases its lock). */
  close(): Promise<void>;
}

/**
 * An item write the embedded DynamoDB accepted, with the item as it now is (DynamoDB JSON): what a
 * DynamoDB stream with the NEW_IMAGE view would carry. PutItem gives its item; UpdateItem gives the
 * item only when the caller asked for ALL_NEW (the feedback route does), else it is not reported.
 */
export interface ItemChange {
  readonly operation: 'PutItem' | 'UpdateItem';
  readonly table: string;
  readonly newImage: Record<string, unknown>;
  /** Its number in the change journal, when the table keeps one (`journal`). */
  readonly seq?: number;
}

/** Where accepted writes are journaled (`change-journal.ts`), and the number the next one gets. */
export interface JournalOptions {
  readonly dir: string;
  readonly nextSeq: number;
}

/**
 * Watches dynalite's answers and reports accepted PutItem/UpdateItem writes (the local stand-in for a table
 * stream), each journaled first when `journal` is given: before the caller reads the write's answer.
 */
function tapChanges(server: Server, onChange: (c: ItemChange) => void, journal?: JournalOptions): void {
  const log = journal === undefined ? undefined : new ChangeJournal<ItemChange>(journal.dir, journal.nextSeq);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1];
    if (operation !== 'PutItem' && operation !== 'UpdateItem') return;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    const end = res.end.bind(res) as (body?: unknown) => ServerResponse;
    res.end = ((body?: unknown) => {
      if (res.statusCode === 200) {
        try {
          const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            TableName: string;
            Item?: Record<string, unknown>;
            ReturnValues?: string;
          };
          const newImage =
            operation === 'PutItem'
              ? request.Item
              : request.ReturnValues === 'ALL_NEW'
                ? (JSON.parse(String(body)) as { Attributes?: Record<string, unknown> }).Attributes
                : undefined;
          // The start-up repair's own puts (index-repair.ts) are no write of the log.
          if (newImage !== undefined && request.Item?.[REPAIR_MARKER] === undefined) {
            const change: ItemChange = { operation, table: request.TableName, newImage };
            onChange(log === undefined ? change : { ...change, seq: log.append(change) });
          }
        } catch {
          // A body dynalite accepted is JSON; anything else is not a write to report.
        }
      }
      return end(body);
    }) as typeof res.end;
  });
}

export interface EmbeddedDynamoDbOptions {
  /** Folder of the LevelDB store. @default - in memory */
  dir?: string;
  /** @default 0 - a free port */
  port?: number;
  /** Called with each accepted item write (the table stream stand-in). */
  onChange?: (c: ItemChange) => void;
  /** Journal each accepted write there before it is answered. @default - no journal */
  journal?: JournalOptions;
}

export async function startDynamoDb(opts: EmbeddedDynamoDbOptions): Promise<EmbeddedDynamoDb> {
  if (opts.dir) mkdirSync(opts.dir, { recursive: true });
  // Tables are ACTIVE at once: dynalite otherwise mimics the seconds DynamoDB spends creating them.
  const server = dynalite({ path: opts.dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  if (opts.onChange) tapChanges(server, opts.onChange, opts.journal);
  // dynalite wraps listen()/close() to reopen and close its store; the fault switch uses the plain
  // node:http ones so the store (and an in-memory table) survives a stop/start.
  const plainListen = (p: number, h: string) => (Server.prototype.listen as (port: number, host: string) => Server).call(server, p, h);
  const port = await listen(server, opts.port ?? 0, 'embedded DynamoDB', plainListen);
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await new Promise<void>((done) => {
      Server.prototype.close.call(server, () => done());
      server.closeAllConnections();
    });
  };
  const start = async () => {
    if (!stopped) return;
    await listen(server, port, 'embedded DynamoDB', plainListen);
    stopped = false;
  };
  const close = async () => {
    // dynalite's own close() also closes the store, and it needs a listening server to do so.
    await start();
    await new Promise<void>((done, reject) => {
      server.close((err?: Error) => (err ? reject(err) : done()));
      server.closeAllConnections();
    });
  };
  return { url, port, stop, start, close };
}

/** Main thread → DynamoDB thread. */
export interface DynamoDbThreadRequest {
  readonly id: number;
  readonly op: 'stop' | 'start' | 'close';
}

/** DynamoDB thread → main thread. */
export type DynamoDbThreadReply =
  | { readonly kind: 'ready'; readonly port: number }
  | { readonly kind: 'failed'; readonly error: string; readonly portInUse?: number }
  | { readonly kind: 'done'; readonly id: number; readonly error?: string }
  | { readonly kind: 'change'; readonly change: ItemChange };

/**
 * The same embedded DynamoDB in a worker thread: `npm start` uses it so that dynalite's CPU (about a third
 * of a logged prediction's) runs on the other core, beside the gateway and the handlers.
 */
export async function startDynamoDbThread(opts: EmbeddedDynamoDbOptions): Promise<EmbeddedDynamoDb> {
  const { onChange, ...workerOpts } = opts;
  const worker = spawnDynamoDbWorker({ ...workerOpts, tapChanges: onChange !== undefined });
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 0;
  const ready = new Promise<number>((resolve, reject) => {
    worker.on('message', (m: DynamoDbThreadReply) => {
      if (m.kind === 'change') onChange?.(m.change);
      else if (m.kind === 'ready') resolve(m.port);
      else if (m.kind === 'failed')
        reject(m.portInUse !== undefined ? new PortInUseError(m.portInUse, 'embedded DynamoDB') : new Error(m.error));
      else {
        const call = pending.get(m.id);
        pending.delete(m.id);
        if (m.error === undefined) call?.resolve();
        else call?.reject(new Error(m.error));
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      const gone = new Error(`The embedded DynamoDB thread exited (code ${code})`);
      reject(gone);
      for (const call of pending.values()) call.reject(gone);
      pending.clear();
    });
  });
  const port = await ready.catch(async (e: unknown) => {
    await worker.terminate();
    throw e;
  });
  const call = (op: DynamoDbThreadRequest['op']) =>
    new Promise<void>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op } satisfies DynamoDbThreadRequest);
    });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () => call('stop'),
    start: () => call('start'),
    close: async () => {
      await call('close');
      await worker.terminate();
    },
  };
}

/** The worker from the TypeScript source (tsx: `npm start`, tests) or from compiled JavaScript beside this file. */
function spawnDynamoDbWorker(opts: { dir?: string; port?: number; tapChanges: boolean; journal?: JournalOptions }): Worker {
  // A roomy young generation: dynalite makes many short-lived objects per request.
  const options = { workerData: opts, resourceLimits: { maxYoungGenerationSizeMb: 64 } };
  const source = join(__dirname, 'dynamodb-worker.ts');
  if (__filename.endsWith('.ts') && existsSync(source)) {
    return new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(source)});`, { ...options, eval: true });
  }
  return new Worker(join(__dirname, 'dynamodb-worker.js'), options);
}

export function dynamoClient(url: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: url,
    region: LOCAL_NAMES.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** Creates the prediction log table unless it exists (a restart on a persisted folder finds it). */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<'created' | 'existing'> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return 'existing';
  } catch (e) {
    if (!(e instanceof ResourceNotFoundException)) throw e;
  }
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  // dynalite answers CreateTable with CREATING and turns the table ACTIVE a moment later; a write in
  // between is refused as ResourceNotFound, so return only once the table takes writes.
  for (const deadline = Date.now() + 10_000; ; ) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return 'created';
    if (Date.now() > deadline) throw new Error(`Table ${tableName} is still ${Table?.TableStatus} after 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
