/**
 * The one configuration reader of every function, run once at cold start. Each function reads exactly
 * the variables `functionEnv()` names for it (the CDK sets exactly these), and a missing one stops the
 * cold start with a message naming every missing variable, so a misconfigured function never serves a
 * request.
 */

import { type AnyFunctionName, ENV, type EnvName, functionEnv } from '../../contract/env';
import { BACKENDS, type Backend } from '../../contract/limits';

export interface FunctionConfig {
  readonly fn: AnyFunctionName;
  /**
   * The backend from MLSHIP_BACKEND for the functions that declare it (predict, meta). The others are
   * given `fargate` here and never read it.
   */
  readonly backend: Backend;
  /** Every variable `functionEnv()` lists, present and non-empty (see `optional`). */
  readonly values: Readonly<Partial<Record<EnvName, string>>>;
  /**
   * Variables only some backends set, for a function that is not told its backend (the golden-set check
   * calls MLSHIP_MODEL_URL on Fargate only): checked when read, by `required()`.
   */
  readonly optional: readonly EnvName[];
}

export function readConfig(fn: AnyFunctionName, env: NodeJS.ProcessEnv = process.env): FunctionConfig {
  const declaresBackend = BACKENDS.some((b) => functionEnv(fn, b).includes(ENV.BACKEND));
  const backend = declaresBackend ? backendOf(fn, env) : 'fargate';
  // A function that is not told its backend needs what every backend gives it; the rest when it reads them.
  const lists = declaresBackend ? [functionEnv(fn, backend)] : BACKENDS.map((b) => functionEnv(fn, b));
  const names = [...new Set(lists.flat())];
  const always = names.filter((n) => lists.every((l) => l.includes(n)));
  const missing = always.filter((n) => !isSet(env, n));
  if (missing.length > 0) throw missingError(fn, missing);
  const values: Partial<Record<EnvName, string>> = {};
  for (const n of names) if (isSet(env, n)) values[n] = env[n];
  return { fn, backend, values, optional: names.filter((n) => !always.includes(n)) };
}

/** A variable the config holds; asking for one the function does not declare is a programming error. */
export function required(config: FunctionConfig, name: EnvName): string {
  const v = config.values[name];
  if (v !== undefined) return v;
  if (config.optional.includes(name)) throw missingError(config.fn, [name]);
  throw new Error(`${name} is not part of the ${config.fn} function's environment`);
}

/**
 * Optional endpoint overrides, unset in AWS: a bundled function run against local stand-ins (the bundle
 * benchmark and tests) is pointed at them this way. The local runner passes its own clients instead.
 */
export function endpointOverride(
  name: typeof ENV.DYNAMODB_URL | typeof ENV.S3_URL | typeof ENV.SQS_URL | typeof ENV.SAGEMAKER_RUNTIME_URL,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function isSet(env: NodeJS.ProcessEnv, name: EnvName): boolean {
  return env[name] !== undefined && env[name] !== '';
}

function missingError(fn: AnyFunctionName, names: readonly EnvName[]): Error {
  return new Error(`The ${fn} function is missing environment variable(s): ${names.join(', ')}`);
}

function backendOf(fn: AnyFunctionName, env: NodeJS.ProcessEnv): Backend {
  const raw = env[ENV.BACKEND];
  if (raw === undefined || raw === '') throw missingError(fn, [ENV.BACKEND]);
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
