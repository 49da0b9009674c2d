/**
 * The model server: SageMaker's container contract over node:http.
 *
 *   GET  /ping                  200 once the model is loaded, 503 MODEL_LOADING before
 *   POST /invocations           application/json {"instances": [...]} or text/csv rows → predictions
 *   GET  /execution-parameters  what Batch Transform asks before sending work
 *
 * `startServer` runs one server in this process (workers: 0) or the cluster in a child process.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { ENV } from '../../contract/env';
import { ApiError, errorStack, isApiError } from '../../contract/errors';
import { parseJsonBounded } from '../../contract/json';
import { LIMITS } from '../../contract/limits';
import { type Instance, parseCsvRows, type Row, validateInstances } from '../../contract/manifest';
import {
  DEADLINE_ATTRIBUTE,
  DEADLINE_HEADER,
  type InvocationResponse,
  MODEL_VERSION_HEADER,
  type Prediction,
  SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER,
} from '../../contract/prediction';
import { Batcher } from './batcher';
import { answerParserErrors, drainUnreadBody } from './early-answer';
import { ImageDecoder } from './image-decoder';
import { log, readLogLines } from './log';
import { type LoadedModel, loadModel } from './model';
import { resolveModelDir } from './model-source';

export interface StartServerOptions {
  /** Model directory. @default - resolved from MODEL_DIR, MODEL_S3_URI or /opt/ml/model */
  readonly modelDir?: string;
  /** Supplies the model instead of loading `modelDir` (a caller that already holds one shares it). */
  readonly load?: () => Promise<LoadedModel>;
  /** @default 0 - a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 serves in this process; N > 0 starts the cluster (N worker processes) in a child process. @default 0 */
  readonly workers?: number;
  /** @default LIMITS.defaultMaxBatchSize */
  readonly maxBatchSize?: number;
  /** 0 turns micro-batching off. @default LIMITS.defaultMaxBatchDelayUs */
  readonly maxBatchDelayUs?: number;
  /** Resolve only once the model is loaded (otherwise /ping answers 503 until `ready` settles). @default true */
  readonly waitForModel?: boolean;
  /** Reported to Batch Transform as MaxConcurrentTransforms. @default 1 */
  readonly concurrency?: number;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Settles when the model is loaded (rejects when loading failed). */
  readonly ready: Promise<void>;
  /** Process id of the cluster's primary (workers > 0). */
  readonly pid?: number;
  /** Batching counters of an in-process server. */
  readonly stats?: Batcher['stats'];
  /** Stops accepting, finishes in-flight requests, releases the model. */
  close(): Promise<void>;
}

const MB = 1024 * 1024;
/** Longer than an ALB's 60 s idle timeout, so the balancer closes idle connections first. */
const KEEP_ALIVE_MS = 65_000;
/** SageMaker sends SIGKILL 30 s after SIGTERM: give up on slow connections before that. */
const DRAIN_TIMEOUT_MS = 25_000;

const JSON_TYPE = 'application/json';
const CSV_TYPE = 'text/csv';

export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  if ((opts.workers ?? 0) > 0) return startCluster(opts);
  return startInProcess(opts);
}

type Format = 'json' | 'csv';

