/** The local SQS through the real SDK client: batches, visibility timeout, deletes and persistence. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startSqsServer } from '../../local/sqs-server';
import { defined } from '../support/defined';
import { until } from '../support/poll';

const client = (url: string) =>
  new SQSClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const dir = mkdtempSync(join(tmpdir(), 'mlship-sqs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('sends, hides received messages for the visibility timeout, deletes, and survives a restart', async () => {
  // GIVEN a queue saved to a file, with three messages
  const file = join(dir, 'queues.json');
  let server = await startSqsServer({ file });
  let sqs = client(server.url);
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'q1' }));
  expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'q1' }))).QueueUrl).toBe(QueueUrl);
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'one' }));
  const batch = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl,
      Entries: [
        { Id: 'a', MessageBody: 'two' },
        { Id: 'b', MessageBody: 'three' },
      ],
    }),
  );
  expect(batch.Successful).toHaveLength(2);

  // WHEN two are received (hidden for 1 s) and one of them deleted
  const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 2, VisibilityTimeout: 1 }));
  expect(got.Messages?.map((m) => m.Body)).toEqual(['one', 'two']);
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('1');
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl,
      Entries: [{ Id: '0', ReceiptHandle: defined(got.Messages?.[0], 'the first message').ReceiptHandle }],
    }),
  );

  // AND the server restarts from its file
  await server.close();
  server = await startSqsServer({ file, port: 0 });
  sqs = client(server.url);
  const url2 = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'q1' }))).QueueUrl;
  // THEN the received, undeleted message comes back once its visibility timeout passes, beside the unreceived one
  const visible = async () =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url2, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes
      ?.ApproximateNumberOfMessages;
  await until('the received message to be visible again', async () => (await visible()) === '2');
  const after = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url2, MaxNumberOfMessages: 10 }));
  expect(after.Messages?.map((m) => m.Body).sort()).toEqual(['three', 'two']);
  await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'missing' }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
  await server.close();
});
