/**
 * `batch` subcommand of the container: the same image that serves the model scores a whole dataset.
 * On Fargate the state machine runs it as `batch --input s3://… --output s3://…/`.
 */
import { Command } from 'commander';
import { resolveModelDir } from '../model-source';
import { addBatchOptions, type BatchFlags, batchOptionsOf, printSummary } from './options';
import { runBatch } from './run-batch';

/** The container's `batch` command. Register it with `program.addCommand(batchContainerCommand())`. */
export function batchContainerCommand(): Command {
  return addBatchOptions(
    new Command('batch').description('Predict every row of a CSV, JSON Lines or Parquet dataset (local path or s3://) and exit'),
  ).action(async (flags: BatchFlags) => {
    if (!flags.output) throw new Error('--output is required');
    const modelDir = await resolveModelDir({ modelDir: flags.model });
    printSummary(await runBatch(batchOptionsOf(flags, modelDir)), flags.json === true);
  });
}
