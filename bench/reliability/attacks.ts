/**
 * The hardening attacks (bench/reliability/attack-cases.ts) against the whole local system, each with
 * its expected answer; for the image model, the model server workers' peak memory (VmHWM) before and
 * after. One local system per model, each in its own process (the handlers load once per process).
 *
 *   npx tsx bench/reliability/attacks.ts
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorStack } from '../../contract/errors';
import { MANIFEST_FILE } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { PROJECT_ROOT } from '../../local/paths';
import { startLocal } from '../../local/system';
import { quietHandlerLogs } from '../../test/support/quiet-logs';
import { type AttackVerdict, attackCases, type ModelKind, runAttacks } from './attack-cases';

const MODELS: Record<ModelKind, string> = {
  image: join(PROJECT_ROOT, 'models', 'digits'),
  tabular: join(PROJECT_ROOT, 'models', 'breast-cancer'),
};
const MB = 1024 * 1024;

interface ModelRun {
  model: ModelKind;
  verdicts: AttackVerdict[];
  health: number;
  /** Peak resident memory of each model server worker, before and after the attacks. */
  workerPeak: { before: number; after: number }[];
}

/** Descendants of `pid` whose command line runs the model server, split into primary and workers. */
function modelWorkers(pid: number): number[] {
  const children = (p: number): number[] => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const isServer = (p: number) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('container/src/main.ts');
    } catch {
      return false;
    }
  };
  const primaries = children(pid).filter(isServer);
  return primaries.flatMap((p) => children(p).filter(isServer));
}

function peakRss(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

async function runModel(model: ModelKind): Promise<ModelRun> {
  const quiet = quietHandlerLogs();
  const modelDir = MODELS[model];
  const manifest = readManifestFile(join(modelDir, MANIFEST_FILE));
  const features = manifest.input.kind === 'tabular' ? manifest.input.features.map((f) => f.name) : [];
  const local = await startLocal({
    port: 0,
    inMemory: true,
    modelDir,
    apiKey: 'attack-key-0123456789abcdef',
    replayIntervalMs: 0,
    staticDir: '/nonexistent-dashboard',
  });
  try {
    const workers = modelWorkers(process.pid);
    const before = workers.map(peakRss);
    const verdicts = await runAttacks(
      local.url,
      local.apiKey,
      attackCases(features).filter((c) => c.model === model),
    );
    const health = (await fetch(`${local.url}/health`)).status;
    return { model, verdicts, health, workerPeak: workers.map((w, i) => ({ before: before[i], after: peakRss(w) })) };
  } finally {
    quiet.restore();
    await local.stop();
  }
}

async function main(): Promise<void> {
  const only = process.argv.indexOf('--model');
  if (only !== -1) {
    const run = await runModel(process.argv[only + 1] as ModelKind);
    process.stdout.write(`\n@@${JSON.stringify(run)}\n`);
    return;
  }
  const runs: ModelRun[] = [];
  for (const model of Object.keys(MODELS) as ModelKind[]) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--model', model], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * MB,
    });
    const line = child.stdout.split('\n').find((l) => l.startsWith('@@'));
    if (!line) throw new Error(`the ${model} run failed:\n${child.stderr}`);
    runs.push(JSON.parse(line.slice(2)) as ModelRun);
  }
  let ok = true;
  let tried = 0;
  let fivexx = 0;
  for (const run of runs) {
    console.log(`\n${run.model} model (${MODELS[run.model].replace(`${PROJECT_ROOT}/`, '')})`);
    for (const v of run.verdicts) {
      tried += v.got.length;
      fivexx += v.status5xx;
      ok &&= v.ok;
      const got = [...new Set(v.got)].map((g) => `${g} ×${v.got.filter((x) => x === g).length}`).join(', ');
      console.log(`  ${v.ok ? 'ok  ' : 'FAIL'} ${v.name.padEnd(52)} expected ${v.expected.padEnd(26)} got ${got}  (${v.ms} ms)`);
    }
    for (const [i, w] of run.workerPeak.entries()) {
      console.log(
        `  model server worker ${i + 1}: peak RSS ${(w.before / MB).toFixed(0)} MiB before the attacks, ${(w.after / MB).toFixed(0)} MiB after`,
      );
    }
    console.log(`  /health afterwards: ${run.health}`);
    ok &&= run.health === 200;
  }
  console.log(`\nbad inputs tried ${tried}, 5xx ${fivexx}`);
  ok &&= fivexx === 0;
  console.log(ok ? 'PASS' : 'FAIL');
  process.exitCode = ok ? 0 : 1;
}

main().catch((e: unknown) => {
  console.error(errorStack(e));
  process.exit(2);
});
