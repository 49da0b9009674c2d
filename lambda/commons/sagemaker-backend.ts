/**
 * The SageMaker backends (real-time and serverless): `InvokeEndpoint` with the same JSON body. The
 * SDK's own retry and timeout settings give the same bounds as the Fargate path.
 */
import { ApiError } from '../../contract/errors';
import { ENV } from '../../contract/env';
import { LIMITS } from '../../contract/limits';
import { DEADLINE_ATTRIBUTE } from '../../contract/prediction';
import { isConnectionError, modelTimeLeft, parseInvocationResponse, passOnClientError, unavailable, type Backend } from './backend';
import { endpointOverride } from './config';

export interface SageMakerBackendOptions {
  endpointName: string;
  attemptTimeoutMs?: number;
  maxAttempts?: number;
}

const NAME = 'SageMaker endpoint';

export function sagemakerBackend(opts: SageMakerBackendOptions): Backend {
  const timeoutMs = opts.attemptTimeoutMs ?? LIMITS.backendAttemptTimeoutMs;
  // Loaded on the first call: a function configured for Fargate never pays for this package.
  const sdk = import('@aws-sdk/client-sagemaker-runtime').then((m) => ({
    m,
    client: new m.SageMakerRuntimeClient({
      endpoint: endpointOverride(ENV.SAGEMAKER_RUNTIME_URL),
      maxAttempts: opts.maxAttempts ?? LIMITS.backendMaxAttempts,
      // Without throwOnRequestTimeout the handler only warns when the request timeout passes.
      requestHandler: { requestTimeout: timeoutMs, connectionTimeout: Math.min(timeoutMs, 3000), throwOnRequestTimeout: true },
    }),
  }));

  return {
    kind: 'sagemaker',
    async invoke(body, expected, deadline) {
      try {
        const { m, client } = await sdk;
        const left = modelTimeLeft(deadline);
        // SageMaker hands CustomAttributes to the container, which stops working past the deadline.
        const CustomAttributes = left === undefined ? undefined : `${DEADLINE_ATTRIBUTE}=${Math.min(timeoutMs, left)}`;
        const out = await client.send(
          new m.InvokeEndpointCommand({ EndpointName: opts.endpointName, Body: Buffer.from(body), ContentType: 'application/json', Accept: 'application/json', CustomAttributes }),
        );
        const text = out.Body === undefined ? '' : Buffer.from(out.Body).toString('utf8');
        return parseInvocationResponse(text, expected, NAME);
      } catch (e) {
        throw toApiError(e, timeoutMs);
      }
    },
  };
}

function toApiError(e: unknown, timeoutMs: number): ApiError {
  if (e instanceof ApiError) return e;
  const err = e as { name?: string; message?: string; OriginalStatusCode?: number; OriginalMessage?: string };
  switch (err.name) {
    case 'ModelError': {
      // The container answered non-2xx; SageMaker wraps it in a 424 with the original status and body.
      const status = err.OriginalStatusCode ?? 0;
      const original = err.OriginalMessage ?? '';
      if (status === 503) return unavailable(status, original, NAME);
      // The container gave up at the deadline it was given.
      if (status === 504) return new ApiError('BACKEND_TIMEOUT', `The model did not answer before the request deadline (${NAME}).`);
      if (status >= 400 && status < 500) return passOnClientError(status, original, NAME);
      return new ApiError('BACKEND_ERROR', `The model answered ${status || 'an error'} through the ${NAME}.`);
    }
    case 'ModelNotReadyException':
      return new ApiError('MODEL_LOADING', `The ${NAME} is still loading the model; retry shortly.`);
    case 'ServiceUnavailable':
    case 'ThrottlingException':
      return new ApiError('BACKEND_UNAVAILABLE', `The ${NAME} is unavailable; retry shortly.`);
    case 'TimeoutError':
      return new ApiError('BACKEND_TIMEOUT', `The ${NAME} did not answer within ${timeoutMs} ms.`);
  }
  if (isConnectionError(e)) return new ApiError('BACKEND_UNAVAILABLE', `The ${NAME} cannot be reached; retry shortly.`);
  return new ApiError('BACKEND_ERROR', `Calling the ${NAME} failed: ${err.name ?? 'error'}: ${err.message ?? ''}`.trim());
}
