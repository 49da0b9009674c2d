/**
 * `mlship batch`: score a dataset on this machine (the same code as the container's batch mode), or,
 * with `--stack`, start the batch state machine in AWS; `mlship batch status --stack NAME` lists runs.
 * The batch code and the AWS clients load only when a command runs, so the help answers at once.
 */

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { addBatchOptions, type BatchFlags, batchOptionsOf, printSummary } from '../container/src/batch/options';

/**
 * Exit code of a local run that finished but rejected rows (they are in the rejects file): neither
 * success (0) nor a failed run (1), so a script can tell the three apart.
 */
export const REJECTED_ROWS_EXIT_CODE = 3;

/** The model a local run scores with when `--model` is not given. */
export interface ConfiguredModel {
  /** Where it comes from, as the help states it. */
  readonly described: string;
  /** Its folder. */
  dir(): string | Promise<string>;
}

/** The configured model, unless `--model` names one. */
async function localModelDir(flag: string | undefined, configured: ConfiguredModel): Promise<string> {
  if (flag) return flag;
  const dir = await configured.dir();
  if (!existsSync(path.join(dir, 'model.json'))) throw new Error(`No model at ${dir}: pass --model DIR.`);
  return dir;
}

/** @param configured the model to score with when `--model` is not given (the CLI reads `mlship.config.json`). */
export function batchCommand(configured: ConfiguredModel): Command {
  const cmd = addBatchOptions(new Command('batch'), { inputRequired: false, modelDefault: configured.described })
    .description('Predict a whole dataset: locally (--input data.csv --output preds.csv) or in AWS (--input s3://… --stack NAME)')
    .option('--stack <name>', 'run in AWS: start the batch state machine of this stack')
    .addHelpText(
      'after',
      `\nExit code of a local run: 0 when every row was predicted, ${REJECTED_ROWS_EXIT_CODE} when some were rejected (see the rejects file), 1 when the run failed.`,
    )
    .action(async (flags: BatchFlags & { stack?: string }) => {
      if (!flags.input) throw new Error('--input is required (or use `mlship batch status --stack NAME`).');
      if (flags.stack) {
        const { findBatchStack, startBatch } = await import('../container/src/batch/cloud');
        const run = await startBatch(await findBatchStack(flags.stack), flags.input);
        process.stdout.write(
          `started ${run.executionArn}\nresults will be under ${run.outputPrefix}\nfollow with: mlship batch status --stack ${flags.stack}\n`,
        );
        return;
      }
      if (!flags.output) throw new Error('--output is required for a local run.');
      const options = batchOptionsOf(flags, await localModelDir(flags.model, configured));
      const { runBatch } = await import('../container/src/batch/run-batch');
      const summary = await runBatch(options);
      printSummary(summary, flags.json === true);
      if (summary.rejected > 0) process.exitCode = REJECTED_ROWS_EXIT_CODE;
    });
  cmd
    .command('status')
    .description('Recent batch runs in AWS, newest first, with the error of failed ones')
    .requiredOption('--stack <name>', 'stack holding the batch state machine')
    .option('--max <n>', 'runs to list', '10')
    .action(async (flags: { stack: string; max: string }) => {
      const { findBatchStack, listBatchRuns } = await import('../container/src/batch/cloud');
      const runs = await listBatchRuns(await findBatchStack(flags.stack), Math.min(Math.max(Number(flags.max) || 10, 1), 100));
      if (runs.length === 0) process.stdout.write('no batch runs yet\n');
      for (const r of runs) {
        const took = r.startedAt && r.stoppedAt ? ` ${((r.stoppedAt.getTime() - r.startedAt.getTime()) / 1000).toFixed(0)} s` : '';
        process.stdout.write(
          `${r.status.padEnd(9)} ${r.name} ${r.startedAt?.toISOString() ?? ''}${took}${r.error ? `\n          ${r.error}` : ''}\n`,
        );
      }
    });
  return cmd;
}
