/**
 * Builds the API Gateway REST proxy event (and the Lambda context) for one HTTP request, the way API
 * Gateway fills them in for a `LAMBDA_PROXY` integration, so the handlers run unchanged.
 */
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { RouteSpec } from '../contract/routes';

export interface IncomingRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query string without the leading `?` ('' when none). */
  query: string;
  /** Node's raw header list: name, value, name, value… with the caller's spelling. */
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
}

export interface EventContext {
  route: RouteSpec;
  pathParameters: Record<string, string>;
  requestId: string;
  stage: string;
  /** Key id and value when the caller sent the right key (API Gateway reports both to the integration). */
  apiKey?: { id: string; value: string };
  now?: Date;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function toProxyEvent(req: IncomingRequest, ctx: EventContext): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  // Node's rawHeaders: name, value, name, value, …
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    if (name === undefined || value === undefined) break;
    // API Gateway keeps the last value in `headers` and every value in `multiValueHeaders`.
    headers[name] = value;
    appendValue(multiValueHeaders, name, value);
  }
  // API Gateway tells the function the scheme the client used (https there, http here).
  if (headerValue(headers, 'x-forwarded-proto') === undefined) {
    headers['X-Forwarded-Proto'] = 'http';
    multiValueHeaders['X-Forwarded-Proto'] = ['http'];
  }
  const { single: queryStringParameters, multi: multiValueQueryStringParameters } = parseQuery(req.query);
  const { body, isBase64Encoded } = encodeBody(req.body);
  const now = ctx.now ?? new Date();
  const userAgent = headerValue(headers, 'user-agent') ?? null;
  return {
    resource: ctx.route.path,
    path: req.path,
    httpMethod: req.method,
    headers,
    multiValueHeaders,
    queryStringParameters,
    multiValueQueryStringParameters,
    pathParameters: Object.keys(ctx.pathParameters).length > 0 ? ctx.pathParameters : null,
    stageVariables: null,
    body,
    isBase64Encoded,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: req.method,
      // The path as the client sent it: in AWS it starts with the stage because the URL does; local URLs have none.
      path: req.path,
      stage: ctx.stage,
      requestId: ctx.requestId,
      requestTimeEpoch: now.getTime(),
      resourceId: ctx.route.id,
      resourcePath: ctx.route.path,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: ctx.apiKey?.value ?? null,
        apiKeyId: ctx.apiKey?.id ?? null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.sourceIp,
        user: null,
        userAgent,
        userArn: null,
      },
    },
  };
}

/** Case-insensitive header lookup (HTTP names are case-insensitive; the event keeps the caller's case). */
export function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const k of Object.keys(headers)) if (k.toLowerCase() === want) return headers[k];
  return undefined;
}

function appendValue(multi: Record<string, string[]>, key: string, value: string): void {
  const values = multi[key];
  if (values === undefined) multi[key] = [value];
  else values.push(value);
}

function parseQuery(query: string): { single: Record<string, string> | null; multi: Record<string, string[]> | null } {
  if (query === '') return { single: null, multi: null };
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    single[k] = v;
    appendValue(multi, k, v);
  }
  return Object.keys(single).length > 0 ? { single, multi } : { single: null, multi: null };
}

/** Text bodies pass as strings; bytes that are not valid UTF-8 (images, archives) pass base64-encoded. */
function encodeBody(body: Buffer): { body: string | null; isBase64Encoded: boolean } {
  if (body.length === 0) return { body: null, isBase64Encoded: false };
  try {
    return { body: utf8.decode(body), isBase64Encoded: false };
  } catch {
    return { body: body.toString('base64'), isBase64Encoded: true };
  }
}

/** A Lambda context for an in-process invocation with the function's timeout. */
export function lambdaContext(functionName: string, requestId: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
