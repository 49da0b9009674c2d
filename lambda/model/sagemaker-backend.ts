/**
 * The SageMaker backends (real-time and serverless): `InvokeEndpoint` with the same JSON body, bounded
 * like the Fargate path. The SDK's own retries are off: it would send again a request whose answer was
 * merely slow, running the prediction twice. Attempts are ours, and only failures where the model surely
 * did not run (throttled, not ready, container 503, connection refused) are tried again. Every attempt
 * ends inside one budget that fits API Gateway's 29 s; a serverless endpoint's first attempt may use all
 * of it, because a cold start (container start, model download and load) can take longer than a warm
 * attempt's bound.
 */

import { ApiError } from '../../contract/errors';
import { LIMITS } from '../../contract/limits';
import { DEADLINE_ATTRIBUTE } from '../../contract/prediction';
import { MODEL_VERSION_ATTRIBUTE, SHADOW_VERSION_ATTRIBUTE } from '../../contract/versions';
import { type Backend, isConnectionError, modelAnswerError, modelTimeLeft, parseInvocationResponse } from './backend';

export interface SageMakerBackendOptions {
  endpointName: string;
  /** The SageMaker runtime's address. @default - the region's (a local stand-in's in tests) */
  runtimeUrl?: string;
  /** A serverless endpoint: one attempt may take the whole budget (cold starts). @default false */
  serverless?: boolean;
  /** Longest single attempt. @default the whole budget for serverless, LIMITS.backendAttemptTimeoutMs otherwise */
  attemptTimeoutMs?: number;
  /** Every attempt and backoff together. @default LIMITS.backendBudgetMs */
  budgetMs?: number;
  /** @default LIMITS.backendMaxAttempts */
  maxAttempts?: number;
}

const NAME = 'SageMaker endpoint';
/** Not worth starting an attempt with less time than this left. */
const MIN_ATTEMPT_MS = 250;
const BACKOFF_MS = 100;

/** SageMaker refused the call before the model ran: another attempt cannot run the prediction twice. */
function notRun(e: unknown): boolean {
  const err = e as { name?: string; OriginalStatusCode?: number };
  if (err.name === 'ThrottlingException' || err.name === 'ServiceUnavailable' || err.name === 'ModelNotReadyException') return true;
  if (err.name === 'ModelError' && err.OriginalStatusCode === 503) return true;
  return isConnectionError(e);
}

export function sagemakerBackend(opts: SageMakerBackendOptions): Backend {
  const budgetMs = opts.budgetMs ?? LIMITS.backendBudgetMs;
  const attemptMs = Math.min(opts.attemptTimeoutMs ?? (opts.serverless ? budgetMs : LIMITS.backendAttemptTimeoutMs), budgetMs);
  const maxAttempts = opts.maxAttempts ?? LIMITS.backendMaxAttempts;
  // Loaded on the first call: a function configured for Fargate never pays for this package.
  const sdk = import('@aws-sdk/client-sagemaker-runtime').then((m) => ({
    m,
    client: new m.SageMakerRuntimeClient({
      endpoint: opts.runtimeUrl,
      maxAttempts: 1,
      // A backstop: each attempt is cut by its own abort signal first.
      requestHandler: { requestTimeout: budgetMs, connectionTimeout: Math.min(attemptMs, 3000), throwOnRequestTimeout: true },
    }),
  }));

  return {
    kind: 'sagemaker',
    async invoke(body, expected, callerDeadline, version, shadow) {
      const { m, client } = await sdk;
      const deadline = Date.now() + budgetMs;
      let last: unknown;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const left = deadline - Date.now();
        if (left < MIN_ATTEMPT_MS) break;
        const timeoutMs = Math.min(attemptMs, left);
        // SageMaker hands CustomAttributes to the container, which stops working past the caller's deadline.
        const callerLeft = modelTimeLeft(callerDeadline);
        // The model version and the shadow version travel the same way (the container routes on them; docs/versions.md).
        const attributes = [
          ...(callerLeft === undefined ? [] : [`${DEADLINE_ATTRIBUTE}=${Math.min(timeoutMs, callerLeft)}`]),
          ...(version === undefined ? [] : [`${MODEL_VERSION_ATTRIBUTE}=${version}`]),
          ...(shadow === undefined ? [] : [`${SHADOW_VERSION_ATTRIBUTE}=${shadow}`]),
        ];
        const CustomAttributes = attributes.length === 0 ? undefined : attributes.join(';');
        try {
          const out = await client.send(
            new m.InvokeEndpointCommand({
              EndpointName: opts.endpointName,
              Body: Buffer.from(body),
              ContentType: 'application/json',
              Accept: 'application/json',
              CustomAttributes,
            }),
            { abortSignal: AbortSignal.timeout(timeoutMs) },
          );
          const text = out.Body === undefined ? '' : Buffer.from(out.Body).toString('utf8');
          return parseInvocationResponse(text, expected, NAME, shadow);
        } catch (e) {
          if (e instanceof ApiError) throw e;
          if (isTimeout(e)) throw new ApiError('BACKEND_TIMEOUT', `The ${NAME} did not answer within ${timeoutMs} ms.`);
          if (!notRun(e)) throw toApiError(e);
          last = e;
          await new Promise((r) => setTimeout(r, Math.min(BACKOFF_MS * attempt, Math.max(0, deadline - Date.now() - MIN_ATTEMPT_MS))));
        }
      }
      throw last === undefined ? new ApiError('BACKEND_TIMEOUT', `The ${NAME} did not answer within ${budgetMs} ms.`) : toApiError(last);
    },
  };
}

function isTimeout(e: unknown): boolean {
  const name = (e as { name?: string }).name;
  return name === 'AbortError' || name === 'TimeoutError';
}

function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const err = e as { name?: string; message?: string; OriginalStatusCode?: number; OriginalMessage?: string };
  switch (err.name) {
    case 'ModelError':
      // The container answered non-2xx; SageMaker wraps it in a 424 with the original status and body.
      return modelAnswerError(err.OriginalStatusCode ?? 0, err.OriginalMessage ?? '', NAME);
    case 'ModelNotReadyException':
      return new ApiError('MODEL_LOADING', `The ${NAME} is still loading the model; retry shortly.`);
    case 'ServiceUnavailable':
    case 'ThrottlingException':
      return new ApiError('BACKEND_UNAVAILABLE', `The ${NAME} is unavailable; retry shortly.`);
  }
  if (isConnectionError(e)) return new ApiError('BACKEND_UNAVAILABLE', `The ${NAME} cannot be reached; retry shortly.`);
  return new ApiError('BACKEND_ERROR', `Calling the ${NAME} failed: ${err.name ?? 'error'}: ${err.message ?? ''}`.trim());
}
