/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * The golden-set check against the real model server (onnxruntime-node, cluster of one worker): each
 * model passes its own golden set, and a server holding the wrong model is refused. The same decision
 * functions the deployment calls are driven with real HTTP.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { CloudFormationCustomResourceUpdateEvent } from 'aws-lambda';
import { type RunningServer, startServer } from '../../container/src/server';
import { sendResponse } from '../../lambda/rollout/cfn-response';
import { decideCustomResource, decideLifecycleHook, HOOK_ATTEMPTS, loadGoldenSet } from '../../lambda/rollout/check';
import { checkRuntimeClient, httpInvoker, replayGoldenSet, sageMakerInvoker } from '../../lambda/rollout/replay';
import { createLogger } from '../../lambda/runtime/logger';
import { startSageMakerRuntime } from '../../local/sagemaker-runtime';
import { until } from '../support/poll';

const MODELS = resolve(__dirname, '..', '..', 'models');
const golden = {
  'breast-cancer': loadGoldenSet(join(MODELS, 'breast-cancer', 'parity.json'), '/'),
  digits: loadGoldenSet(join(MODELS, 'digits', 'parity.json'), '/'),
};
const log = createLogger('golden-check-test');
const quiet = { ...log, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };

const servers: Record<string, RunningServer> = {};
beforeAll(async () => {
  const [bc, dg] = await Promise.all([
    startServer({ modelDir: join(MODELS, 'breast-cancer'), port: 0, workers: 1 }),
    startServer({ modelDir: join(MODELS, 'digits'), port: 0, workers: 1 }),
  ]);
  servers['breast-cancer'] = bc;
  servers.digits = dg;
}, 60_000);
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

