/**
 * The external-tool guard: a missing tool's check is recorded for the end-of-run line with its install
 * command, or fails when MLSHIP_REQUIRE_TOOLS=1; the reporter prints that line; .ci/run installs every tool
 * and sets the variable.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../local/paths';
import { EXTERNAL_TOOLS, type ExternalTool, installCommand, REQUIRE_TOOLS_VAR, SKIPPED_DIR_VAR, type ToolName } from './external-tools';

const startSkipRecords = require('./skipped-tools-setup') as { (): void; SKIPPED_DIR_VAR: string };
const reportSkips = require('./skipped-tools-teardown') as {
  (): void;
  summaryLine(records: unknown[]): string | undefined;
  REQUIRE_TOOLS_VAR: string;
};

/** Runs `withTools(['curl'], ...)` in a fresh Node with no PATH, where curl cannot be found. */
function guardWithoutPath(env: Record<string, string>) {
  const script = [
    "const { withTools } = require('./test/support/external-tools.ts');",
    "withTools(['curl'], 'a check that needs curl', () => console.log('ran')).then(",
    "  () => console.log('done'),",
    '  (e) => { console.log(e.message); process.exitCode = 3; },',
    ');',
  ].join('\n');
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...env, PATH: '' } });
}

test("jest's global setup and teardown name the same environment variables as the guard", () => {
  expect([startSkipRecords.SKIPPED_DIR_VAR, reportSkips.REQUIRE_TOOLS_VAR]).toEqual([SKIPPED_DIR_VAR, REQUIRE_TOOLS_VAR]);
});

test('a missing tool skips the check and leaves a marker naming it and its install command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlship-skip-test-'));
  try {
    const out = guardWithoutPath({ [SKIPPED_DIR_VAR]: dir });
    expect({ status: out.status, stdout: out.stdout }).toEqual({ status: 0, stdout: 'done\n' });
    const markers = readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
    expect(markers).toEqual([{ check: 'a check that needs curl', tools: [{ name: 'curl', install: 'sudo apt-get install curl' }] }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with MLSHIP_REQUIRE_TOOLS=1 a missing tool fails the check, saying how to install it', () => {
  const out = guardWithoutPath({ [REQUIRE_TOOLS_VAR]: '1' });
  expect(out.status).toBe(3);
  expect(out.stdout).toBe(
    'a check that needs curl needs curl (sudo apt-get install curl), and MLSHIP_REQUIRE_TOOLS=1 makes every external tool required.\n',
  );
});

test('the teardown ends the run with one line naming each skipped check once, with its install commands', () => {
  const chromium = { check: 'the dashboard in a browser', tools: [{ name: 'chromium', install: installCommand('chromium') }] };
  const both = {
    check: 'curl and Python',
    tools: ['curl', 'python3'].map((name) => ({ name, install: installCommand(name as ToolName) })),
  };
  expect(reportSkips.summaryLine([])).toBeUndefined();
  expect(reportSkips.summaryLine([both, chromium, chromium])).toBe(
    'Skipped 2 check(s) whose external tool is missing (MLSHIP_REQUIRE_TOOLS=1 makes them fail): ' +
      'curl and Python [curl: sudo apt-get install curl; python3: sudo apt-get install python3], ' +
      'the dashboard in a browser [chromium: sudo apt-get install chromium]',
  );
});

test('the setup makes a fresh folder for the records and the teardown prints them and removes it', () => {
  // This run's own folder (the workers write into it) is put back afterwards.
  const runs = process.env[SKIPPED_DIR_VAR];
  const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    startSkipRecords();
    const dir = process.env[SKIPPED_DIR_VAR] as string;
    expect(dir).not.toBe(runs);
    expect(readdirSync(dir)).toEqual([]);
    writeFileSync(
      join(dir, 'one.json'),
      JSON.stringify({ check: 'a check', tools: [{ name: 'curl', install: 'sudo apt-get install curl' }] }),
    );
    reportSkips();
    expect(write.mock.calls.map(([text]) => text)).toEqual([
      '\nSkipped 1 check(s) whose external tool is missing (MLSHIP_REQUIRE_TOOLS=1 makes them fail): a check [curl: sudo apt-get install curl]\n',
    ]);
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);
  } finally {
    write.mockRestore();
    if (runs === undefined) delete process.env[SKIPPED_DIR_VAR];
    else process.env[SKIPPED_DIR_VAR] = runs;
  }
});

test('.ci/run installs every external tool and makes them required', () => {
  const ci = readFileSync(join(PROJECT_ROOT, '.ci/run'), 'utf8');
  expect(ci).toMatch(new RegExp(`^export ${REQUIRE_TOOLS_VAR}=1$`, 'm'));
  const aptLine = ci.split('\n').find((l) => l.includes('apt-get install')) ?? '';
  for (const tool of Object.values(EXTERNAL_TOOLS) as ExternalTool[]) {
    for (const pkg of tool.apt ?? []) expect(aptLine.split(' ')).toContain(pkg);
    for (const pkg of tool.pip ?? []) expect(ci).toContain(`pip install ${pkg}`);
  }
});
