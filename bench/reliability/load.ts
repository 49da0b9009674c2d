/**
 * Load test of the local system: N `POST /predict` at concurrency C (bounded by a time cap), then the
 * whole log is scanned and reconciled with the answers: 0 lost, 0 duplicated, 0 5xx.
 *
 *   npx tsx bench/reliability/load.ts [--requests 100000] [--concurrency 64] [--max-seconds 300]
 *
 * Exits 1 when anything is lost, doubled, or answered 5xx.
 */

import { errorMessage } from '../../contract/errors';
import { startLocal } from '../../local/system';
import { answeredIds, MODEL_DIR, markerOf, runLoad, summarize } from '../../test/support/load-runner';
import { reconcile, scanPredictions } from '../../test/support/log-scan';
import { quietHandlerLogs } from '../../test/support/quiet-logs';
import { numberFlags } from './cli-args';

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { requests: 100_000, concurrency: 64, 'max-seconds': 300 });
  const quiet = quietHandlerLogs();
  const local = await startLocal({
    port: 0,
    inMemory: true,
    modelDir: MODEL_DIR,
    apiKey: 'load-key-0123456789abcdefgh',
    replayIntervalMs: 0,
  });
  try {
    const tag = 1;
    const result = await runLoad({
      url: local.url,
      apiKey: local.apiKey,
      requests: flags.requests,
      concurrency: flags.concurrency,
      maxSeconds: flags['max-seconds'],
      tag,
    });
    const summary = summarize(result);
    const scanStarted = Date.now();
    const { answered, answeredTwice } = answeredIds(result.answers);
    const rec = reconcile(answered, answeredTwice, await scanPredictions(local.dynamodbUrl, local.tableName), markerOf(tag));
    quiet.restore();
    const f = (n: number) => n.toFixed(3);
    console.log(
      `requests        ${summary.requests} of ${flags.requests}${result.stoppedByTimeCap ? ` (time cap ${flags['max-seconds']} s reached)` : ''}`,
    );
    console.log(`concurrency     ${flags.concurrency}`);
    console.log(`elapsed         ${result.elapsedSeconds.toFixed(1)} s`);
    console.log(`requests/s      ${summary.requestsPerSecond.toFixed(1)}`);
    console.log(`latency ms      p50 ${f(summary.p50Ms)}  p99 ${f(summary.p99Ms)}  max ${f(summary.maxMs)}`);
    console.log(
      `answers         200: ${summary.ok}  4xx: ${summary.status4xx}  5xx: ${summary.status5xx}  network errors: ${summary.networkErrors}  malformed: ${summary.malformed}`,
    );
    console.log(`error codes     ${JSON.stringify(summary.codes)}`);
    console.log(
      `log             answered ids ${rec.answered}, items ${rec.logged}, lost ${rec.lost.length}, duplicated ${rec.duplicated.length}, orphaned ${rec.orphaned.length} (scan ${((Date.now() - scanStarted) / 1000).toFixed(1)} s)`,
    );
    const ok =
      summary.status5xx === 0 &&
      summary.networkErrors === 0 &&
      rec.lost.length === 0 &&
      rec.duplicated.length === 0 &&
      rec.orphaned.length === 0;
    console.log(ok ? 'PASS' : 'FAIL');
    process.exitCode = ok ? 0 : 1;
  } finally {
    quiet.restore();
    await local.stop();
  }
}

main().catch((e: unknown) => {
  console.error(errorMessage(e));
  process.exit(2);
});