/** One server in this process. */
export async function startInProcess(opts: StartServerOptions): Promise<RunningServer> {
  let model: LoadedModel | undefined;
  let batcher: Batcher | undefined;
  let decoder: ImageDecoder | undefined;
  let modelHeader = '';
  let jsonSuffix = '';
  let stopping = false;
  // Invocations still working, even when their client has gone: the session is released only after them.
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const executionParameters = JSON.stringify({
    MaxConcurrentTransforms: opts.concurrency ?? 1,
    BatchStrategy: 'MULTI_RECORD',
    MaxPayloadInMB: Math.floor(LIMITS.maxInvocationBodyBytes / MB),
  });

  const server = http.createServer({ keepAliveTimeout: KEEP_ALIVE_MS, headersTimeout: KEEP_ALIVE_MS + 1000 }, (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const route = q === -1 ? url : url.slice(0, q);
    if (route === '/invocations') {
      if (req.method !== 'POST') return fail(req, res, new ApiError('METHOD_NOT_ALLOWED', 'Use POST /invocations.'));
      if (!model || !batcher) return fail(req, res, new ApiError('MODEL_LOADING', 'The model is still loading.'));
      inFlight++;
      invoke(req, res, model, batcher)
        .catch((e) => fail(req, res, e))
        .finally(() => --inFlight === 0 && drained?.());
    } else if (route === '/ping') {
      if (req.method !== 'GET') return fail(req, res, new ApiError('METHOD_NOT_ALLOWED', 'Use GET /ping.'));
      if (!model) return fail(req, res, new ApiError('MODEL_LOADING', 'The model is still loading.'));
      send(res, 200, JSON_TYPE, `{"status":"ok","model":${JSON.stringify(modelHeader)}}`);
    } else if (route === '/execution-parameters') {
      if (req.method !== 'GET') return fail(req, res, new ApiError('METHOD_NOT_ALLOWED', 'Use GET /execution-parameters.'));
      send(res, 200, JSON_TYPE, executionParameters);
    } else {
      fail(req, res, new ApiError('ROUTE_NOT_FOUND', `No route ${route}.`));
    }
  });

  async function invoke(req: http.IncomingMessage, res: http.ServerResponse, m: LoadedModel, b: Batcher): Promise<void> {
    const inFormat = contentFormat(req.headers['content-type']);
    const outFormat = acceptFormat(req.headers.accept);
    const signal = abandonSignal(req, res, m);
    const text = await readBody(req);
    signal?.throwIfAborted();
    let rows: Row[];
    if (inFormat === 'csv') {
      rows = parseCsvRows(m.manifest, text, LIMITS.maxRowsPerInvocation);
    } else {
      const body = parseJsonBounded(text);
      const instances = validateInstances(m.manifest, body, { maxInstances: LIMITS.maxRowsPerInvocation });
      rows = m.toRows(await decodeImages(m, instances, signal));
    }
    signal?.throwIfAborted();
    const predictions = await b.submit(rows);
    if (outFormat === 'csv') send(res, 200, CSV_TYPE, toCsv(predictions), modelHeader);
    else send(res, 200, JSON_TYPE, `{"predictions":${JSON.stringify(predictions)}${jsonSuffix}`, modelHeader);
  }

  /**
   * Work for a caller that has gone, or whose deadline has passed, is abandoned at the next step. Only
   * requests with work worth abandoning get the wiring (an AbortController, a timer and a close listener
   * cost a tabular request a measurable share of its time): those with a deadline, and image models,
   * whose decoding is the long step.
   */
  function abandonSignal(req: http.IncomingMessage, res: http.ServerResponse, m: LoadedModel): AbortSignal | undefined {
    const deadlineMs = callerDeadlineMs(req);
    if (deadlineMs === undefined && m.manifest.input.kind !== 'image') return undefined;
    const abandon = new AbortController();
    const timer =
      deadlineMs === undefined
        ? undefined
        : setTimeout(() => abandon.abort(new ApiError('BACKEND_TIMEOUT', `The caller's deadline of ${deadlineMs} ms passed.`)), deadlineMs);
    res.once('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished) abandon.abort(new ApiError('BACKEND_TIMEOUT', 'The caller closed the connection.'));
    });
    return abandon.signal;
  }

  /** Image instances decoded on the decoding thread (off the event loop that answers /ping). */
  async function decodeImages(m: LoadedModel, instances: Instance[], signal: AbortSignal | undefined): Promise<Instance[]> {
    const input = m.manifest.input;
    if (input.kind !== 'image') return instances;
    const at: number[] = [];
    const images: { b64: string; field: string }[] = [];
    instances.forEach((inst, i) => {
      if ('image' in inst) {
        at.push(i);
        images.push({ b64: inst.image, field: `instances[${i}]` });
      }
    });
    if (images.length === 0) return instances;
    decoder ??= new ImageDecoder(input);
    const decoded = await decoder.decode(images, signal);
    const out = instances.slice();
    at.forEach((i, j) => (out[i] = { values: decoded[j] }));
    return out;
  }

  function send(res: http.ServerResponse, status: number, type: string, body: string, model?: string): void {
    const headers: http.OutgoingHttpHeaders = { 'content-type': type, 'content-length': Buffer.byteLength(body) };
    if (model) headers[MODEL_VERSION_HEADER] = model;
    if (stopping) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end(body);
  }

  function fail(req: http.IncomingMessage, res: http.ServerResponse, e: unknown): void {
    const err = isApiError(e) ? e : new ApiError('INTERNAL', 'The model server failed to answer.');
    if (!isApiError(e)) log('error', 'invocation failed', { error: errorStack(e) });
    if (res.headersSent || res.destroyed) return void res.destroy();
    // Answer first, then read and discard what the client still sends, so it reads the answer.
    drainUnreadBody(req);
    send(res, err.status, JSON_TYPE, JSON.stringify(err.toBody()));
  }

  answerParserErrors(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const ready = (async () => {
    const loaded = opts.load ? await opts.load() : await loadModel(await resolveModelDir({ modelDir: opts.modelDir }));
    const { name, version } = loaded.manifest;
    modelHeader = `${name}/${version}`;
    const info: InvocationResponse['model'] = { name, version };
    jsonSuffix = `,"model":${JSON.stringify(info)}}`;
    batcher = new Batcher((rows) => loaded.run(rows), {
      maxBatchSize: opts.maxBatchSize ?? LIMITS.defaultMaxBatchSize,
      maxDelayUs: opts.maxBatchDelayUs ?? LIMITS.defaultMaxBatchDelayUs,
    });
    model = loaded;
  })();
  // Callers that do not wait still see a failed load through `ready`; avoid an unhandled rejection.
  ready.catch(() => undefined);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      stopping = true;
      const force = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
      force.unref();
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    }).then(async () => {
      await ready.catch(() => undefined);
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      await decoder?.close();
      await model?.close();
    }));

  const running: RunningServer = {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    ready,
    get stats() {
      return batcher?.stats;
    },
    close,
  };
  if (opts.waitForModel ?? true) {
    try {
      await ready;
    } catch (e) {
      await close();
      throw e;
    }
  }
  return running;
}

