/**
 * A minimal SQS for local runs and tests: the AWS JSON 1.0 protocol the SDK v3 client speaks
 * (`X-Amz-Target: AmazonSQS.<Action>`), queues in memory and optionally saved to a JSON file.
 * Supported: CreateQueue, GetQueueUrl, GetQueueAttributes, SendMessage, SendMessageBatch, ReceiveMessage
 * (visibility timeout, short waits), DeleteMessage, DeleteMessageBatch. Message attributes are not.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { errorMessage } from '../contract/errors';
import { closeServer, listen } from './listen';

export interface SqsServerOptions {
  /** @default 0 - a free port */
  port?: number;
  /** Queues that exist from the start. */
  queues?: string[];
  /** Where queues are saved after every change and loaded at start. @default - memory only */
  file?: string;
  /** Default visibility timeout of new queues, seconds. @default 30 */
  visibilityTimeoutSeconds?: number;
}

export interface RunningSqsServer {
  readonly url: string;
  /** The URL of a queue (it need not exist yet). */
  queueUrl(name: string): string;
  close(): Promise<void>;
}

interface StoredMessage {
  id: string;
  body: string;
  sentAt: number;
  /** Epoch ms before which the message is invisible. */
  visibleAt: number;
  receiveCount: number;
  /** Receipt handle of the latest receive; older handles no longer delete. */
  receipt?: string;
}

interface Queue {
  visibilityTimeoutSeconds: number;
  messages: StoredMessage[];
}

const ACCOUNT = '000000000000';
const MAX_BODY_BYTES = 256 * 1024;
/** Long polls are cut short: tests and the local runner never need to hang 20 s. */
const MAX_WAIT_MS = 2_000;

