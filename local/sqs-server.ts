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
  const store = new QueueStore(opts.file, opts.visibilityTimeoutSeconds ?? 30);
  store.load(opts.queues ?? []);
  const server = http.createServer(sqsRequestHandler(sqsActions(store)));
  const port = await listen(server, opts.port ?? 0, 'local SQS');
  store.baseUrl = `http://127.0.0.1:${port}`;
  return { url: store.baseUrl, queueUrl: (name) => store.urlOf(name), close: () => closeServer(server) };
}

/** The queues by name, in memory, saved to `file` (when given) after every change. */
class QueueStore {
  readonly queues = new Map<string, Queue>();
  /** The server's URL, known once it listens. */
  baseUrl = '';

  constructor(
    private readonly file: string | undefined,
    readonly defaultVisibilitySeconds: number,
  ) {}

  /** Loads the saved queues, then creates the named ones that do not exist yet. */
  load(names: readonly string[]): void {
    if (this.file !== undefined && existsSync(this.file)) {
      const saved = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, Queue>;
      for (const [name, q] of Object.entries(saved)) this.queues.set(name, q);
    }
    for (const name of names)
      if (!this.queues.has(name)) this.queues.set(name, { visibilityTimeoutSeconds: this.defaultVisibilitySeconds, messages: [] });
  }

  save(): void {
    if (this.file === undefined) return;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.queues)));
    renameSync(tmp, this.file);
  }

  urlOf(name: string): string {
    return `${this.baseUrl}/${ACCOUNT}/${name}`;
  }

  /** The queue a request's QueueUrl names. */
  get(queueUrl: unknown): Queue {
    const name = typeof queueUrl === 'string' ? (queueUrl.split('/').pop() ?? '') : '';
    const q = this.queues.get(name);
    if (q === undefined) throw noSuchQueue();
    return q;
  }
}

function noSuchQueue(): SqsError {
  return new SqsError('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
}

function sendMessage(q: Queue, body: unknown, delaySeconds: unknown) {
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
}

/** Up to `max` visible messages, each hidden for `visibilitySeconds` under a new receipt handle. */
function receiveMessages(q: Queue, max: number, visibilitySeconds: number) {
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
}

/** Deletes by the latest receipt handle; a handle of a message already gone counts as deleted, as in SQS. */
function deleteMessage(q: Queue, receipt: unknown): boolean {
  const i = q.messages.findIndex((m) => m.receipt !== undefined && m.receipt === receipt);
  if (i === -1) return typeof receipt === 'string' && q.messages.every((m) => !receipt.startsWith(`${m.id}:`));
  q.messages.splice(i, 1);
  return true;
}

type Action = (input: Record<string, unknown>) => Promise<unknown> | unknown;

/** The supported actions by name, over the store. */
function sqsActions(store: QueueStore): Record<string, Action> {
  return {
    CreateQueue: (input) => {
      const name = String(input.QueueName ?? '');
      if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name))
        throw new SqsError('InvalidParameterValue', 'InvalidParameterValue', 'Invalid QueueName.');
      if (!store.queues.has(name)) {
        const attrs = (input.Attributes ?? {}) as Record<string, string>;
        store.queues.set(name, {
          visibilityTimeoutSeconds:
            attrs.VisibilityTimeout !== undefined ? Number(attrs.VisibilityTimeout) : store.defaultVisibilitySeconds,
          messages: [],
        });
        store.save();
      }
      return { QueueUrl: store.urlOf(name) };
    },
    GetQueueUrl: (input) => {
      const name = String(input.QueueName ?? '');
      if (!store.queues.has(name)) throw noSuchQueue();
      return { QueueUrl: store.urlOf(name) };
    },
    GetQueueAttributes: (input) => {
      const q = store.get(input.QueueUrl);
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
      const out = sendMessage(store.get(input.QueueUrl), input.MessageBody, input.DelaySeconds);
      store.save();
      return out;
    },
    SendMessageBatch: (input) => {
      const q = store.get(input.QueueUrl);
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
          Successful.push({ Id: e.Id, ...sendMessage(q, e.MessageBody, e.DelaySeconds) });
        } catch (err) {
          Failed.push({ Id: e.Id, SenderFault: true, Code: (err as SqsError).type, Message: errorMessage(err) });
        }
      }
      store.save();
      return { Successful, Failed };
    },
    ReceiveMessage: async (input) => {
      const q = store.get(input.QueueUrl);
      const max = Math.min(10, Math.max(1, Number(input.MaxNumberOfMessages ?? 1)));
      const visibility = input.VisibilityTimeout !== undefined ? Number(input.VisibilityTimeout) : q.visibilityTimeoutSeconds;
      const deadline = Date.now() + Math.min(MAX_WAIT_MS, Number(input.WaitTimeSeconds ?? 0) * 1000);
      let got = receiveMessages(q, max, visibility);
      while (got.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        got = receiveMessages(q, max, visibility);
      }
      if (got.length > 0) store.save();
      return got.length > 0 ? { Messages: got } : {};
    },
    DeleteMessage: (input) => {
      const q = store.get(input.QueueUrl);
      if (!deleteMessage(q, input.ReceiptHandle))
        throw new SqsError('ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', 'The receipt handle is no longer valid.');
      store.save();
      return {};
    },
    DeleteMessageBatch: (input) => {
      const q = store.get(input.QueueUrl);
      const entries = (input.Entries ?? []) as { Id: string; ReceiptHandle: unknown }[];
      const Successful = [];
      const Failed = [];
      for (const e of entries) {
        if (deleteMessage(q, e.ReceiptHandle)) Successful.push({ Id: e.Id });
        else
          Failed.push({ Id: e.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'The receipt handle is no longer valid.' });
      }
      store.save();
      return { Successful, Failed };
    },
  };
}

/** The JSON 1.0 protocol: the action from `X-Amz-Target`, its input from the body, errors as SQS words them. */
function sqsRequestHandler(actions: Record<string, Action>): http.RequestListener {
  return (req, res) => {
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
          (e: unknown) => replyError(res, e instanceof SqsError ? e : new SqsError('InternalError', 'InternalError', errorMessage(e), 500)),
        );
    });
  };
}

function replyError(res: http.ServerResponse, err: SqsError): void {
  reply(
    res,
    err.status,
    { __type: `com.amazonaws.sqs#${err.type}`, message: err.message },
    { 'x-amzn-query-error': `${err.queryCode};Sender` },
  );
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
