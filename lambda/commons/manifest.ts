import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { errorMessage } from '../../contract/errors';
import { type ModelManifest, parseManifest } from '../../contract/manifest';

/**
 * Loads the served model's manifest once. A relative path is taken from the directory of the running
 * bundle: the CDK bundling copies `model.json` beside the handler code.
 */
export function loadManifest(path: string, baseDir: string): ModelManifest {
  const full = isAbsolute(path) ? path : resolve(baseDir, path);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(full, 'utf8'));
  } catch (e) {
    throw new Error(`Cannot read the model manifest ${full}: ${errorMessage(e)}`);
  }
  return parseManifest(raw, full);
}
