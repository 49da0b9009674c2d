/**
 * Sends the golden set's inputs to a model version (over HTTP or InvokeEndpoint) and judges its answers.
 * A model that errors, times out or answers in another shape fails the check: only a version that
 * reproduces the golden set may take traffic.
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { compareGolden, type GoldenVerdict } from '../../contract/golden';
import { LIMITS, SERVICE_LIMITS } from '../../contract/limits';
import type { InvocationResponse, Prediction } from '../../contract/prediction';
import type { GoldenSet } from '../../contract/rollout';

/** Posts one `{"instances": [...]}` body to the model and returns its answer text. */
export type Invoke = (body: string) => Promise<string>;

export interface ReplayResult {
  verdict: GoldenVerdict;
  /** `<name>/<version>` that answered (from the answers' `model`), so the log says what was vetted. */
  model: string;
}

/** Replays the golden set in chunks of at most `maxInstancesPerRequest` rows. */
export async function replayGoldenSet(set: GoldenSet, invoke: Invoke): Promise<ReplayResult> {
  const predictions: Prediction[] = [];
  let model = 'unknown';
  for (let start = 0; start < set.rows.length; start += LIMITS.maxInstancesPerRequest) {
    const chunk = set.rows.slice(start, start + LIMITS.maxInstancesPerRequest);
    const answer = JSON.parse(await invoke(JSON.stringify({ instances: chunk.map((r) => r.input) }))) as Partial<InvocationResponse>;
    if (!Array.isArray(answer.predictions)) throw new Error('The model answered without a "predictions" array.');
    predictions.push(...answer.predictions);
    if (answer.model) model = `${answer.model.name}/${answer.model.version}`;
  }
  return { verdict: compareGolden(set, predictions), model };
}

/** `POST <baseUrl>/invocations` (the model server, or the Fargate load balancer's test listener). `signal` cancels it early. */
export function httpInvoker(baseUrl: string, timeoutMs: number = LIMITS.backendAttemptTimeoutMs, signal?: AbortSignal): Invoke {
  return async (body) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const res = await fetch(`${baseUrl.replace(/\/$/, '')}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body,
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`The model answered HTTP ${res.status}: ${text.slice(0, 300)}`);
    return text;
  };
}

/**
 * The SageMaker runtime client of the check: every request bounded (SageMaker itself gives an invocation
 * 60 s), one retry, so a hung endpoint cannot hold the check past its deadline.
 */
export function checkRuntimeClient(endpoint?: string): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({
    ...(endpoint ? { endpoint } : {}),
    maxAttempts: 2,
    requestHandler: { requestTimeout: SERVICE_LIMITS.sagemakerInvocationTimeoutMs, connectionTimeout: 3000, throwOnRequestTimeout: true },
  });
}

/** InvokeEndpoint on one SageMaker endpoint. `signal` cancels the request (the check's deadline). */
export function sageMakerInvoker(client: SageMakerRuntimeClient, endpointName: string, signal?: AbortSignal): Invoke {
  return async (body) => {
    const out = await client.send(
      new InvokeEndpointCommand({ EndpointName: endpointName, ContentType: 'application/json', Accept: 'application/json', Body: body }),
      signal ? { abortSignal: signal } : {},
    );
    return new TextDecoder().decode(out.Body);
  };
}
