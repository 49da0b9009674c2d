/**
 * Reads a model folder's JSON files, parsed and checked: the manifest (`model.json`) and the drift
 * baseline (`baseline.json`). A file that cannot be read or is not JSON fails with one message naming it;
 * a file that does not fit its schema fails listing every problem. Node only: the dashboard parses what
 * the API sends.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { checkBaselineMatches, type ModelBaseline, parseBaseline } from './baseline';
import { errorMessage } from './errors';
import { type ModelManifest, parseManifest } from './manifest';

/**
 * Reads and checks a manifest. A relative path is taken from `baseDir`: a handler passes its bundle's
 * directory, where the CDK bundling copies `model.json` beside the code.
 */
export function readManifestFile(path: string, baseDir = process.cwd()): ModelManifest {
  const full = absolute(path, baseDir);
  return parseManifest(readJson(full, 'the model manifest'), full);
}

/** Reads and checks a baseline; a missing one is named with where it comes from. */
export function readBaselineFile(path: string, baseDir = process.cwd()): ModelBaseline {
  const full = absolute(path, baseDir);
  if (!existsSync(full)) throw new Error(`The model baseline ${full} does not exist; the training script writes it beside model.json`);
  return parseBaseline(readJson(full, 'the model baseline'), full);
}

/**
 * The model's baseline when the file exists (a model trained without statistics has none); a broken or
 * mismatched one fails.
 */
export function optionalBaseline(manifest: ModelManifest, path: string, baseDir?: string): ModelBaseline | undefined {
  if (!existsSync(absolute(path, baseDir ?? process.cwd()))) return undefined;
  const baseline = readBaselineFile(path, baseDir);
  checkBaselineMatches(manifest, baseline);
  return baseline;
}

function absolute(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

function readJson(full: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(full, 'utf8'));
  } catch (e) {
    throw new Error(`Cannot read ${what} ${full}: ${errorMessage(e)}`);
  }
}
