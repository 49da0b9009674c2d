/**
 * What a shadow challenger costs the caller of `POST /predict`: the predict handler in this process
 * against the real prediction log (dynalite) and one model server hosting both versions, measured in
 * the same run with no challenger, with a shadow challenger (the same weights under a new version, run by
 * the model server in the champion's own call), with a shadow whose outcome is made up without running
 * the challenger (what the shadow costs besides its run: the log), and with a challenger whose run takes
 * a second (the model server cuts the wait at SHADOW_GRACE_MS; that variant's server runs in this process).
 *
 *   npx tsx bench/versions/bench.ts [--requests 400] [--concurrency 1]
 *
 * The variants take turns in rounds (after one uncounted warm-up round), so a busy machine slows them
 * alike. Printed: p50 and p99 of the caller's latency per variant, in milliseconds, and each one's p50
 * against the champion alone.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

type Handler = (e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

import { loadModel } from '../../container/src/model';
import { startServer } from '../../container/src/server';
import { readManifestFile } from '../../contract/model-files';
import { SHADOW_GRACE_MS } from '../../contract/versions';
import { createPredictHandler, type PredictDeps } from '../../lambda/api/predict';
import { versionsDeps } from '../../lambda/api/versions-routing';
import { PredictionLogStore } from '../../lambda/log/prediction-log-store';
import { percentile } from '../../lambda/log/summary';
import type { Backend } from '../../lambda/model/backend';
import { fargateBackend } from '../../lambda/model/fargate-backend';
import { lazyS3, lazySqs } from '../../lambda/runtime/lazy-clients';
import { createLogger } from '../../lambda/runtime/logger';
import { Metrics } from '../../lambda/runtime/metrics';
import { TableRoutingStore } from '../../lambda/versions/routing-store';
import { dynamoClient, ensureTable, startDynamoDbThread } from '../../local/dynamodb';
import { PROJECT_ROOT } from '../../local/paths';
import { proxyEvent } from '../../test/lambda/events';
import { modelVersionCopy, slowedModel } from '../../test/support/model-version';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '400' }, concurrency: { type: 'string', default: '1' } } });
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = 4;
const MODEL = join(PROJECT_ROOT, 'models/breast-cancer');
const TABLE = 'bench-versions';

async function main(): Promise<void> {
  const challengerDir = modelVersionCopy(MODEL, '2.0.0');
  const dir = mkdtempSync(join(tmpdir(), 'mlship-bench-versions-'));
  // In a worker thread, as `npm start` runs it: its CPU is not the handler's.
  const ddb = await startDynamoDbThread({ dir: join(dir, 'ddb') });
  const server = await startServer({ modelDir: MODEL, challengerDir, workers: 1 });
  const stops: (() => Promise<void>)[] = [];
  const quiet = process.stdout.write.bind(process.stdout);
  try {
    const client = dynamoClient(ddb.url);
    await ensureTable(client, TABLE);
    const manifest = readManifestFile(join(MODEL, 'model.json'));
    const backend = fargateBackend({ url: server.url });
    // The real model server whose challenger's every run takes a second.
    const slowServer = await startServer({
      modelDir: MODEL,
      loadChallenger: async () => slowedModel(await loadModel(challengerDir), 1000),
    });
    stops.push(() => slowServer.close());
    const slow = fargateBackend({ url: slowServer.url });
    // A shadow outcome made up at once, with no challenger run: what the shadow costs besides its run.
    const body = JSON.stringify({ instances: [Array.from({ length: 30 }, (_, i) => i / 10)] });
    const canned = await backend.invoke(body, 1, undefined, '2.0.0');
    const instant: Backend = {
      kind: backend.kind,
      invoke: async (b, n, deadline, version, shadow) => {
        const answer = await backend.invoke(b, n, deadline, version);
        return shadow === undefined ? answer : { ...answer, shadow: { version: shadow, ms: 0, predictions: canned.predictions } };
      },
    };
    // No dead letters and no large inputs in this run: those clients are never called.
    const aws = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
    const base: PredictDeps = {
      manifest,
      backendKind: 'fargate',
      backend,
      log: new PredictionLogStore(client, TABLE),
      deadLetters: { sqs: lazySqs(new SQSClient({ ...aws, endpoint: 'http://127.0.0.1:1' })), url: 'http://127.0.0.1:1/queue/none' },
      inputs: { s3: lazyS3(new S3Client({ ...aws, endpoint: 'http://127.0.0.1:1' })), bucket: 'none' },
      ttlDays: 0,
    };
    const shadowVersions = versionsDeps({
      store: new TableRoutingStore(client, TABLE, manifest.name),
      champion: '1.0.0',
      challenger: { version: '2.0.0', mode: 'shadow' },
      logger: createLogger('bench'),
      metrics: new Metrics({ name: manifest.name, version: '1.0.0' }),
    });
    const variants: Record<string, Handler> = {
      'champion only': createPredictHandler(base),
      // The same variant twice: the gap between the two is the noise a difference must stand out of.
      'champion only, again': createPredictHandler(base),
      'shadow challenger': createPredictHandler({ ...base, versions: shadowVersions }),
      'instant shadow challenger (no challenger run)': createPredictHandler({ ...base, backend: instant, versions: shadowVersions }),
      'slow shadow challenger (1 s run)': createPredictHandler({ ...base, backend: slow, versions: shadowVersions }),
    };
    const latencies: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    const roundP50s: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    // Handlers write JSON log lines to stdout; the bench prints only its result.
    process.stdout.write = (() => true) as typeof process.stdout.write;
    // Round -1 warms every variant up (JIT, connections, the table's first pages) and is not counted:
    // without it the first variant measured pays for the run's start alone.
    for (let round = -1; round < ROUNDS; round++) {
      for (const [name, handler] of Object.entries(variants)) {
        // The slow variant waits out the grace on every request: fewer of them say as much.
        const n = Math.ceil((name.startsWith('slow') ? REQUESTS / 10 : REQUESTS) / ROUNDS);
        let next = 0;
        const worker = async () => {
          while (next++ < n) {
            const event = proxyEvent({ method: 'POST', resource: '/predict', headers: { 'content-type': 'application/json' }, body });
            event.requestContext.requestId = randomUUID();
            const t0 = performance.now();
            const res = await handler(event);
            latencies[name]?.push(performance.now() - t0);
            if (res.statusCode !== 200) throw new Error(`${name}: status ${res.statusCode}`);
          }
        };
        const before = latencies[name]?.length ?? 0;
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
        if (round < 0) {
          latencies[name]?.splice(before);
          continue;
        }
        const taken = (latencies[name] ?? []).slice(before).sort((a, b) => a - b);
        roundP50s[name]?.push(percentile(taken, 50) ?? Number.NaN);
      }
    }
    process.stdout.write = quiet;
    const p = (name: string, q: number) =>
      percentile(
        [...(latencies[name] ?? [])].sort((a, b) => a - b),
        q,
      ) ?? Number.NaN;
    const baseline = p('champion only', 50);
    const rows = Object.keys(variants).map((name) => ({
      variant: name,
      requests: latencies[name]?.length,
      p50Ms: Number(p(name, 50).toFixed(2)),
      p99Ms: Number(p(name, 99).toFixed(2)),
      p50VsChampionOnly: Number((p(name, 50) / baseline).toFixed(2)),
      p50MinusChampionOnlyMs: Number((p(name, 50) - baseline).toFixed(2)),
      // Each round's p50: their spread is the round-to-round noise of this variant.
      roundP50sMs: (roundP50s[name] ?? []).map((x) => Number(x.toFixed(2))),
    }));
    const noise = Math.abs(p('champion only, again', 50) - baseline);
    process.stdout.write(
      `${JSON.stringify({ concurrency: CONCURRENCY, shadowGraceMs: SHADOW_GRACE_MS, load: loadavg().map((x) => Number(x.toFixed(1))), rows }, null, 1)}\n`,
    );
    const shadow = p('shadow challenger', 50) - baseline;
    process.stdout.write(
      `shadow challenger: p50 ${shadow >= 0 ? '+' : ''}${shadow.toFixed(2)} ms over the champion alone; the champion alone against itself: ${noise.toFixed(2)} ms\n`,
    );
  } finally {
    process.stdout.write = quiet;
    for (const stop of stops) await stop();
    await server.close();
    await ddb.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(challengerDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
