/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Deadline propagation: the predict handler tells the model server how long its caller will still wait
 * (API Gateway's 29 s from the request's arrival, or the function's remaining time, less the time kept
 * for logging) — as a header on the Fargate path and as SageMaker custom attributes — and the model
 * server abandons work past it. A recording hop in front of the real model server shows what arrives.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type RunningServer, startServer } from '../../container/src/server';
import { ApiError } from '../../contract/errors';
import { DEADLINE_HEADER } from '../../contract/prediction';
import { requestDeadline } from '../../lambda/http/api-handler';
import { LOG_RESERVE_MS } from '../../lambda/model/backend';
import { fargateBackend } from '../../lambda/model/fargate-backend';
import { sagemakerBackend } from '../../lambda/model/sagemaker-backend';
import { type RunningSageMakerRuntime, startSageMakerRuntime } from '../../local/sagemaker-runtime';
import { largePng } from '../support/image-attacks';
import { proxyEvent } from './events';

const DIGITS = resolve(__dirname, '../../models/digits');
let model: RunningServer;
let hop: http.Server;
let hopUrl: string;
let runtime: RunningSageMakerRuntime;
const seen: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  model = await startServer({ modelDir: DIGITS });
  // Records each request's headers, then passes it to the model server unchanged.
  hop = http.createServer((req, res) => {
    seen.push(req.headers);
    const out = http.request(`${model.url}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(out);
  });
  await new Promise<void>((r) => hop.listen(0, '127.0.0.1', r));
  hopUrl = `http://127.0.0.1:${(hop.address() as AddressInfo).port}`;
  runtime = await startSageMakerRuntime({ endpoints: { digits: hopUrl } });
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
});
afterAll(async () => {
  await runtime.close();
  await new Promise((r) => hop.close(r));
  await model.close();
});
beforeEach(() => (seen.length = 0));

const pixels = { instances: [Array(64).fill(0)] };
const images = JSON.stringify({ instances: Array(4).fill(largePng(1024).toString('base64')) });

describe('the request deadline', () => {
  it('is the earlier of API Gateway 29 s from arrival and the function timeout', () => {
    const now = 1_000_000;
    const event = proxyEvent({ method: 'POST', resource: '/predict' });
    event.requestContext.requestTimeEpoch = now - 4000;
    expect(requestDeadline(event, { getRemainingTimeInMillis: () => 60_000 }, now)).toBe(now + 25_000);
    expect(requestDeadline(event, { getRemainingTimeInMillis: () => 3000 }, now)).toBe(now + 3000);
  });

  it.each(['fargate', 'sagemaker'])('reaches the model server through the %s backend', async (kind) => {
    const backend =
      kind === 'fargate' ? fargateBackend({ url: hopUrl }) : sagemakerBackend({ endpointName: 'digits', runtimeUrl: runtime.url });
    const deadline = Date.now() + 5000;
    const answer = await backend.invoke(JSON.stringify(pixels), 1, deadline);
    expect(answer.predictions).toHaveLength(1);
    const sent =
      kind === 'fargate'
        ? seen[0][DEADLINE_HEADER]
        : /mlship-deadline-ms=(\d+)/.exec(String(seen[0]['x-amzn-sagemaker-custom-attributes']))?.[1];
    expect(Number(sent)).toBeGreaterThan(0);
    expect(Number(sent)).toBeLessThanOrEqual(5000 - LOG_RESERVE_MS);
  });

  it.each(['fargate', 'sagemaker'])('makes the model server abandon work the caller will not wait for (%s)', async (kind) => {
    const backend =
      kind === 'fargate' ? fargateBackend({ url: hopUrl }) : sagemakerBackend({ endpointName: 'digits', runtimeUrl: runtime.url });
    // Already past: the model server gets 1 ms and answers 504 instead of decoding four 1024x1024 images.
    const err = await backend.invoke(images, 4, Date.now() - 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('BACKEND_TIMEOUT');
  });
});