const DEADLINE_ATTRIBUTE_PATTERN = new RegExp(`(?:^|[;,\\s])${DEADLINE_ATTRIBUTE}=([^;,\\s]*)`);

/**
 * The time the caller will still wait, from the deadline header or SageMaker's custom attributes
 * (`mlship-deadline-ms=12000`); undefined when neither says. A malformed value is INVALID_HEADER.
 */
function callerDeadlineMs(req: http.IncomingMessage): number | undefined {
  let raw = req.headers[DEADLINE_HEADER];
  if (raw === undefined) {
    const attrs = req.headers[SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER];
    const m = typeof attrs === 'string' ? DEADLINE_ATTRIBUTE_PATTERN.exec(attrs) : null;
    raw = m?.[1];
  }
  if (raw === undefined) return undefined;
  const ms = Number(raw);
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw) || ms < 1) {
    throw new ApiError('INVALID_HEADER', `${DEADLINE_HEADER} must be a whole number of milliseconds (1 or more).`, DEADLINE_HEADER);
  }
  return ms;
}

/** Content-Type → input format; a missing one is taken as JSON (SageMaker's default). */
function contentFormat(header: string | undefined): Format {
  if (header === undefined) return 'json';
  const type = mediaType(header);
  if (type === JSON_TYPE) return 'json';
  if (type === CSV_TYPE) return 'csv';
  throw new ApiError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Type ${header.slice(0, 100)} is not supported: send application/json or text/csv.`,
    'content-type',
  );
}

/** Accept → output format: the first of application/json, text/csv or a wildcard listed. */
function acceptFormat(header: string | undefined): Format {
  if (header === undefined || header === '' || header === JSON_TYPE) return 'json';
  for (const part of header.split(',')) {
    const type = mediaType(part);
    if (type === JSON_TYPE || type === '*/*' || type === 'application/*') return 'json';
    if (type === CSV_TYPE || type === 'text/*') return 'csv';
  }
  throw new ApiError('NOT_ACCEPTABLE', `Accept ${header.slice(0, 100)} is not supported: ask for application/json or text/csv.`, 'accept');
}

function mediaType(header: string): string {
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/** The body as text, refusing more than the SageMaker payload limit without reading it all. */
function readBody(req: http.IncomingMessage): Promise<string> {
  const limit = LIMITS.maxInvocationBodyBytes;
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, size).toString('utf8')));
    req.once('error', reject);
  });
}

function tooLarge(limit: number): ApiError {
  return new ApiError('PAYLOAD_TOO_LARGE', `The body is larger than ${limit} bytes.`);
}

/** Batch Transform output: one line per row, `label,p(label 1),p(label 2),…` or the regression value. */
function toCsv(predictions: Prediction[]): string {
  let out = '';
  for (const p of predictions) {
    if ('value' in p) out += `${p.value}\n`;
    else {
      out += p.label;
      for (const k in p.probabilities) out += `,${p.probabilities[k]}`;
      out += '\n';
    }
  }
  return out;
}

/** The cluster (`main.ts serve --workers N`) in a child process, for tests, the benchmark and the local runner. */
async function startCluster(opts: StartServerOptions): Promise<RunningServer> {
  if (opts.load) throw new Error('`load` works in-process only; pass `modelDir` with `workers` > 0.');
  // Under tsx this file is TypeScript and the child needs the loader; in the bundle main and server are one file.
  const entry = __filename.endsWith('.ts') ? ['--import', 'tsx', path.join(__dirname, 'main.ts')] : [__filename];
  const args = [...entry, 'serve', '--port', String(opts.port ?? 0), '--workers', String(opts.workers), '--host', opts.host ?? '127.0.0.1'];
  if (opts.modelDir) args.push('--model', opts.modelDir);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (opts.maxBatchSize !== undefined) env[ENV.MAX_BATCH_SIZE] = String(opts.maxBatchSize);
  if (opts.maxBatchDelayUs !== undefined) env[ENV.MAX_BATCH_DELAY_US] = String(opts.maxBatchDelayUs);
  // The IPC channel is a lifeline: the cluster stops when this process goes away, even by SIGKILL.
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  child.channel?.unref();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    readLogLines(child.stdout!, (rec) => {
      if (rec.msg === 'ready' && typeof rec.port === 'number') resolve(rec.port);
    });
    void exited.then((code) => reject(new Error(`The model server exited with code ${code} before it was ready`)));
  });
  const host = opts.host ?? '127.0.0.1';
  return {
    url: `http://${host}:${port}`,
    port,
    pid: child.pid,
    ready: Promise.resolve(),
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`The model server exited with code ${code} on SIGTERM`);
    },
  };
}
