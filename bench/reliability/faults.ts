/**
 * Full-length fault runs against the local system: DynamoDB down for 10 s mid-load (then replay), the
 * model server down mid-load, S3 unreachable for an S3 input. Prints what callers saw and what the log
 * holds.
 *
 *   npx tsx bench/reliability/faults.ts [--down-seconds 10] [--concurrency 64]
 *
 * Exits 1 when a check fails.
 */
import { errorStack } from '../../contract/errors';
import { startLocal } from '../../local/system';
import { defined } from '../../test/support/defined';
import { dynamoDbOutage, modelOutage, type OutageReport, s3Outage } from '../../test/support/fault-scenarios';
import { MODEL_DIR } from '../../test/support/load-runner';
import { quietHandlerLogs } from '../../test/support/quiet-logs';
import { startTcpSwitch, type TcpSwitch } from '../../test/support/tcp-switch';
import { numberFlags } from './cli-args';

function print(name: string, r: OutageReport): boolean {
  const rec = r.reconciliation;
  const failedCodes: Record<string, number> = {};
  for (const a of [...r.during, ...r.after]) {
    if (a.status === 200) continue;
    const key = `${a.status} ${a.code}`;
    failedCodes[key] = (failedCodes[key] ?? 0) + 1;
  }
  console.log(`\n${name}`);
  console.log(
    `  requests ${r.summary.requests}, ${r.summary.requestsPerSecond.toFixed(1)} req/s, p50 ${r.summary.p50Ms.toFixed(2)} ms, p99 ${r.summary.p99Ms.toFixed(2)} ms`,
  );
  console.log(`  during the outage ${r.during.length} answers, after it ${r.after.length}; non-200: ${JSON.stringify(failedCodes)}`);
  console.log(`  replayed from the dead-letter queue: ${r.replayed}`);
  console.log(
    `  log: answered ${rec.answered}, items ${rec.logged}, lost ${rec.lost.length}, duplicated ${rec.duplicated.length}, orphaned ${rec.orphaned.length}`,
  );
  return (
    r.summary.networkErrors === 0 &&
    r.summary.malformed === 0 &&
    rec.lost.length === 0 &&
    rec.duplicated.length === 0 &&
    rec.orphaned.length === 0
  );
}

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { 'down-seconds': 10, concurrency: 64 });
  const quiet = quietHandlerLogs();
  let s3Switch: TcpSwitch | undefined;
  const local = await startLocal({
    port: 0,
    inMemory: true,
    modelDir: MODEL_DIR,
    apiKey: 'faults-key-0123456789abcdef',
    replayIntervalMs: 0,
    // The predict function reaches S3 through a switch the S3 scenario turns off.
    predictS3Via: async (s3Url) => {
      s3Switch = await startTcpSwitch(Number(new URL(s3Url).port));
      return s3Switch.url;
    },
  });
  const log = (line: string) => console.log(line);
  try {
    const timing = { leadSeconds: 5, downSeconds: flags['down-seconds'], tailSeconds: 5, concurrency: flags.concurrency };
    const ddb = await dynamoDbOutage(local, { ...timing, tag: 11 });
    const ddbOk = print(`DynamoDB stopped for ${timing.downSeconds} s`, ddb) && ddb.summary.status5xx === 0;
    const model = await modelOutage(local, { ...timing, tag: 12 });
    const wrong = [...model.during, ...model.after].filter(
      (a) => a.status !== 200 && !(a.status === 503 && a.code === 'BACKEND_UNAVAILABLE'),
    );
    const modelOk =
      print(`model server stopped for ${timing.downSeconds} s`, model) && wrong.length === 0 && model.after.some((a) => a.status === 200);
    const s3 = await s3Outage(local, defined(s3Switch, 'the S3 switch'), 13);
    log(
      `\nS3 unreachable for an S3 input\n  while down: ${s3.down.status} ${s3.down.body.error?.code} "${s3.down.body.error?.message}"; log items naming it: ${s3.itemsAfterFailure}`,
    );
    log(`  once back: ${s3.back.status}; log items naming it: ${s3.itemsAfterRecovery}`);
    const s3Ok =
      s3.down.status === 503 &&
      s3.down.body.error?.code === 'STORAGE_UNAVAILABLE' &&
      s3.itemsAfterFailure === 0 &&
      s3.back.status === 200 &&
      s3.itemsAfterRecovery === 1;
    const health = await fetch(`${local.url}/health`);
    const ok = ddbOk && modelOk && s3Ok && health.status === 200;
    console.log(`\nhealth afterwards: ${health.status}\n${ok ? 'PASS' : 'FAIL'}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    quiet.restore();
    await local.stop();
    await s3Switch?.close();
  }
}

main().catch((e: unknown) => {
  console.error(errorStack(e));
  process.exit(2);
});
