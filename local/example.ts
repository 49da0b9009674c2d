/** An instance to show in the ready-to-paste curl: a held-out row of the model's parity file, else zeros. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { featureCount, type ModelManifest } from '../contract/manifest';

export function exampleInstance(modelDir: string, manifest: ModelManifest): number[] {
  const parity = join(modelDir, 'parity.json');
  if (existsSync(parity)) {
    const rows = (JSON.parse(readFileSync(parity, 'utf8')) as { rows?: { input?: unknown }[] }).rows;
    const input = rows?.[0]?.input;
    if (Array.isArray(input) && input.length === featureCount(manifest) && input.every((v) => typeof v === 'number')) return input as number[];
  }
  return new Array<number>(featureCount(manifest)).fill(0);
}

/** A curl line a person can paste to see a prediction. */
export function exampleCurl(url: string, apiKey: string, instance: number[]): string {
  const body = JSON.stringify({ instances: [instance] });
  return `curl -s -X POST ${url}/predict -H 'x-api-key: ${apiKey}' -H 'content-type: application/json' -d '${body}'`;
}
