/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/** The `batch` commands parse their flags into a real run (container) and refuse what they cannot do. */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { batchCommand, REJECTED_ROWS_EXIT_CODE } from '../../cli/batch';
import { batchContainerCommand } from '../../container/src/batch/command';

const MODEL_DIR = path.join(__dirname, '../../models/breast-cancer');
let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-batch-cmd-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A program that throws instead of exiting, and keeps commander's messages off the test output. */
function program(cmd: Command): Command {
  const quiet = (c: Command): void => {
    c.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    c.commands.forEach(quiet);
  };
  const p = new Command('test').addCommand(cmd);
  quiet(p);
  return p;
}

it('container: runs `batch` with every flag and writes <input>.out under a folder output', async () => {
  const parity = JSON.parse(readFileSync(path.join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] };
  const names = (
    JSON.parse(readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8')) as { input: { features: { name: string }[] } }
  ).input.features.map((f) => f.name);
  const input = path.join(dir, 'rows.csv');
  writeFileSync(input, `key,${names.join(',')}\n${parity.rows.map((r, i) => `k${i},${r.input.join(',')}`).join('\n')}\n`);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await program(batchContainerCommand()).parseAsync(
      [
        'batch',
        '--input',
        input,
        '--output',
        `${dir}/out/`,
        '--model',
        MODEL_DIR,
        '--id-column',
        'key',
        '--output-format',
        'jsonl',
        '--chunk-rows',
        '7',
        '--workers',
        '1',
        '--json',
      ],
      { from: 'user' },
    );
    const summary = JSON.parse(String(stdout.mock.calls[0][0])) as { rows: number; rejected: number; output: string };
    expect(summary).toMatchObject({ rows: parity.rows.length, rejected: 0, output: path.join(dir, 'out/rows.csv.out') });
    const out = readFileSync(summary.output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; label: string });
    expect(out.map((o) => o.id)).toEqual(parity.rows.map((_, i) => `k${i}`));
    expect(out.map((o) => o.label)).toEqual(parity.rows.map((r) => r.label));
    expect(String(stderr.mock.calls.at(-1)?.[0])).toMatch(/rows\/s, peak RSS \d+ MiB/);
  } finally {
    stderr.mockRestore();
    stdout.mockRestore();
  }
});

it('container: a malformed number flag stops with the flag named', async () => {
  await expect(
    program(batchContainerCommand()).parseAsync(
      ['batch', '--input', 'a.csv', '--output', 'b.csv', '--model', MODEL_DIR, '--workers', 'two'],
      { from: 'user' },
    ),
  ).rejects.toThrow(/--workers must be an integer/);
});

it('user CLI: a local run needs --output, and `status` needs --stack', async () => {
  await expect(
    program(batchCommand({ described: 'the test model', dir: () => MODEL_DIR })).parseAsync(
      ['batch', '--input', 'a.csv', '--model', MODEL_DIR],
      { from: 'user' },
    ),
  ).rejects.toThrow(/--output is required/);
  await expect(
    program(batchCommand({ described: 'the test model', dir: () => MODEL_DIR })).parseAsync(['batch', 'status'], { from: 'user' }),
  ).rejects.toThrow(/--stack/);
});

it('user CLI: a local run that rejected rows exits with its own documented code, one without rejects with 0', async () => {
  const parity = JSON.parse(readFileSync(path.join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[] }[] };
  const names = (
    JSON.parse(readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8')) as { input: { features: { name: string }[] } }
  ).input.features.map((f) => f.name);
  const good = parity.rows.slice(0, 3).map((r) => r.input.join(','));
  const run = async (name: string, lines: string[]) => {
    const input = path.join(dir, name);
    writeFileSync(input, `${[names.join(','), ...lines].join('\n')}\n`);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const before = process.exitCode;
    try {
      await program(batchCommand({ described: 'the test model', dir: () => MODEL_DIR })).parseAsync(
        ['batch', '--input', input, '--output', `${input}.out`, '--workers', '1'],
        { from: 'user' },
      );
      return process.exitCode;
    } finally {
      process.exitCode = before;
      stderr.mockRestore();
    }
  };
  // GIVEN one dataset with a row that is not numbers WHEN scored THEN the exit code says rows were rejected
  expect(await run('some-bad.csv', [...good, names.map(() => 'x').join(',')])).toBe(REJECTED_ROWS_EXIT_CODE);
  // AND a clean dataset leaves it unset (0)
  expect(await run('all-good.csv', good)).toBeUndefined();
});
