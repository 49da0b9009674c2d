/**
 * The local API gateway: node:http in front of the Lambda handlers, in-process. It behaves like the
 * deployed REST API — same route table, API-key check, payload limit and error shapes. The dashboard comes through the
 * same routes as in AWS (`GET /`, `GET /dashboard/{file}`, served by the meta function).
 */

import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { answerParserErrors, drainUnreadBody } from '../container/src/early-answer';
import { ApiError, errorStack } from '../contract/errors';
import { SERVICE_LIMITS } from '../contract/limits';
import { API_KEY_HEADER, type HandlerName, matchRoute, type RouteSpec } from '../contract/routes';
import type { RequestAuthorizer } from './auth/gateway-auth';
import { lambdaContext, toProxyEvent } from './proxy-event';
import { decodeContent, unsupportedTransferCoding } from './request-codings';

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface AccessLogEntry {
  method: string;
  path: string;
  status: number;
  ms: number;
  requestId: string;
}

export interface GatewayOptions {
  /** The API's Lambda handlers, by the name the route table uses. */
  handlers: Record<HandlerName, ProxyHandler>;
  apiKey: string;
  /** The key's id, as API Gateway passes it to the integration (`identity.apiKeyId`). */
  apiKeyId: string;
  /** More accepted keys (e.g. the client key beside the operator key), each passed on with its own id. */
  extraApiKeys?: readonly { value: string; id: string }[];
  stage: string;
  /** Integration timeout (API Gateway's 29 s by default). */
  timeoutMs?: number;
  /** Largest accepted request body (API Gateway's 10 MB by default). */
  maxBodyBytes?: number;
  /** IAM or JWT on the routes, as the deployed API has them (local/auth/gateway-auth.ts). @default - the key alone */
  authorize?: RequestAuthorizer;
  onRequest?: (entry: AccessLogEntry) => void;
  /** Called with every answer as sent (tests check them against the OpenAPI document). */
  onResponse?: (request: { method: string; path: string }, result: APIGatewayProxyResult) => void;
}

/** Id of a local API key: stable for a key, never the key itself. */
export function apiKeyIdOf(apiKey: string): string {
  return `local-${createHash('sha256').update(apiKey).digest('hex').slice(0, 12)}`;
}

