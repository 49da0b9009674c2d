/**
 * `npm start` under load meets a signal, as a person's Ctrl-C, a closed terminal or a crash delivers it:
 * to the whole process group. Every request the gateway took is answered (no connection reset), nothing
 * is logged that was not answered, and, after a restart on the same data folder, every answered
 * prediction is in the log and in the Parquet analytics store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { openAnalyticsDb } from '../../local/analytics/duckdb';
import { mirrorAnalytics } from '../../local/analytics/mirror';
import { S3RVER_CREDENTIALS } from '../../local/paths';
import { startLocal } from '../../local/system';
import { type Answer, answeredIds, MODEL_DIR, markerOf, runLoad } from '../support/load-runner';
import { reconcile, scanPredictions } from '../support/log-scan';
import { processesIn, type Started, startSystem, until } from '../support/npm-start';
import { quietHandlerLogs } from '../support/quiet-logs';

jest.setTimeout(300_000);

/**
 * Load on `started` until it exits; `signal` goes to its process group once `after` predictions are
 * answered. Returns the answers and when the signal went (ms since the load began, as `Answer.at`).
 */
async function loadThenSignal(
  started: Started,
  signal: NodeJS.Signals,
  after: number,
): Promise<{ answers: Answer[]; signalledAt: number }> {
  let exited = false;
  void started.exit.then(() => {
    exited = true;
  });
  const group = started.child.pid ?? 0;
  let answered = 0;
  let signalledAt = Number.POSITIVE_INFINITY;
  const load = runLoad({
    url: started.url,
    apiKey: started.apiKey,
    requests: 1_000_000,
    concurrency: 16,
    maxSeconds: 120,
    tag: 7,
    timeoutMs: 60_000,
    until: () => exited,
    onAnswer: (a) => {
      if (a.status === 200 && ++answered === after) {
        signalledAt = a.at;
        process.kill(-group, signal);
      }
    },
  });
  const { answers } = await load;
  await started.exit;
  await until(
    () => processesIn(group).length === 0,
    30_000,
    () => `still running: ${JSON.stringify(processesIn(group))}`,
  );
  return { answers, signalledAt };
}

/** What reached the log and the Parquet store, read after a restart on `dataDir`. */
async function afterRestart(dataDir: string): Promise<{ logged: Awaited<ReturnType<typeof scanPredictions>>; inStore: Set<string> }> {
  const quiet = quietHandlerLogs();
  const local = await startLocal({
    port: 0,
    dataDir,
    modelDir: MODEL_DIR,
    replayIntervalMs: 0,
    analyticsIntervalMs: 0,
    staticDir: '/none',
  });
  const root = mkdtempSync(join(tmpdir(), 'mlship-signal-store-'));
  const s3 = new S3Client({ endpoint: local.s3Url, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
  try {
    await local.replay();
    await local.flushAnalytics();
    const logged = await scanPredictions(local.dynamodbUrl, local.tableName);
    await mirrorAnalytics(s3, local.bucketName, root);
    const db = await openAnalyticsDb(root, local.manifest, { threads: 1 });
    try {
      const rows = (await db.query('SELECT DISTINCT id FROM predictions')).rows;
      return { logged, inStore: new Set(rows.map((r) => String(r.id))) };
    } finally {
      db.close();
    }
  } finally {
    s3.destroy();
    await local.stop();
    quiet.restore();
    rmSync(root, { recursive: true, force: true });
  }
}

describe('npm start under load, signalled', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it.each(['SIGINT', 'SIGHUP'] as const)(
    '%s to the process group: stops accepting, answers every request in flight, logs nothing unanswered and loses no analytics row',
    async (signal) => {
      // GIVEN npm start in its own process group, under load from 16 clients
      const dir = mkdtempSync(join(tmpdir(), 'mlship-signal-'));
      dirs.push(dir);
      const started = await startSystem(dir, true);
      // WHEN Ctrl-C (SIGINT) or a closed terminal (SIGHUP) reaches the whole group mid-load
      const { answers, signalledAt } = await loadThenSignal(started, signal, 60);
      // THEN it stopped cleanly, every request sent before the signal was answered (none reset), and no answer was a 5xx
      expect(await started.exit).toBe(0);
      const sentBefore = answers.filter((a) => a.at - a.ms < signalledAt);
      expect(sentBefore.filter((a) => a.networkError !== undefined).map((a) => a.networkError)).toEqual([]);
      // (a connection made after it is refused, or reset by the kernel if it raced the listener's close: never seen, never logged)
      expect(answers.filter((a) => a.status >= 500).map((a) => `${a.status} ${a.code}`)).toEqual([]);
      // AND after a restart every answered prediction is logged once, nothing unanswered is logged, and each is in the store
      const { answered, answeredTwice } = answeredIds(answers);
      const { logged, inStore } = await afterRestart(dir);
      const r = reconcile(answered, answeredTwice, logged, markerOf(7));
      expect({ lost: r.lost, duplicated: r.duplicated, orphaned: r.orphaned }).toEqual({ lost: [], duplicated: [], orphaned: [] });
      expect([...answered.keys()].filter((id) => !inStore.has(id))).toEqual([]);
      expect(answered.size).toBeGreaterThanOrEqual(60);
    },
  );

  it('SIGKILL to the process group (a crash): after a restart, every answered prediction is logged and in the store', async () => {
    // GIVEN npm start in its own process group, under load
    const dir = mkdtempSync(join(tmpdir(), 'mlship-crash-'));
    dirs.push(dir);
    const started = await startSystem(dir, true);
    // WHEN the whole group is killed mid-load, with writes not yet handed to the analytics writer
    const { answers } = await loadThenSignal(started, 'SIGKILL', 60);
    // THEN after a restart on the same data every answered prediction is in the log and reaches the Parquet store
    const { answered, answeredTwice } = answeredIds(answers);
    expect(answered.size).toBeGreaterThanOrEqual(60);
    const { logged, inStore } = await afterRestart(dir);
    const r = reconcile(answered, answeredTwice, logged, markerOf(7));
    expect({ lost: r.lost, duplicated: r.duplicated }).toEqual({ lost: [], duplicated: [] });
    expect([...answered.keys()].filter((id) => !inStore.has(id))).toEqual([]);
  });
});
