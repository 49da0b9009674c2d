/**
 * API Gateway answers some requests itself (missing key, throttling, oversized body, integration
 * timeout...). These responses give those answers the same `{"error": {"code", "message"}}` body and
 * codes as the handlers, so clients branch on one set of codes.
 */
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { ERROR_STATUS, type ErrorCode } from '../../contract/errors';

export interface GatewayErrorSpec {
  /** The API Gateway response type. */
  readonly type: apigw.ResponseType;
  /** The contract error code of the answer body. */
  readonly code: ErrorCode;
  /** The message of the answer body. */
  readonly message: string;
  /** Keep API Gateway's own status instead of the code's (for the catch-all types). @default false */
  readonly keepStatus?: boolean;
}

export const GATEWAY_ERRORS: readonly GatewayErrorSpec[] = [
  // API Gateway does not tell a missing key from a wrong one: both are INVALID_API_KEY (403).
  {
    type: apigw.ResponseType.INVALID_API_KEY,
    code: 'FORBIDDEN',
    message: 'Missing or invalid API key: send a valid key in the x-api-key header.',
  },
  { type: apigw.ResponseType.ACCESS_DENIED, code: 'FORBIDDEN', message: 'Access denied.' },
  // An unknown path or method reaches API Gateway as a request without a matching (authorised) method.
  {
    type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
    code: 'ROUTE_NOT_FOUND',
    message: 'No such route: see GET /openapi.json for the routes.',
  },
  { type: apigw.ResponseType.RESOURCE_NOT_FOUND, code: 'ROUTE_NOT_FOUND', message: 'No such route: see GET /openapi.json for the routes.' },
  {
    type: apigw.ResponseType.THROTTLED,
    code: 'THROTTLED',
    message: 'Too many requests: the usage plan rate was exceeded; retry with backoff.',
  },
  { type: apigw.ResponseType.QUOTA_EXCEEDED, code: 'THROTTLED', message: 'The daily request quota of this API key is used up.' },
  {
    type: apigw.ResponseType.REQUEST_TOO_LARGE,
    code: 'PAYLOAD_TOO_LARGE',
    message: 'The request body is larger than API Gateway accepts (10 MB).',
  },
  { type: apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported Content-Type.' },
  {
    type: apigw.ResponseType.BAD_REQUEST_PARAMETERS,
    code: 'INVALID_QUERY',
    message: 'A required request parameter is missing or invalid.',
  },
  { type: apigw.ResponseType.BAD_REQUEST_BODY, code: 'INVALID_BODY', message: 'The request body is invalid.' },
  {
    type: apigw.ResponseType.INTEGRATION_TIMEOUT,
    code: 'BACKEND_TIMEOUT',
    message: 'The request took longer than API Gateway waits (29 s).',
  },
  { type: apigw.ResponseType.INTEGRATION_FAILURE, code: 'BACKEND_ERROR', message: 'The handler could not be reached.' },
  { type: apigw.ResponseType.DEFAULT_4XX, code: 'FORBIDDEN', message: 'The request was refused.', keepStatus: true },
  { type: apigw.ResponseType.DEFAULT_5XX, code: 'INTERNAL', message: 'Internal error.', keepStatus: true },
];

/** API Gateway's answers for a JWT authorizer's refusals and failures (401 for a missing or invalid token). */
export const JWT_GATEWAY_ERRORS: readonly GatewayErrorSpec[] = [
  {
    type: apigw.ResponseType.UNAUTHORIZED,
    code: 'UNAUTHORIZED',
    message: 'Missing or invalid bearer token: send Authorization: Bearer <JWT> from the configured issuer.',
  },
  {
    type: apigw.ResponseType.AUTHORIZER_FAILURE,
    code: 'INTERNAL',
    message: 'The authorizer could not check the token; retry.',
    keepStatus: true,
  },
  {
    type: apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR,
    code: 'INTERNAL',
    message: 'The authorizer could not check the token; retry.',
    keepStatus: true,
  },
];

/** API Gateway's answers for a bad or expired SigV4 signature (IAM routes; a denied one is ACCESS_DENIED). */
export const IAM_GATEWAY_ERRORS: readonly GatewayErrorSpec[] = [
  {
    type: apigw.ResponseType.INVALID_SIGNATURE,
    code: 'FORBIDDEN',
    message: 'The request signature (SigV4) does not match: sign the request for execute-api in the API region.',
  },
  { type: apigw.ResponseType.EXPIRED_TOKEN, code: 'FORBIDDEN', message: 'The credentials that signed the request have expired.' },
];

/** API Gateway's answer for a request the web ACL's managed rules blocked (the rate rule answers 429 itself). */
export const WAF_GATEWAY_ERRORS: readonly GatewayErrorSpec[] = [
  { type: apigw.ResponseType.WAF_FILTERED, code: 'FORBIDDEN', message: "The request was blocked by the API's web ACL." },
];

/**
 * With IAM on some routes, API Gateway answers an unsigned request to them as it answers an unknown route
 * (MISSING_AUTHENTICATION_TOKEN): the answer then names both causes, with IAM's 403.
 */
export const UNSIGNED_OR_NO_ROUTE: GatewayErrorSpec = {
  type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
  code: 'FORBIDDEN',
  message: 'No such route, or the route needs a SigV4-signed request (docs/auth.md): see GET /openapi.json for the routes.',
};

/** What an API uses besides API keys: each brings the answers API Gateway gives for it. */
export interface GatewayErrorOptions {
  readonly iam?: boolean;
  readonly jwt?: boolean;
  readonly waf?: boolean;
}

/** The gateway errors of an API: the common ones, and those of IAM, a JWT authorizer and a web ACL where used. */
export function gatewayErrorsOf(opts: GatewayErrorOptions = {}): readonly GatewayErrorSpec[] {
  const common = opts.iam ? GATEWAY_ERRORS.map((s) => (s.type === UNSIGNED_OR_NO_ROUTE.type ? UNSIGNED_OR_NO_ROUTE : s)) : GATEWAY_ERRORS;
  return [
    ...common,
    ...(opts.iam ? IAM_GATEWAY_ERRORS : []),
    ...(opts.jwt ? JWT_GATEWAY_ERRORS : []),
    ...(opts.waf ? WAF_GATEWAY_ERRORS : []),
  ];
}

export function addGatewayResponses(api: apigw.RestApi, opts: GatewayErrorOptions = {}): void {
  for (const spec of gatewayErrorsOf(opts)) {
    api.addGatewayResponse(`Error${spec.type.responseType}`, {
      type: spec.type,
      statusCode: spec.keepStatus ? undefined : String(ERROR_STATUS[spec.code]),
      responseHeaders: { 'Content-Type': "'application/json'" },
      templates: { 'application/json': JSON.stringify({ error: { code: spec.code, message: spec.message } }) },
    });
  }
}
