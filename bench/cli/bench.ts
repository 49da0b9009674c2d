/**
 * How long `mlship --help` takes to answer: the bin as shipped (the prebuilt bundle), the same entry run
 * from its TypeScript source through tsx (how the bin ran before it was bundled), and Node starting with
 * nothing to run (the floor), interleaved in one run so a busy machine slows all alike. `--compare DIR`
 * adds the bin of another checkout (an earlier release, with its node_modules) to the same run.
 *
 *   npx tsx bench/cli/bench.ts [--runs 15] [--compare /path/to/other/checkout]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../local/paths';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' }, compare: { type: 'string' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer');

interface Variant {
  readonly name: string;
  readonly args: string[];
}

const variants: Variant[] = [
  { name: 'bin (prebuilt bundle)', args: [join(PROJECT_ROOT, 'bin', 'mlship-cli.js'), '--help'] },
  { name: 'entry from source (tsx)', args: ['--require', 'tsx/cjs', join(PROJECT_ROOT, 'bin', 'mlship-cli.ts'), '--help'] },
  { name: 'node -e 0 (floor)', args: ['-e', '0'] },
];
if (values.compare) variants.push({ name: `bin of ${values.compare}`, args: [join(values.compare, 'bin', 'mlship-cli.js'), '--help'] });

function timeOnce(v: Variant): number {
  const started = process.hrtime.bigint();
  const out = spawnSync(process.execPath, v.args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (out.status !== 0) throw new Error(`${v.name} exited with ${out.status}: ${out.stderr}`);
  return ms;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// One warm-up each: the bundle is built when stale, tsx fills its transform cache.
for (const v of variants) timeOnce(v);
const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (let i = 0; i < runs; i++) for (const v of variants) times.get(v.name)?.push(timeOnce(v));

process.stdout.write(`mlship --help, ${runs} interleaved runs each (wall-clock ms)\n`);
process.stdout.write(`${'variant'.padEnd(40)} ${'p50'.padStart(7)} ${'p90'.padStart(7)} ${'min'.padStart(7)}\n`);
for (const [name, ms] of times) {
  const sorted = [...ms].sort((a, b) => a - b);
  const cells = [percentile(sorted, 50), percentile(sorted, 90), sorted[0]].map((x) => x.toFixed(0).padStart(7));
  process.stdout.write(`${name.padEnd(40)} ${cells.join(' ')}\n`);
}