export function createGateway(opts: GatewayOptions): Server {
  const timeoutMs = opts.timeoutMs ?? SERVICE_LIMITS.apiGatewayIntegrationTimeoutMs;
  const maxBodyBytes = opts.maxBodyBytes ?? SERVICE_LIMITS.apiGatewayPayloadBytes;
  const keys = [{ value: opts.apiKey, id: opts.apiKeyId }, ...(opts.extraApiKeys ?? [])].map((k) => ({
    ...k,
    digest: createHash('sha256').update(k.value).digest(),
  }));

  /** The key sent, when it is one of the API's keys (compared in constant time, every key each time). */
  const keyOf = (sent: string | string[] | undefined): { value: string; id: string } | undefined => {
    if (typeof sent !== 'string') return undefined;
    const digest = createHash('sha256').update(sent).digest();
    let found: { value: string; id: string } | undefined;
    for (const k of keys) if (timingSafeEqual(digest, k.digest)) found = k;
    return found;
  };

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const started = performance.now();
    // Node keeps the first maxHeadersCount headers and drops the rest: one more tells a request that had too many.
    if (req.rawHeaders.length / 2 > MAX_HEADERS) {
      drain(req, res);
      return sendError(res, new ApiError('HEADERS_TOO_LARGE', `The request has more than ${MAX_HEADERS} headers.`));
    }
    const requestId = randomUUID();
    res.setHeader('x-amzn-requestid', requestId);
    if (opts.onRequest) {
      res.once('finish', () =>
        opts.onRequest?.({
          method: req.method ?? '',
          path: req.url ?? '',
          status: res.statusCode,
          ms: performance.now() - started,
          requestId,
        }),
      );
    }
    const observe = opts.onResponse;
    if (observe) responseObservers.set(res, (result) => observe({ method: req.method ?? '', path: req.url ?? '' }, result));
    handle(req, res, requestId).catch((e: unknown) => {
      // Only a bug in the gateway itself lands here: answer like API Gateway's 5xx, keep serving.
      process.stderr.write(`gateway: ${requestId}: ${errorStack(e)}\n`);
      if (!res.headersSent) sendError(res, new ApiError('INTERNAL', `Internal error (request ${requestId}).`));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const query = q === -1 ? '' : rawUrl.slice(q + 1);

    // A transfer coding is the connection's, refused before anything else is read (as a front end would).
    const refused = unsupportedTransferCoding(req.headers['transfer-encoding']);
    if (refused !== undefined) {
      drain(req, res);
      return sendError(res, refused);
    }

    const match = matchRoute(method, path);
    if (match === undefined || 'methodNotAllowed' in match) {
      drain(req, res);
      if (match === undefined) return sendError(res, new ApiError('ROUTE_NOT_FOUND', `No route for ${method} ${path}.`));
      return sendError(res, new ApiError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}.`));
    }

    const { route, pathParameters } = match;
    const key = route.apiKey ? keyOf(req.headers[API_KEY_HEADER]) : undefined;
    // API Gateway checks a route's authorizer or IAM before its key, and the key before it reads the body;
    // a signature covers the body as sent, so an IAM route's checks wait for it.
    const auth = route.apiKey ? opts.authorize : undefined;
    const mode = auth?.modeOf(route);
    if (auth !== undefined && mode === 'jwt') {
      const refusedToken = await auth.checkToken(req.rawHeaders);
      if (refusedToken !== undefined) {
        drain(req, res);
        return sendError(res, refusedToken);
      }
    }
    if (route.apiKey && key === undefined && mode !== 'iam') {
      drain(req, res);
      return sendError(res, missingKey());
    }

    if (awaitingContinue.has(req) && !tooLarge(req, maxBodyBytes)) res.writeContinue();
    const raw = await readBody(req, maxBodyBytes);
    // A client gone mid-body has no one to answer.
    if (raw === 'aborted') return;
    if (raw === 'too-large') {
      drain(req, res);
      return sendError(res, new ApiError('PAYLOAD_TOO_LARGE', `The request body is larger than ${maxBodyBytes} bytes.`));
    }
    if (auth !== undefined && mode === 'iam') {
      const refusedSignature = await auth.checkSignature({ method, url: rawUrl, rawHeaders: req.rawHeaders, body: raw });
      if (refusedSignature !== undefined) return sendError(res, refusedSignature);
      if (key === undefined) return sendError(res, missingKey());
    }
    let body: Buffer;
    try {
      body = await decodeContent(raw, req.headers['content-encoding'], maxBodyBytes);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      return sendError(res, e);
    }

    const event = toProxyEvent(
      { method, path, query, rawHeaders: req.rawHeaders, body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' },
      { route, pathParameters, requestId, stage: opts.stage, apiKey: key },
    );
    const result = await invoke(route, event, requestId);
    sendResult(res, result);
  }

  async function invoke(route: RouteSpec, event: APIGatewayProxyEvent, requestId: string): Promise<APIGatewayProxyResult> {
    const handler = opts.handlers[route.handler];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((done) => {
      timer = setTimeout(() => done('timeout'), timeoutMs);
    });
    try {
      const result = await Promise.race([handler(event, lambdaContext(`mlship-local-${route.handler}`, requestId, timeoutMs)), timeout]);
      if (result === 'timeout') {
        return errorResult(new ApiError('BACKEND_TIMEOUT', `The ${route.handler} function did not answer within ${timeoutMs} ms.`));
      }
      if (typeof result?.statusCode !== 'number' || (result.body !== undefined && typeof result.body !== 'string')) {
        process.stderr.write(`gateway: ${requestId}: ${route.handler} returned a malformed proxy response\n`);
        return errorResult(new ApiError('INTERNAL', `Internal error (request ${requestId}).`));
      }
      return result;
    } catch (e) {
      // A handler that throws is a 5xx in API Gateway too; the stack goes to the log, not the caller.
      process.stderr.write(`gateway: ${requestId}: ${route.handler} threw: ${errorStack(e)}\n`);
      return errorResult(new ApiError('INTERNAL', `Internal error (request ${requestId}).`));
    } finally {
      clearTimeout(timer);
    }
  }

  server.maxHeadersCount = MAX_HEADERS + 1;
  // `Expect: 100-continue`: the checks that need no body (route, token, key, declared size; an IAM
  // route's key after its signature) answer first, so an oversized body is refused before the client sends it; `100 Continue` goes only before it is read.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.add(req);
    server.emit('request', req, res);
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    drain(req, res);
    sendError(
      res,
      new ApiError(
        'EXPECTATION_FAILED',
        `Expect ${String(req.headers.expect).slice(0, 40)} is not supported: only 100-continue is.`,
        'expect',
      ),
    );
  });
  answerParserErrors(server);
  return server;
}

/** Most headers one request may have (Node's own default count; API Gateway caps their total size). */
const MAX_HEADERS = 2000;

/** Requests whose client waits for `100 Continue` before it sends the body. */
const awaitingContinue = new WeakSet<IncomingMessage>();

/** Whether the declared body is over `limit`. */
function tooLarge(req: IncomingMessage, limit: number): boolean {
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > limit;
}

/** Reads the whole body, or stops at `limit` bytes; 'aborted' when the client goes away before its end. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  if (tooLarge(req, limit)) return Promise.resolve('too-large');
  return new Promise((done) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        req.removeAllListeners('data');
        done('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) return;
      const [first] = chunks;
      done(chunks.length === 1 && first !== undefined ? first : Buffer.concat(chunks, size));
    });
    req.on('error', () => done('aborted'));
    req.on('close', () => {
      if (!req.complete) done('aborted');
    });
  });
}

/**
 * Discards a body we will not read (for a bounded time and size), so the answer reaches the caller
 * rather than a reset, and the connection stays usable. A client waiting for `100 Continue` has not sent
 * its body and will not: its connection closes after the answer instead.
 */
function drain(req: IncomingMessage, res: ServerResponse): void {
  if (awaitingContinue.has(req)) res.shouldKeepAlive = false;
  else drainUnreadBody(req);
}

function missingKey(): ApiError {
  return new ApiError('FORBIDDEN', `Missing or invalid API key: send it in the ${API_KEY_HEADER} header.`, API_KEY_HEADER);
}

function errorResult(err: ApiError): APIGatewayProxyResult {
  return { statusCode: err.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(err.toBody()) };
}

function sendError(res: ServerResponse, err: ApiError): void {
  sendResult(res, errorResult(err));
}

/** Per response, the `onResponse` hook of its gateway. */
const responseObservers = new WeakMap<ServerResponse, (result: APIGatewayProxyResult) => void>();

function sendResult(res: ServerResponse, result: APIGatewayProxyResult): void {
  responseObservers.get(res)?.(result);
  const body =
    result.body === undefined || result.body === ''
      ? Buffer.alloc(0)
      : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, String(value));
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) res.setHeader(name, values.map(String));
  res.setHeader('content-length', body.length);
  res.statusCode = result.statusCode;
  res.end(body);
}
