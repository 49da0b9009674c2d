/** An instance to show in the ready-to-paste curl: a held-out row of the model's parity file, else neutral values. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FeatureValue, featureCount, type ModelManifest, validateInstances } from '../contract/manifest';

export function exampleInstance(modelDir: string, manifest: ModelManifest): unknown {
  const parity = join(modelDir, 'parity.json');
  if (existsSync(parity)) {
    const rows = (JSON.parse(readFileSync(parity, 'utf8')) as { rows?: { input?: unknown }[] }).rows;
    const input = rows?.[0]?.input;
    if (input !== undefined && accepted(manifest, input)) return input;
  }
  if (manifest.input.kind !== 'tabular') return new Array<number>(featureCount(manifest)).fill(0);
  return manifest.input.features.map((f): FeatureValue => (f.type === 'string' ? (f.values?.[0] ?? 'a') : f.type === 'bool' ? false : 0));
}

function accepted(manifest: ModelManifest, input: unknown): boolean {
  try {
    validateInstances(manifest, { instances: [input] }, { maxInstances: 1 });
    return true;
  } catch {
    return false;
  }
}

/** A curl line a person can paste to see a prediction. */
export function exampleCurl(url: string, apiKey: string, instance: unknown): string {
  const body = JSON.stringify({ instances: [instance] });
  return `curl -s -X POST ${url}/predict -H 'x-api-key: ${apiKey}' -H 'content-type: application/json' -d '${body}'`;
}
