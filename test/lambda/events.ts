/** Builds API Gateway REST proxy events the way API Gateway sends them to the handlers. */

import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';

export interface EventSpec {
  method: 'GET' | 'POST' | 'PUT';
  /** The resource path with `{param}` placeholders, as API Gateway names it. */
  resource: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
  apiKeyId?: string;
}

export function proxyEvent(spec: EventSpec): APIGatewayProxyEvent {
  const path = spec.resource.replace(/\{(\w+)\}/g, (_m, p: string) => encodeURIComponent(spec.pathParameters?.[p] ?? ''));
  const binary = Buffer.isBuffer(spec.body);
  const headers = { 'x-api-key': 'secret-key-value', ...(spec.headers ?? {}) };
  return {
    resource: spec.resource,
    path,
    httpMethod: spec.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: spec.query ?? null,
    multiValueQueryStringParameters: spec.query ? Object.fromEntries(Object.entries(spec.query).map(([k, v]) => [k, [v]])) : null,
    pathParameters: spec.pathParameters ?? null,
    stageVariables: null,
    body: spec.body === undefined ? null : binary ? (spec.body as Buffer).toString('base64') : (spec.body as string),
    isBase64Encoded: binary,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: spec.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: 'secret-key-value',
        apiKeyId: spec.apiKeyId ?? 'key-1',
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '127.0.0.1',
        user: null,
        userAgent: 'jest',
        userArn: null,
      },
      path: `/test${path}`,
      stage: 'test',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'r1',
      resourcePath: spec.resource,
    },
  };
}

export function jsonBody<T = Record<string, unknown>>(res: { body: string }): T {
  return JSON.parse(res.body) as T;
}
