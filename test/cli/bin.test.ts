/**
 * The `mlship` bin runs the command line prebuilt: the first run after a fresh clone bundles it into
 * .mlship/cli/, later runs use that bundle until a source is newer, and the help loads none of the heavy
 * packages the commands use (the SDK clients, onnxruntime, DuckDB, the embedded servers).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../local/paths';

const BIN = join(PROJECT_ROOT, 'bin', 'mlship-cli.js');
const BUILD_DIR = join(PROJECT_ROOT, '.mlship', 'cli');
const BUNDLE = join(BUILD_DIR, 'mlship.js');

function mlship(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: PROJECT_ROOT, encoding: 'utf8' });
}

describe('the mlship bin', () => {
  it('builds the bundle on its first run and answers from it, keeping it while no source changes', () => {
    // GIVEN a checkout with no bundle yet (a fresh clone after npm ci)
    rmSync(BUILD_DIR, { recursive: true, force: true });
    // WHEN mlship runs
    const first = mlship('--help');
    // THEN it answers, from a bundle it built of the sources, which the next run keeps
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^Usage: mlship \[options\] \[command\]/);
    expect(existsSync(BUNDLE)).toBe(true);
    const inputs = JSON.parse(readFileSync(join(BUILD_DIR, 'inputs.json'), 'utf8')) as { root: string; files: string[] };
    expect(inputs.root).toBe(PROJECT_ROOT);
    expect(inputs.files).toEqual(expect.arrayContaining(['bin/mlship-cli.ts', 'bin/mlship-cli.js', 'cli/program.ts']));
    expect(inputs.files.some((f) => f.includes('node_modules'))).toBe(false);
    const builtAt = statSync(BUNDLE).mtimeMs;
    expect(mlship('--help').status).toBe(0);
    expect(statSync(BUNDLE).mtimeMs).toBe(builtAt);
  });

  it('builds again when a source is newer than the bundle', () => {
    // GIVEN a bundle older than its sources
    expect(mlship('--help').status).toBe(0);
    const old = new Date('2020-01-01T00:00:00Z');
    utimesSync(BUNDLE, old, old);
    // WHEN mlship runs
    const run = mlship('init', '--help');
    // THEN it answers from a new bundle
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: mlship init/);
    expect(statSync(BUNDLE).mtimeMs).toBeGreaterThan(old.getTime());
  });

  it('loads no heavy package to answer --help', () => {
    // GIVEN the bin, run as `mlship --help` in a process that lists the packages it loaded as it exits
    const script = [
      "process.argv = [process.execPath, 'mlship', '--help'];",
      'process.stdout.write = () => true;',
      "process.on('exit', () => process.stderr.write(JSON.stringify(Object.keys(require.cache))));",
      `require(${JSON.stringify(BIN)});`,
    ].join('\n');
    const out = spawnSync(process.execPath, ['-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    // THEN it loaded the bundle and commander, and nothing a command runs
    expect(out.status).toBe(0);
    const loaded = JSON.parse(out.stderr) as string[];
    expect(loaded).toContain(BUNDLE);
    const packages = new Set(loaded.flatMap((f) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(f)?.[1] ?? []));
    expect([...packages].filter((p) => /^(@aws-sdk|@smithy|onnxruntime|@duckdb|dynalite|s3rver|tsx|esbuild|aws-cdk-lib)/.test(p))).toEqual(
      [],
    );
  });
});
