/**
 * Configuration of a function, read once at cold start. Each function reads exactly the variables
 * `functionEnv()` names for it (the CDK sets exactly these), and a missing one stops the cold start with
 * a message naming every missing variable, so a misconfigured function never serves a request.
 */

import { ENV, type EnvName, type FunctionName, functionEnv } from '../../contract/env';
import { BACKENDS, type Backend } from '../../contract/limits';

export interface FunctionConfig {
  readonly fn: FunctionName;
  /**
   * The backend from MLSHIP_BACKEND for predict and meta, the functions that declare it. The others'
   * environment is the same for every backend, so they get `fargate` here and never read it.
   */
  readonly backend: Backend;
  /** Every variable `functionEnv()` lists, present and non-empty. */
  readonly values: Readonly<Partial<Record<EnvName, string>>>;
}

export function readConfig(fn: FunctionName, env: NodeJS.ProcessEnv = process.env): FunctionConfig {
  const backend = backendOf(fn, env);
  const names = functionEnv(fn, backend);
  const missing = names.filter((n) => env[n] === undefined || env[n] === '');
  if (missing.length > 0) {
    throw new Error(`The ${fn} function is missing environment variable(s): ${missing.join(', ')}`);
  }
  const values: Partial<Record<EnvName, string>> = {};
  for (const n of names) values[n] = env[n];
  return { fn, backend, values };
}

/** A variable the config holds; asking for one the function does not declare is a programming error. */
export function required(config: FunctionConfig, name: EnvName): string {
  const v = config.values[name];
  if (v === undefined) throw new Error(`${name} is not part of the ${config.fn} function's environment`);
  return v;
}

/** Optional endpoint overrides for the local stand-ins; unset in AWS. */
export function endpointOverride(
  name: typeof ENV.DYNAMODB_URL | typeof ENV.S3_URL | typeof ENV.SQS_URL | typeof ENV.SAGEMAKER_RUNTIME_URL,
): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

function backendOf(fn: FunctionName, env: NodeJS.ProcessEnv): Backend {
  // Only predict and meta declare the backend; the others' variables do not depend on it.
  if (fn !== 'predict' && fn !== 'meta') return 'fargate';
  const raw = env[ENV.BACKEND];
  if (raw === undefined || raw === '') throw new Error(`The ${fn} function is missing environment variable(s): ${ENV.BACKEND}`);
  if (!(BACKENDS as readonly string[]).includes(raw)) {
    throw new Error(`${ENV.BACKEND} must be one of ${BACKENDS.join(', ')}; got "${raw}"`);
  }
  return raw as Backend;
}

/** Non-negative integer variable (e.g. TTL days). */
export function intValue(config: FunctionConfig, name: EnvName): number {
  const raw = required(config, name);
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a non-negative integer; got "${raw}"`);
  return Number(raw);
}
