/**
 * The quality job's configuration, read once at cold start: every variable QUALITY_FUNCTION_ENV names
 * must be set, and the manifest and baseline must parse and agree, or the function fails before its
 * first run instead of publishing nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { checkBaselineMatches, type ModelBaseline, parseBaseline } from '../../contract/baseline';
import { ENV, type EnvName } from '../../contract/env';
import { errorMessage } from '../../contract/errors';
import type { ModelManifest } from '../../contract/manifest';
import { QUALITY_FUNCTION_ENV } from '../../contract/quality';
import { loadManifest } from '../commons/manifest';

export interface QualityConfig {
  table: string;
  manifest: ModelManifest;
  baseline: ModelBaseline;
  windowMinutes: number;
}

export function readQualityConfig(env: NodeJS.ProcessEnv, baseDir: string): QualityConfig {
  const missing = QUALITY_FUNCTION_ENV.filter((n) => env[n] === undefined || env[n] === '');
  if (missing.length > 0) throw new Error(`The quality function is missing environment variable(s): ${missing.join(', ')}`);
  const get = (n: EnvName) => env[n] as string;
  const rawWindow = get(ENV.QUALITY_WINDOW_MINUTES);
  if (!/^\d+$/.test(rawWindow) || Number(rawWindow) < 1 || Number(rawWindow) > 7 * 24 * 60) {
    throw new Error(`${ENV.QUALITY_WINDOW_MINUTES} must be a whole number of minutes from 1 to 10080; got "${rawWindow}"`);
  }
  const manifest = loadManifest(get(ENV.MODEL_MANIFEST_PATH), baseDir);
  const baseline = loadBaseline(get(ENV.MODEL_BASELINE_PATH), baseDir);
  checkBaselineMatches(manifest, baseline);
  return { table: get(ENV.PREDICTION_TABLE), manifest, baseline, windowMinutes: Number(rawWindow) };
}

export function loadBaseline(path: string, baseDir: string): ModelBaseline {
  const full = isAbsolute(path) ? path : resolve(baseDir, path);
  if (!existsSync(full)) throw new Error(`The model baseline ${full} does not exist; the training script writes it beside model.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(full, 'utf8'));
  } catch (e) {
    throw new Error(`Cannot read the model baseline ${full}: ${errorMessage(e)}`);
  }
  return parseBaseline(raw, full);
}
