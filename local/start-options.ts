/**
 * The options of `npm start` and `mlship start`, defined once (the CLI adds --data-dir globally). Apart
 * from the start itself (start.ts), so the command line lists them without loading the system.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { errorMessage } from '../contract/errors';
import type { ChallengerFlags } from './challenger';
import { DEFAULT_MODEL_DIR, SERVICE_PORT_OFFSETS } from './paths';

export interface RunStartOptions {
  port?: number;
  dataDir?: string;
  inMemory?: boolean;
  modelDir?: string;
  /** A challenger beside the model: its folder, and `--shadow` (the default) or `--split PERCENT` (docs/versions.md). */
  challenger?: ChallengerFlags;
  /** Print one line per API request. */
  accessLog?: boolean;
  /** Print the handlers' structured JSON lines and metrics as Lambda writes them. */
  verbose?: boolean;
  /** Seconds between request summaries; 0 turns them off. @default 10 */
  summaryEvery?: number;
}

/** Adds the start options to a command. */
export function addStartOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--port <n>',
        `API port (default: PORT, else 3000); the embedded DynamoDB, S3, SQS and model server take the next ${Object.keys(SERVICE_PORT_OFFSETS).length} (0: free ones)`,
      ).argParser((raw) => asPort(raw, '--port')),
    )
    .option('--in-memory', 'keep nothing: the log and queue in memory, the bucket in a temporary folder', false)
    .addOption(
      new Option('--model <dir>', 'model folder to serve (model.json + the ONNX file)').default(DEFAULT_MODEL_DIR, 'models/breast-cancer'),
    )
    .option('--challenger <dir>', 'a second model version beside --model: shadows it (default) or answers --split PERCENT of requests')
    .option('--shadow', 'the challenger runs on every request beside the model; the model answers (the default)')
    .addOption(new Option('--split <percent>', 'the challenger answers this share of requests (1-50)').conflicts('shadow'))
    .option(
      '--auto-promote [settings]',
      "with --split: step the challenger's share up, promote it or roll it back on the log's figures; settings as autoPromote in mlship.config.json (JSON)",
    )
    .option('--access-log', 'print one line per API request', false)
    .option('--verbose', "print the handlers' structured JSON logs and metrics (as in CloudWatch) instead of summaries", false)
    .addOption(new Option('--summary-every <seconds>', 'seconds between request summaries (0: none)').default(10).argParser(asSeconds));
}

/** The flags `addStartOptions` defines, as commander hands them over. */
export interface StartFlags {
  port?: number;
  inMemory: boolean;
  model: string;
  challenger?: string;
  shadow?: boolean;
  split?: string;
  autoPromote?: boolean | string;
  accessLog: boolean;
  verbose: boolean;
  summaryEvery: number;
}

export function startOptionsOf(flags: StartFlags, dataDir: string): RunStartOptions {
  return {
    port: flags.port,
    dataDir,
    inMemory: flags.inMemory,
    modelDir: flags.model,
    challenger: { dir: flags.challenger, shadow: flags.shadow, split: flags.split, autoPromote: flags.autoPromote },
    accessLog: flags.accessLog,
    verbose: flags.verbose,
    summaryEvery: flags.summaryEvery,
  };
}

function asPort(raw: string, what: string): number {
  try {
    return parsePort(raw, what);
  } catch (e) {
    throw new InvalidArgumentError(errorMessage(e));
  }
}

function asSeconds(raw: string): number {
  if (!/^\d{1,5}$/.test(raw)) throw new InvalidArgumentError('--summary-every must be a whole number of seconds.');
  return Number(raw);
}

export function parsePort(raw: string, what: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new Error(`${what} must be a port number from 0 to 65535, got "${raw}"`);
  return Number(raw);
}
