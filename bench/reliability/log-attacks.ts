/**
 * The prediction-log attacks (test/support/log-attacks.ts) against a fresh local system: prints each
 * case, the 5xx count and predictions answered vs logged; exits 1 on any mismatch.
 *
 *   npx tsx bench/reliability/log-attacks.ts
 */

import { errorStack } from '../../contract/errors';
import { startLocal } from '../../local/system';
import { MODEL_DIR } from '../../test/support/load-runner';
import { runLogAttacks } from '../../test/support/log-attacks';
import { quietHandlerLogs } from '../../test/support/quiet-logs';

async function main(): Promise<void> {
  const quiet = quietHandlerLogs();
  const local = await startLocal({
    port: 0,
    inMemory: true,
    modelDir: MODEL_DIR,
    replayIntervalMs: 0,
    staticDir: '/nonexistent-dashboard',
  });
  try {
    const r = await runLogAttacks(local);
    quiet.restore();
    for (const c of r.cases) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(52)} want ${c.want.padEnd(24)} got ${c.got}`);
    console.log(
      `bad inputs tried ${r.cases.length}, as expected ${r.cases.filter((c) => c.ok).length}, 5xx ${r.status5xx}, predictions answered ${r.answered}, logged ${r.logged}`,
    );
    const ok = r.cases.every((c) => c.ok) && r.status5xx === 0 && r.logged === r.answered;
    console.log(ok ? 'PASS' : 'FAIL');
    process.exitCode = ok ? 0 : 1;
  } finally {
    quiet.restore();
    await local.stop();
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(errorStack(e));
    process.exit(2);
  });
}
