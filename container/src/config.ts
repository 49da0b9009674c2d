/** Server settings from the command line and the environment, read once and checked at start. */
import * as os from 'node:os';
import { ENV } from '../../contract/env';
import { LIMITS } from '../../contract/limits';

export const DEFAULT_PORT = 8080;

export interface ServeSettings {
  readonly port: number;
  /** Worker processes; 0 on the command line or in MLSHIP_WORKERS means one per core. */
  readonly workers: number;
  readonly maxBatchSize: number;
  readonly maxBatchDelayUs: number;
  readonly modelDir?: string;
  /** A challenger hosted beside the model. @default - CHALLENGER_MODEL_DIR or CHALLENGER_MODEL_S3_URI, else none */
  readonly challengerDir?: string;
}

export interface CliFlags {
  readonly port?: string;
  readonly workers?: string;
  readonly model?: string;
  readonly challenger?: string;
}

/** Flags win over the environment; SageMaker's SAGEMAKER_BIND_TO_PORT wins over PORT. */
export function serveSettings(flags: CliFlags, env: NodeJS.ProcessEnv = process.env): ServeSettings {
  const port =
    intSetting('--port', flags.port, 0, 65535) ??
    intSetting(ENV.SAGEMAKER_BIND_TO_PORT, env[ENV.SAGEMAKER_BIND_TO_PORT], 0, 65535) ??
    intSetting(ENV.PORT, env[ENV.PORT], 0, 65535) ??
    DEFAULT_PORT;
  const workers = intSetting('--workers', flags.workers, 0, 1024) ?? intSetting(ENV.WORKERS, env[ENV.WORKERS], 0, 1024) ?? 0;
  return {
    port,
    workers: workers === 0 ? os.availableParallelism() : workers,
    maxBatchSize: intSetting(ENV.MAX_BATCH_SIZE, env[ENV.MAX_BATCH_SIZE], 1, LIMITS.maxRowsPerInvocation) ?? LIMITS.defaultMaxBatchSize,
    maxBatchDelayUs: intSetting(ENV.MAX_BATCH_DELAY_US, env[ENV.MAX_BATCH_DELAY_US], 0, 1_000_000) ?? LIMITS.defaultMaxBatchDelayUs,
    modelDir: flags.model,
    challengerDir: flags.challenger,
  };
}

/** An integer setting, or undefined when unset; a malformed value stops the server with a clear message. */
export function intSetting(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}
