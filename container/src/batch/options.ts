/**
 * The options of the `batch` commands (the container's and `mlship batch`), apart from the run itself
 * (command.ts), so a command line lists them without loading the batch code.
 */
import { type Command, Option } from 'commander';
import { intSetting } from '../config';
import { BATCH_FORMATS, type BatchFormat, type BatchOptions, type BatchSummary } from './types';

export interface BatchFlags {
  readonly input: string;
  readonly output: string;
  readonly model?: string;
  readonly format?: BatchFormat;
  readonly outputFormat?: BatchFormat;
  readonly idColumn: string;
  readonly chunkRows?: string;
  readonly workers?: string;
  readonly rejects?: string;
  readonly json?: boolean;
}

export interface BatchOptionsHelp {
  /** Whether `--input` is required (`mlship batch status` needs none). @default true */
  readonly inputRequired?: boolean;
  /** Where the model comes from without `--model`, as the help states it. @default - the container's: MODEL_DIR, MODEL_S3_URI or /opt/ml/model */
  readonly modelDefault?: string;
}

/** Adds the options shared by the container command and `mlship batch`. */
export function addBatchOptions(cmd: Command, help: BatchOptionsHelp = {}): Command {
  const { inputRequired = true, modelDefault = 'MODEL_DIR, MODEL_S3_URI or /opt/ml/model' } = help;
  const input = '--input <path|s3://bucket/key>';
  const inputHelp = 'dataset: CSV with a header row, JSON Lines, or Parquet';
  (inputRequired ? cmd.requiredOption(input, inputHelp) : cmd.option(input, inputHelp))
    .option('--output <path|s3://bucket/key>', 'predictions; a trailing / writes <input name>.out there')
    .option('--model <dir>', `model directory (default: ${modelDefault})`)
    .addOption(new Option('--format <format>', 'input format (default: from the extension)').choices(BATCH_FORMATS))
    .addOption(
      new Option('--output-format <format>', 'output format (default: from the extension, else the input format)').choices(BATCH_FORMATS),
    )
    .option('--id-column <name>', 'column or key holding row ids; rows without one are numbered', 'id')
    .option('--chunk-rows <n>', 'rows per model call (default: 2048)')
    .option('--workers <n>', 'model workers, 0 = one per core (default: 0)')
    .option('--rejects <path|s3://bucket/key>', 'rejected rows with reasons (default: <output>.rejects.jsonl)')
    .option('--json', 'print the summary as JSON on stdout');
  return cmd;
}

/** Turns command-line flags into batch options; a malformed number stops with a message naming the flag. */
export function batchOptionsOf(flags: BatchFlags, modelDir: string): BatchOptions {
  const workers = intSetting('--workers', flags.workers, 0, 256);
  return {
    model: modelDir,
    input: flags.input,
    output: flags.output,
    format: flags.format,
    outputFormat: flags.outputFormat,
    idColumn: flags.idColumn,
    chunkRows: intSetting('--chunk-rows', flags.chunkRows, 1, 100_000),
    workers: workers === 0 ? undefined : workers,
    rejects: flags.rejects,
  };
}

export function printSummary(s: BatchSummary, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify(s)}\n`);
  process.stderr.write(
    `batch: ${s.rows} rows, ${s.predicted} predicted, ${s.rejected} rejected in ${(s.elapsedMs / 1000).toFixed(2)} s ` +
      `(${s.rowsPerSecond} rows/s, peak RSS ${s.peakRssMiB} MiB) → ${s.output}${s.rejects ? `, rejects → ${s.rejects}` : ''}\n`,
  );
}