describe.each(['breast-cancer', 'digits'] as const)('%s server', (model) => {
  it('reproduces its golden set within tolerance', async () => {
    const { verdict, model: answered } = await replayGoldenSet(golden[model].set, httpInvoker(servers[model].url));
    expect(answered).toBe(`${model}/1.0.0`);
    expect(verdict).toMatchObject({ passed: true, rows: 50, mismatchCount: 0 });
    expect(verdict.maxDifference).toBeLessThan(1e-5);
  });

  it('lets the ECS hook succeed', async () => {
    const result = await decideLifecycleHook(
      { executionId: 'e1', lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT' },
      golden[model],
      httpInvoker(servers[model].url),
      quiet,
    );
    expect(result).toEqual({ hookStatus: 'SUCCEEDED' });
  });
});

describe('a server holding the wrong model', () => {
  it('is refused: the digits golden set against the breast-cancer server', async () => {
    const result = await decideLifecycleHook(
      { executionId: 'e2', lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT' },
      golden.digits,
      httpInvoker(servers['breast-cancer'].url),
      quiet,
    );
    // The server rejects 64-feature rows (WRONG_FEATURE_COUNT): an error, retried, then refused.
    expect(result.hookStatus).toBe('IN_PROGRESS');
    let last = result;
    for (let attempt = 1; attempt < HOOK_ATTEMPTS; attempt++) {
      last = await decideLifecycleHook(
        { executionId: 'e2', lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT', hookDetails: last.hookDetails },
        golden.digits,
        httpInvoker(servers['breast-cancer'].url),
        quiet,
      );
    }
    expect(last).toEqual({ hookStatus: 'FAILED' });
  });

  it('is refused on answers alone: a model with the right shape but other weights', async () => {
    // The breast-cancer golden set with every row's expected answer swapped for another row's: the
    // server answers in the right shape, and the labels/probabilities no longer match.
    const set = golden['breast-cancer'].set;
    const shifted = {
      ...golden['breast-cancer'],
      set: { labels: set.labels, rows: set.rows.map((r, i) => ({ ...set.rows[(i + 1) % set.rows.length], input: r.input })) },
    };
    const result = await decideLifecycleHook(
      { executionId: 'e3', lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT' },
      shifted,
      httpInvoker(servers['breast-cancer'].url),
      quiet,
    );
    expect(result).toEqual({ hookStatus: 'FAILED' });
  });
});

describe('the CloudFormation custom resource', () => {
  let responses: Server;
  let received: { method?: string; type?: string; body: unknown }[] = [];
  let responseUrl = '';
  beforeAll(async () => {
    responses = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString('utf8')));
      req.on('end', () => {
        received.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(text) });
        res.end();
      });
    });
    await new Promise<void>((r) => responses.listen(0, '127.0.0.1', r));
    responseUrl = `http://127.0.0.1:${(responses.address() as AddressInfo).port}/response`;
  });
  afterAll(() => new Promise<void>((r) => responses.close(() => r())));

  const update = (sha256: string, model = 'breast-cancer/1.0.0'): CloudFormationCustomResourceUpdateEvent => ({
    RequestType: 'Update',
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:golden',
    ResponseURL: responseUrl,
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Mlship-Serving/1',
    RequestId: 'r1',
    LogicalResourceId: 'GoldenCheck',
    PhysicalResourceId: 'golden-check/ep',
    ResourceType: 'Custom::GoldenSetCheck',
    ResourceProperties: { ServiceToken: 'x', EndpointName: 'ep', GoldenSetSha256: sha256, Model: model, EndpointConfigName: 'cfg-2' },
    OldResourceProperties: { ServiceToken: 'x' },
  });
  // A stand-in for InvokeEndpoint that posts to the local server (the SDK path is the same body).
  const invokerFor = (server: string) => () => httpInvoker(servers[server].url);

  it('succeeds for the right model and sends the answer to the response URL', async () => {
    const response = await decideCustomResource(
      update(golden['breast-cancer'].sha256),
      golden['breast-cancer'],
      invokerFor('breast-cancer'),
      quiet,
    );
    expect(response).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'golden-check/ep',
      RequestId: 'r1',
      LogicalResourceId: 'GoldenCheck',
    });
    received = [];
    await sendResponse(responseUrl, response);
    expect(received).toEqual([{ method: 'PUT', type: '', body: response }]);
  });

  it('fails the stack update when the endpoint serves the wrong model', async () => {
    const response = await decideCustomResource(
      update(golden.digits.sha256, 'digits/1.0.0'),
      golden.digits,
      invokerFor('breast-cancer'),
      quiet,
    );
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/could not run against ep: The model answered HTTP 400/);
  });

  it('fails when the answers are right but another version answered', async () => {
    const response = await decideCustomResource(
      update(golden['breast-cancer'].sha256, 'breast-cancer/2.0.0'),
      golden['breast-cancer'],
      invokerFor('breast-cancer'),
      quiet,
    );
    expect(response).toMatchObject({ Status: 'FAILED', Reason: 'The endpoint answered as breast-cancer/1.0.0, not breast-cancer/2.0.0.' });
  });

  it('lets a rollback to another golden set through, and deletes without checking', async () => {
    const rollback = await decideCustomResource(update('0'.repeat(64)), golden['breast-cancer'], invokerFor('digits'), quiet);
    expect(rollback).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/a rollback, not checked again/) });
    const del = await decideCustomResource(
      { ...update(golden.digits.sha256), RequestType: 'Delete' },
      golden.digits,
      invokerFor('breast-cancer'),
      quiet,
    );
    expect(del.Status).toBe('SUCCESS');
  });

  it('lets a rollback through while the check endpoint still serves the version rolled back from', async () => {
    // GIVEN CloudFormation rolling 1.0.0 back to 0.9.0 while the check endpoint still serves 1.0.0
    const back = {
      ...update(golden['breast-cancer'].sha256, 'breast-cancer/0.9.0'),
      OldResourceProperties: { ServiceToken: 'x', Model: 'breast-cancer/1.0.0' },
    };
    const response = await decideCustomResource(back, golden['breast-cancer'], invokerFor('breast-cancer'), quiet);
    // THEN the rollback is not refused (UPDATE_ROLLBACK_FAILED otherwise)
    expect(response).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/a rollback, not checked again/) });
  });

  describe('whatever the endpoint does, answers FAILED by its own deadline', () => {
    // A model server that accepts the request and never answers; it records when the caller gives up.
    let stall: Server;
    let stallUrl = '';
    let open = 0;
    beforeAll(async () => {
      stall = createServer((req) => {
        open++;
        req.on('close', () => open--);
      });
      await new Promise<void>((r) => stall.listen(0, '127.0.0.1', r));
      stallUrl = `http://127.0.0.1:${(stall.address() as AddressInfo).port}`;
    });
    afterAll(() => {
      stall.closeAllConnections();
      return new Promise<void>((r) => stall.close(() => r()));
    });

    it('over HTTP: FAILED at the deadline, the hanging request cancelled', async () => {
      const t0 = Date.now();
      const response = await decideCustomResource(
        update(golden['breast-cancer'].sha256),
        golden['breast-cancer'],
        (_name, signal) => httpInvoker(stallUrl, 60_000, signal),
        quiet,
        t0 + 400,
      );
      expect(response.Status).toBe('FAILED');
      expect(response.Reason).toMatch(/could not run against ep: no verdict by the check's deadline/);
      expect(Date.now() - t0).toBeLessThan(3000);
      await until('the hanging request to be closed', () => open === 0, { timeoutMs: 2000 });
    });

    it("through InvokeEndpoint with the check's own SDK client: FAILED at the deadline", async () => {
      const runtime = await startSageMakerRuntime({ endpoints: { hung: stallUrl } });
      const saved = { ...process.env };
      Object.assign(process.env, { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
      try {
        const client = checkRuntimeClient(runtime.url);
        const t0 = Date.now();
        const response = await decideCustomResource(
          update(golden['breast-cancer'].sha256),
          golden['breast-cancer'],
          (_name, signal) => sageMakerInvoker(client, 'hung', signal),
          quiet,
          t0 + 400,
        );
        expect(response).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/no verdict by the check's deadline/) });
        expect(Date.now() - t0).toBeLessThan(3000);
      } finally {
        process.env = saved;
        await runtime.close();
      }
    });
  });
});