class SqsError extends Error {
  constructor(
    readonly type: string,
    readonly queryCode: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export async function startSqsServer(opts: SqsServerOptions = {}): Promise<RunningSqsServer> {
  const queues = new Map<string, Queue>();
  const defaultVisibility = opts.visibilityTimeoutSeconds ?? 30;
  if (opts.file !== undefined && existsSync(opts.file)) {
    const saved = JSON.parse(readFileSync(opts.file, 'utf8')) as Record<string, Queue>;
    for (const [name, q] of Object.entries(saved)) queues.set(name, q);
  }
  for (const name of opts.queues ?? [])
    if (!queues.has(name)) queues.set(name, { visibilityTimeoutSeconds: defaultVisibility, messages: [] });

  let base = '';
  const save = () => {
    if (opts.file === undefined) return;
    const tmp = `${opts.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(queues)));
    renameSync(tmp, opts.file);
  };
  const urlOf = (name: string) => `${base}/${ACCOUNT}/${name}`;
  const queueOf = (queueUrl: unknown): Queue => {
    const name = typeof queueUrl === 'string' ? (queueUrl.split('/').pop() ?? '') : '';
    const q = queues.get(name);
    if (q === undefined)
      throw new SqsError('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
    return q;
  };
  const send = (q: Queue, body: unknown, delaySeconds: unknown) => {
    if (typeof body !== 'string' || body.length === 0)
      throw new SqsError('InvalidParameterValue', 'InvalidParameterValue', 'MessageBody is required.');
    if (Buffer.byteLength(body) > MAX_BODY_BYTES)
      throw new SqsError('InvalidParameterValue', 'InvalidParameterValue', 'MessageBody is longer than 262144 bytes.');
    const now = Date.now();
    const m: StoredMessage = {
      id: randomUUID(),
      body,
      sentAt: now,
      visibleAt: now + (typeof delaySeconds === 'number' ? delaySeconds * 1000 : 0),
      receiveCount: 0,
    };
    q.messages.push(m);
    return { MessageId: m.id, MD5OfMessageBody: md5(body) };
  };
  const receive = (q: Queue, max: number, visibilitySeconds: number) => {
    const now = Date.now();
    const out = [];
    for (const m of q.messages) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      m.visibleAt = now + visibilitySeconds * 1000;
      m.receiveCount++;
      m.receipt = `${m.id}:${randomUUID()}`;
      out.push({
        MessageId: m.id,
        ReceiptHandle: m.receipt,
        MD5OfBody: md5(m.body),
        Body: m.body,
        Attributes: { ApproximateReceiveCount: String(m.receiveCount), SentTimestamp: String(m.sentAt) },
      });
    }
    return out;
  };
  const remove = (q: Queue, receipt: unknown): boolean => {
    const i = q.messages.findIndex((m) => m.receipt !== undefined && m.receipt === receipt);
    if (i === -1) return typeof receipt === 'string' && q.messages.every((m) => !receipt.startsWith(`${m.id}:`));
    q.messages.splice(i, 1);
    return true;
  };

  const actions: Record<string, (input: Record<string, unknown>) => Promise<unknown> | unknown> = {
    CreateQueue: (input) => {
      const name = String(input.QueueName ?? '');
      if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name))
        throw new SqsError('InvalidParameterValue', 'InvalidParameterValue', 'Invalid QueueName.');
      if (!queues.has(name)) {
        const attrs = (input.Attributes ?? {}) as Record<string, string>;
        queues.set(name, {
          visibilityTimeoutSeconds: attrs.VisibilityTimeout !== undefined ? Number(attrs.VisibilityTimeout) : defaultVisibility,
          messages: [],
        });
        save();
      }
      return { QueueUrl: urlOf(name) };
    },
    GetQueueUrl: (input) => {
      const name = String(input.QueueName ?? '');
      if (!queues.has(name))
        throw new SqsError('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
      return { QueueUrl: urlOf(name) };
    },
    GetQueueAttributes: (input) => {
      const q = queueOf(input.QueueUrl);
      const now = Date.now();
      const visible = q.messages.filter((m) => m.visibleAt <= now).length;
      return {
        Attributes: {
          ApproximateNumberOfMessages: String(visible),
          ApproximateNumberOfMessagesNotVisible: String(q.messages.length - visible),
          VisibilityTimeout: String(q.visibilityTimeoutSeconds),
        },
      };
    },
    SendMessage: (input) => {
      const out = send(queueOf(input.QueueUrl), input.MessageBody, input.DelaySeconds);
      save();
      return out;
    },
    SendMessageBatch: (input) => {
      const q = queueOf(input.QueueUrl);
      const entries = (input.Entries ?? []) as { Id: string; MessageBody: unknown; DelaySeconds?: unknown }[];
      if (entries.length === 0 || entries.length > 10)
        throw new SqsError(
          'TooManyEntriesInBatchRequest',
          'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
          'A batch holds 1 to 10 entries.',
        );
      const Successful = [];
      const Failed = [];
      for (const e of entries) {
        try {
          Successful.push({ Id: e.Id, ...send(q, e.MessageBody, e.DelaySeconds) });
        } catch (err) {
          Failed.push({ Id: e.Id, SenderFault: true, Code: (err as SqsError).type, Message: errorMessage(err) });
        }
      }
      save();
      return { Successful, Failed };
    },
    ReceiveMessage: async (input) => {
      const q = queueOf(input.QueueUrl);
      const max = Math.min(10, Math.max(1, Number(input.MaxNumberOfMessages ?? 1)));
      const visibility = input.VisibilityTimeout !== undefined ? Number(input.VisibilityTimeout) : q.visibilityTimeoutSeconds;
      const deadline = Date.now() + Math.min(MAX_WAIT_MS, Number(input.WaitTimeSeconds ?? 0) * 1000);
      let got = receive(q, max, visibility);
      while (got.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        got = receive(q, max, visibility);
      }
      if (got.length > 0) save();
      return got.length > 0 ? { Messages: got } : {};
    },
    DeleteMessage: (input) => {
      const q = queueOf(input.QueueUrl);
      if (!remove(q, input.ReceiptHandle))
        throw new SqsError('ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', 'The receipt handle is no longer valid.');
      save();
      return {};
    },
    DeleteMessageBatch: (input) => {
      const q = queueOf(input.QueueUrl);
      const entries = (input.Entries ?? []) as { Id: string; ReceiptHandle: unknown }[];
      const Successful = [];
      const Failed = [];
      for (const e of entries) {
        if (remove(q, e.ReceiptHandle)) Successful.push({ Id: e.Id });
        else
          Failed.push({ Id: e.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'The receipt handle is no longer valid.' });
      }
      save();
      return { Successful, Failed };
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const action = target.startsWith('AmazonSQS.') ? actions[target.slice('AmazonSQS.'.length)] : undefined;
      Promise.resolve()
        .then(() => {
          if (action === undefined)
            throw new SqsError(
              'UnsupportedOperation',
              'AWS.SimpleQueueService.UnsupportedOperation',
              `Unsupported action ${target || '(none)'}.`,
            );
          const raw = Buffer.concat(chunks).toString('utf8');
          return action(raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>));
        })
        .then(
          (out) => reply(res, 200, out),
          (e: unknown) => {
            const err = e instanceof SqsError ? e : new SqsError('InternalError', 'InternalError', errorMessage(e), 500);
            reply(
              res,
              err.status,
              { __type: `com.amazonaws.sqs#${err.type}`, message: err.message },
              { 'x-amzn-query-error': `${err.queryCode};Sender` },
            );
          },
        );
    });
  });

  const port = await listen(server, opts.port ?? 0, 'local SQS');
  base = `http://127.0.0.1:${port}`;
  return { url: base, queueUrl: urlOf, close: () => closeServer(server) };
}

function reply(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-requestid': randomUUID(),
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function md5(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}
