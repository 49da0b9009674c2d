/**
 * 10,000 seeded malformed requests against the local system: every answer must be a 4xx JSON error with
 * a contract code, none a 5xx, and `/health` must answer 200 afterwards.
 *
 *   npx tsx bench/reliability/bad-input.ts [--requests 10000] [--seed 20251124] [--concurrency 32]
 */

import { errorStack } from '../../contract/errors';
import { startLocal } from '../../local/system';
import { MODEL_DIR } from '../../test/support/load-runner';
import { scanPredictions } from '../../test/support/log-scan';
import { generateBadRequests, sendBadRequests, tally } from '../../test/support/malformed';
import { quietHandlerLogs } from '../../test/support/quiet-logs';
import { numberFlags } from './cli-args';

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { requests: 10_000, seed: 20251124, concurrency: 32 });
  const quiet = quietHandlerLogs();
  const local = await startLocal({
    port: 0,
    inMemory: true,
    modelDir: MODEL_DIR,
    apiKey: 'bad-input-key-0123456789ab',
    replayIntervalMs: 0,
    staticDir: '/nonexistent-dashboard',
  });
  try {
    const started = Date.now();
    const verdicts = await sendBadRequests(local.url, generateBadRequests(flags.seed, flags.requests, local.apiKey), flags.concurrency);
    const seconds = (Date.now() - started) / 1000;
    const t = tally(verdicts);
    const health = await fetch(`${local.url}/health`);
    const logged = (await scanPredictions(local.dynamodbUrl, local.tableName)).length;
    quiet.restore();
    console.log(`requests     ${verdicts.length} (seed ${flags.seed}) in ${seconds.toFixed(1)} s`);
    console.log(`4xx errors   ${verdicts.length - t.problems.length}, contract breaks ${t.problems.length}, 5xx ${t.status5xx}`);
    console.log(`codes        ${JSON.stringify(t.byCode)}`);
    console.log(`kinds        ${Object.keys(t.byKind).length}`);
    console.log(`log items    ${logged}`);
    console.log(`health       ${health.status}`);
    for (const p of t.problems.slice(0, 20)) console.log(`  ${p.kind}: ${p.status} ${p.problem}`);
    const ok = t.problems.length === 0 && t.status5xx === 0 && health.status === 200 && logged === 0;
    console.log(ok ? 'PASS' : 'FAIL');
    process.exitCode = ok ? 0 : 1;
  } finally {
    quiet.restore();
    await local.stop();
  }
}

main().catch((e: unknown) => {
  console.error(errorStack(e));
  process.exit(2);
});
