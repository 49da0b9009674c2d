/**
 * Both backends' failure mapping against real servers: the SageMaker path through the local
 * InvokeEndpoint stand-in, a model server that serves another model (its 4xx passed on), a server that
 * stalls (504) and one that is overloaded (503, retried). A shadow version's outcome beside the answer:
 * named to the container through either backend, and a malformed one (which the model server never
 * answers: a stand-in does) becomes that shadow's error, never a failed request.
 */

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { type RunningServer, startServer } from '../../container/src/server';
import { type PredictResponse, SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER } from '../../contract/prediction';
import { SHADOW_VERSION_REQUEST_HEADER } from '../../contract/versions';
import { fargateBackend } from '../../lambda/model/fargate-backend';
import { sagemakerBackend } from '../../lambda/model/sagemaker-backend';
import { closeServer, listen } from '../../local/listen';
import { type RunningSageMakerRuntime, startSageMakerRuntime } from '../../local/sagemaker-runtime';
import { jsonBody, proxyEvent } from './events';
import { type Harness, loadHandler, MODEL_DIR, predictEnv, startHarness } from './harness';

const rows = (JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] }).rows;
const DIGITS_DIR = resolve(__dirname, '../../models/digits');

let h: Harness;
let runtime: RunningSageMakerRuntime;
let digits: RunningServer;

beforeAll(async () => {
  h = await startHarness();
  digits = await startServer({ modelDir: DIGITS_DIR, workers: 1, port: 0 });
  runtime = await startSageMakerRuntime({
    endpoints: { 'bc-endpoint': h.model.url, 'digits-endpoint': digits.url, 'down-endpoint': 'http://127.0.0.1:1' },
  });
});
afterAll(async () => {
  await runtime.close();
  await digits.close();
  await h.close();
});

const body = (instances: unknown[]) => JSON.stringify({ instances });
const event = (instances: unknown[]) =>
  proxyEvent({ method: 'POST', resource: '/predict', headers: { 'content-type': 'application/json' }, body: body(instances) });

describe('sagemaker backend', () => {
  it('predicts through InvokeEndpoint and logs like the fargate path', async () => {
    const predict = loadHandler('predict', predictEnv(h, { sagemakerEndpoint: 'bc-endpoint', runtimeUrl: runtime.url }));
    const before = runtime.invocations['bc-endpoint'] ?? 0;
    const res = await predict(event([rows[0].input, rows[1].input]));
    expect(res.statusCode).toBe(200);
    const out = jsonBody<PredictResponse>(res);
    expect(out.predictions.map((p) => ('label' in p ? p.label : ''))).toEqual([rows[0].label, rows[1].label]);
    expect(runtime.invocations['bc-endpoint']).toBe(before + 1);
  });

  it("passes the container's 4xx on with its code (ModelError 424 unwrapped)", async () => {
    // The endpoint serves the digits model (64 pixels): it refuses a 30-feature row the API accepted.
    const predict = loadHandler('predict', predictEnv(h, { sagemakerEndpoint: 'digits-endpoint', runtimeUrl: runtime.url }));
    const res = await predict(event([rows[0].input]));
    expect(res.statusCode).toBe(400);
    expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'WRONG_FEATURE_COUNT', field: 'instances[0]' }) });
  });

  it('answers 503 when the container is unreachable and 502 for an unknown endpoint', async () => {
    const down = loadHandler('predict', predictEnv(h, { sagemakerEndpoint: 'down-endpoint', runtimeUrl: runtime.url }));
    const res = await down(event([rows[0].input]));
    expect(res.statusCode).toBe(503);
    expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'BACKEND_UNAVAILABLE' }) });

    const unknown = loadHandler('predict', predictEnv(h, { sagemakerEndpoint: 'nope', runtimeUrl: runtime.url }));
    const res2 = await unknown(event([rows[0].input]));
    expect(res2.statusCode).toBe(502);
    expect(jsonBody(res2)).toEqual({ error: expect.objectContaining({ code: 'BACKEND_ERROR' }) });
  });

  it('times out a stalled endpoint as BACKEND_TIMEOUT', async () => {
    const stall = await stalledServer();
    const rt = await startSageMakerRuntime({ endpoints: { slow: stall.url } });
    try {
      const b = sagemakerBackend({ endpointName: 'slow', runtimeUrl: rt.url, attemptTimeoutMs: 300, maxAttempts: 1 });
      await expect(b.invoke(body([rows[0].input]), 1)).rejects.toMatchObject({ code: 'BACKEND_TIMEOUT', status: 504 });
    } finally {
      await rt.close();
      await stall.close();
    }
  });
});

