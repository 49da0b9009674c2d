/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Graceful shutdown of the real CLI (`main.ts serve`, cluster of 2 workers, as the image runs it):
 * on SIGTERM a request already in flight is answered, then every process exits 0 and the port closes.
 */
import { execFileSync } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { type LoadedModel, loadModel } from '../../container/src/model';
import { startServer } from '../../container/src/server';
import { until } from '../support/poll';
import { BREAST_CANCER, parity } from './helpers';

test('SIGTERM finishes the in-flight request, then exits 0', async () => {
  // GIVEN the cluster serving the model
  const server = await startServer({ modelDir: BREAST_CANCER, workers: 2 });
  const body = Buffer.from(JSON.stringify({ instances: [parity(BREAST_CANCER).rows[0].input] }));

  // WHEN a request has sent its headers and half its body
  const reply = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(
      `${server.url}/invocations`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.write(body.subarray(0, 20));
    setTimeout(() => req.end(body.subarray(20)), 1000);
  });
  await new Promise((r) => setTimeout(r, 300));
  // AND the server is told to stop
  const closed = server.close();

  // THEN the request is answered, the processes exit 0, and new connections are refused
  const answer = await reply;
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.text).predictions).toHaveLength(1);
  await expect(closed).resolves.toBeUndefined();
  await expect(new Promise((resolve, reject) => http.get(`${server.url}/ping`, resolve).on('error', reject))).rejects.toThrow(
    /ECONNREFUSED/,
  );
});

test('the primary restarts a worker that dies, and the port keeps answering', async () => {
  // A fixed port, as in production: with port 0 a lone worker's replacement would draw a new random port.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const server = await startServer({ modelDir: BREAST_CANCER, workers: 1, port });
  try {
    const workers = () =>
      execFileSync('ps', ['-o', 'pid=', '--ppid', String(server.pid)])
        .toString()
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
    const [first] = workers();
    expect(first).toBeGreaterThan(0);
    // WHEN the only worker is killed
    process.kill(first, 'SIGKILL');
    // THEN a new worker takes over the port
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = await new Promise<number>((resolve) =>
        http
          .get(`${server.url}/ping`, { agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', () => resolve(0)),
      );
    }
    expect(status).toBe(200);
    expect(workers()).not.toContain(first);
  } finally {
    await server.close();
  }
});

test('close() releases the model only after invocations whose client has gone are done', async () => {
  // GIVEN a server whose model runs wait on a gate (a slow model, on demand)
  const real = await loadModel(BREAST_CANCER);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const outcomes: string[] = [];
  let running = false;
  const slow: LoadedModel = {
    manifest: real.manifest,
    dir: real.dir,
    featureCount: real.featureCount,
    plan: real.plan,
    toRows: (i) => real.toRows(i),
    predict: (i) => real.predict(i),
    takesPacked: real.takesPacked,
    runPacked: (values, n) => real.runPacked(values, n),
    run: async (rows) => {
      running = true;
      await gate;
      return real.run(rows).then(
        (p) => {
          outcomes.push('ran');
          return p;
        },
        (e: Error) => {
          outcomes.push(e.message);
          return Promise.reject(e);
        },
      );
    },
    close: async () => {
      outcomes.push('closed');
      await real.close();
    },
  };
  const server = await startServer({ load: async () => slow });
  // WHEN a client sends a request and hangs up before the answer, and the server is closed
  const req = http.request(`${server.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' } });
  req.on('error', () => undefined);
  req.end(JSON.stringify({ instances: [parity(BREAST_CANCER).rows[0].input] }));
  await until('the invocation to reach the model', () => running);
  req.destroy();
  const closed = server.close();
  // Nothing to wait for here but time: close() must still be holding the model 200 ms later.
  await new Promise((r) => setTimeout(r, 200));
  expect(outcomes).toEqual([]);
  open();
  await closed;
  // THEN the run finished on a live session before the session was released
  expect(outcomes).toEqual(['ran', 'closed']);
});
