/**
 * The SageMaker path's time bounds and retries, through the real SDK client and the local InvokeEndpoint
 * stand-in, against containers that are slow, cold or briefly overloaded. Times are scaled down through
 * the backend's options; the defaults are checked against API Gateway's 29 s separately.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { LIMITS, SERVICE_LIMITS } from '../../contract/limits';
import { sagemakerBackend } from '../../lambda/model/sagemaker-backend';
import { closeServer, listen } from '../../local/listen';
import { type RunningSageMakerRuntime, startSageMakerRuntime } from '../../local/sagemaker-runtime';
import { defined } from '../support/defined';

const ANSWER = JSON.stringify({
  predictions: [{ label: 'benign', probabilities: { benign: 1, malignant: 0 } }],
  model: { name: 'm', version: '1' },
});
const BODY = JSON.stringify({ instances: [[1, 2, 3]] });

/** A container whose `/invocations` takes `delays[n]` ms to answer the n-th call (503 where `statuses[n]` says). */
async function container(delays: number[], statuses: number[] = []) {
  let calls = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = calls++;
    req.resume();
    setTimeout(() => {
      const status = statuses[n] ?? 200;
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(status === 200 ? ANSWER : '{"error":{"code":"BACKEND_UNAVAILABLE","message":"busy"}}');
    }, delays[n] ?? 0);
  });
  const port = await listen(server, 0, 'test container');
  return { url: `http://127.0.0.1:${port}`, calls: () => calls, close: () => closeServer(server) };
}

const saved = { ...process.env };
let runtime: RunningSageMakerRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
  process.env = { ...saved };
});

/** The endpoint `ep` on a fresh runtime stand-in in front of `url`: its name and the runtime's address. */
async function endpointFor(url: string): Promise<{ endpointName: string; runtimeUrl: string }> {
  runtime = await startSageMakerRuntime({ endpoints: { ep: url } });
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  return { endpointName: 'ep', runtimeUrl: runtime.url };
}

describe('SageMaker backend timing', () => {
  it('never runs a slow prediction twice: one attempt, then 504', async () => {
    // GIVEN a real-time endpoint whose model takes longer than an attempt may
    const c = await container([1500, 1500]);
    try {
      const b = sagemakerBackend({ ...(await endpointFor(c.url)), attemptTimeoutMs: 300, budgetMs: 2000, maxAttempts: 2 });
      // WHEN it is called THEN it gives up after one attempt, and the container saw one request
      await expect(b.invoke(BODY, 1)).rejects.toMatchObject({ code: 'BACKEND_TIMEOUT', status: 504 });
      expect(c.calls()).toBe(1);
      expect(defined(runtime, 'the SageMaker runtime').invocations.ep).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('waits out a serverless cold start longer than a warm attempt, within the budget', async () => {
    // GIVEN a cold serverless endpoint: the first answer takes longer than a real-time attempt is allowed
    const c = await container([800]);
    try {
      const b = sagemakerBackend({ ...(await endpointFor(c.url)), serverless: true, budgetMs: 2000 });
      // THEN the one attempt may use the whole budget, and the prediction comes back
      await expect(b.invoke(BODY, 1)).resolves.toMatchObject({ model: { name: 'm', version: '1' } });
      expect(c.calls()).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('retries only what surely did not run: a container 503, then answers', async () => {
    const c = await container([0, 0], [503, 200]);
    try {
      const b = sagemakerBackend({ ...(await endpointFor(c.url)), attemptTimeoutMs: 1000, budgetMs: 3000, maxAttempts: 2 });
      await expect(b.invoke(BODY, 1)).resolves.toMatchObject({ predictions: [expect.objectContaining({ label: 'benign' })] });
      expect(c.calls()).toBe(2);
    } finally {
      await c.close();
    }
  });

  it('keeps every default inside API Gateway: warm attempts and the serverless attempt fit the budget, and the budget leaves room for the log write', () => {
    expect(LIMITS.backendMaxAttempts * LIMITS.backendAttemptTimeoutMs).toBeLessThanOrEqual(LIMITS.backendBudgetMs);
    expect(LIMITS.backendBudgetMs + 3_000).toBeLessThanOrEqual(SERVICE_LIMITS.apiGatewayIntegrationTimeoutMs);
  });
});