describe('fargate backend', () => {
  it("passes the model server's 4xx on with its code", async () => {
    const predict = loadHandler('predict', predictEnv(h, 'fargate', digits.url));
    const res = await predict(event([rows[0].input]));
    expect(res.statusCode).toBe(400);
    expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'WRONG_FEATURE_COUNT' }) });
  });

  it('gives up on a stalled server after the attempt timeout (504), without retrying', async () => {
    const stall = await stalledServer();
    try {
      const b = fargateBackend({ url: stall.url, attemptTimeoutMs: 300, maxAttempts: 2 });
      const t0 = Date.now();
      await expect(b.invoke(body([rows[0].input]), 1)).rejects.toMatchObject({ code: 'BACKEND_TIMEOUT', status: 504 });
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(stall.hits()).toBe(1);
    } finally {
      await stall.close();
    }
  });

  it('retries a 503 once, then answers 503 BACKEND_UNAVAILABLE', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"BACKEND_UNAVAILABLE","message":"busy"}}');
    });
    const port = await listen(server, 0, 'busy test server');
    try {
      const b = fargateBackend({ url: `http://127.0.0.1:${port}`, attemptTimeoutMs: 1000, maxAttempts: 2 });
      await expect(b.invoke(body([rows[0].input]), 1)).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', status: 503 });
      expect(hits).toBe(2);
    } finally {
      await closeServer(server);
    }
  });
});

describe("the shadow's outcome beside the answer", () => {
  const ANSWER = {
    predictions: [{ label: 'benign', probabilities: { malignant: 0.1, benign: 0.9 } }],
    model: { name: 'breast-cancer', version: '1.0.0' },
  };
  const shadows: Record<string, unknown> = {
    missing: undefined,
    'not an object': 'oops',
    'another version': { version: '9.9.9', ms: 3, predictions: ANSWER.predictions },
    'another count': { version: '2.0.0', ms: 3, predictions: [] },
    'no ms': { version: '2.0.0', predictions: ANSWER.predictions },
    'both predictions and an error': { version: '2.0.0', ms: 3, predictions: ANSWER.predictions, error: 'SHADOW_TIMEOUT' },
  };

  it.each(Object.keys(shadows))('a shadow that is %s: the answer stands, the shadow is BACKEND_ERROR (both backends)', async (kind) => {
    // GIVEN a stand-in model server answering the champion well and the shadow malformed
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(String(req.headers[SHADOW_VERSION_REQUEST_HEADER] ?? req.headers[SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER]));
      req
        .resume()
        .on('end', () =>
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...ANSWER, shadow: shadows[kind] })),
        );
    });
    const port = await listen(server, 0, 'malformed shadow server');
    const rt = await startSageMakerRuntime({ endpoints: { bad: `http://127.0.0.1:${port}` } });
    try {
      for (const b of [
        fargateBackend({ url: `http://127.0.0.1:${port}` }),
        sagemakerBackend({ endpointName: 'bad', runtimeUrl: rt.url }),
      ]) {
        // WHEN a shadow version is asked for
        const answer = await b.invoke(body([rows[0].input]), 1, undefined, undefined, '2.0.0');
        // THEN the answer passes, and the shadow is an error under the version asked for
        expect(answer.predictions).toEqual(ANSWER.predictions);
        expect(answer.shadow).toEqual({ version: '2.0.0', ms: expect.any(Number), error: 'BACKEND_ERROR' });
      }
      expect(seen).toEqual(['2.0.0', 'mlship-shadow-version=2.0.0']);
    } finally {
      await rt.close();
      await closeServer(server);
    }
  });

  it('the real model server runs the named shadow through either backend; no shadow is answered when none is named', async () => {
    for (const b of [fargateBackend({ url: h.model.url }), sagemakerBackend({ endpointName: 'bc-endpoint', runtimeUrl: runtime.url })]) {
      const asked = await b.invoke(body([rows[0].input]), 1, Date.now() + 10_000, undefined, '1.0.0');
      expect(asked.shadow).toEqual({ version: '1.0.0', ms: expect.any(Number), predictions: asked.predictions });
      expect((await b.invoke(body([rows[0].input]), 1)).shadow).toBeUndefined();
    }
  });
});

/** A server that reads the request and never answers. */
async function stalledServer(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer(() => {
    hits++;
  });
  const port = await listen(server, 0, 'stalled test server');
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, close: () => closeServer(server) };
}
