/**
 * The embedded DynamoDB: dynalite on 127.0.0.1, on LevelDB in a folder (or in memory), with the
 * prediction log table created from the same CreateTable input the contract defines.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { mkdirSync } from 'node:fs';
import { Server } from 'node:http';
import { createTableInput } from '../contract/prediction-log';
import { listen } from './listen';
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

export async function startDynamoDb(opts: { dir?: string; port?: number }): Promise<EmbeddedDynamoDb> {
  if (opts.dir) mkdirSync(opts.dir, { recursive: true });
  // Tables are ACTIVE at once: dynalite otherwise mimics the seconds DynamoDB spends creating them.
  const server = dynalite({ path: opts.dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
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
  return 'created';
}
