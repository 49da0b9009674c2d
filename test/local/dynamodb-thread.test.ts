/**
 * The embedded DynamoDB on its own worker thread, as `npm start` runs it: the same dynalite through the
 * real SDK, data kept in its folder across restarts, stop/start for fault tests, a taken port named.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamoClient, ensureTable, startDynamoDbThread } from '../../local/dynamodb';
import { PortInUseError } from '../../local/listen';

jest.setTimeout(60_000);

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'mlship-ddb-thread-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('items written through the SDK survive a restart of the thread on the same folder', async () => {
  const first = await startDynamoDbThread({ dir });
  const c1 = dynamoClient(first.url);
  expect(await ensureTable(c1, 'thread-log')).toBe('created');
  await c1.send(new PutItemCommand({ TableName: 'thread-log', Item: { id: { S: 'kept' }, output: { S: '{"label":"benign"}' } } }));
  c1.destroy();
  await first.close();

  const second = await startDynamoDbThread({ dir });
  const c2 = dynamoClient(second.url);
  try {
    expect(await ensureTable(c2, 'thread-log')).toBe('existing');
    const got = await c2.send(new GetItemCommand({ TableName: 'thread-log', Key: { id: { S: 'kept' } } }));
    expect(got.Item?.output?.S).toBe('{"label":"benign"}');
  } finally {
    c2.destroy();
    await second.close();
  }
});

test('stop() refuses connections and start() answers again on the same port', async () => {
  const db = await startDynamoDbThread({});
  const client = dynamoClient(db.url);
  try {
    await ensureTable(client, 'thread-faults');
    await db.stop();
    await expect(client.send(new GetItemCommand({ TableName: 'thread-faults', Key: { id: { S: 'x' } } }))).rejects.toThrow(/ECONNREFUSED/);
    await db.start();
    const got = await client.send(new GetItemCommand({ TableName: 'thread-faults', Key: { id: { S: 'x' } } }));
    expect(got.Item).toBeUndefined();
  } finally {
    client.destroy();
    await db.close();
  }
});

test('a taken port is a PortInUseError naming it', async () => {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as { port: number }).port;
  try {
    await expect(startDynamoDbThread({ port })).rejects.toThrow(PortInUseError);
    await expect(startDynamoDbThread({ port })).rejects.toThrow(new RegExp(`Port ${port} is already in use \\(embedded DynamoDB\\)`));
  } finally {
    await new Promise((r) => holder.close(r));
  }
});
