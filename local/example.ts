/**
 * The ready-to-paste curl of the start banner. Its row is real data: a held-out row of the model's
 * parity file, else each feature's training median (or most common value) from its baseline. A model
 * folder with neither gets a request to send one of the user's own rows instead of made-up values,
 * which would get a confident answer about nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BASELINE_FILE,
  type CategoricalFeatureBaseline,
  type FeatureBaseline,
  isCategorical,
  type NumericFeatureBaseline,
  parseBaseline,
} from '../contract/baseline';
import { type FeatureValue, featureCount, type ModelManifest, validateInstances } from '../contract/manifest';
import { GOLDEN_SET_FILE } from '../contract/rollout';

export interface ExampleRow {
  instance: unknown;
  /** Where the row comes from, as the banner says it. */
  from: string;
}

export function exampleRow(modelDir: string, manifest: ModelManifest): ExampleRow | undefined {
  const input = readJson(join(modelDir, GOLDEN_SET_FILE), (raw) => (raw as { rows?: { input?: unknown }[] }).rows?.[0]?.input);
  if (input !== undefined && accepted(manifest, input)) return { instance: input, from: `the first row of ${GOLDEN_SET_FILE}` };
  const typical = readJson(join(modelDir, BASELINE_FILE), (raw) => typicalRow(manifest, parseBaseline(raw).features));
  if (typical !== undefined && accepted(manifest, typical))
    return { instance: typical, from: `each feature's training median or most common value (${BASELINE_FILE})` };
  return undefined;
}

/** A file's JSON through `pick`; undefined when the file is missing or unreadable (the banner then asks for a row). */
function readJson<T>(file: string, pick: (raw: unknown) => T | undefined): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return pick(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/** Each tabular feature's median (from the decile bins) or most common category, typed as the manifest says. */
function typicalRow(manifest: ModelManifest, features: FeatureBaseline[]): FeatureValue[] | undefined {
  if (manifest.input.kind !== 'tabular' || features.length !== manifest.input.features.length) return undefined;
  return manifest.input.features.map((f, i): FeatureValue => {
    const b = features[i] as FeatureBaseline;
    if (isCategorical(b)) return f.type === 'bool' ? mostCommon(b) === 'true' : mostCommon(b);
    return f.type === 'int' ? Math.round(median(b)) : median(b);
  });
}

/** The upper edge of the bin that holds the middle training row (the lower one for the open top bin). */
function median(b: NumericFeatureBaseline): number {
  let share = 0;
  for (let i = 0; i < b.proportions.length; i++) {
    share += b.proportions[i] ?? 0;
    if (share >= 0.5) return b.edges[i] ?? b.edges[i - 1] ?? b.mean;
  }
  return b.mean;
}

function mostCommon(b: CategoricalFeatureBaseline): string {
  let best = 0;
  for (let i = 1; i < b.categories.length; i++) if ((b.proportions[i] ?? 0) > (b.proportions[best] ?? 0)) best = i;
  return b.categories[best] ?? '';
}

function accepted(manifest: ModelManifest, input: unknown): boolean {
  try {
    validateInstances(manifest, { instances: [input] }, { maxInstances: 1 });
    return true;
  } catch {
    return false;
  }
}

/** The banner's lines for trying a prediction: a curl a person can paste, or how to send a row of their own. */
export function exampleLines(url: string, apiKey: string, manifest: ModelManifest, example: ExampleRow | undefined): string[] {
  const curl = `curl -s -X POST ${url}/predict -H 'x-api-key: ${apiKey}' -H 'content-type: application/json'`;
  if (example !== undefined)
    return [`Try a prediction (${example.from}):`, `  ${curl} -d '${JSON.stringify({ instances: [example.instance] })}'`];
  const shape =
    manifest.input.kind === 'tabular'
      ? `[${manifest.input.features.length} values in the order ${manifest.input.features.map((f) => f.name).join(', ')}]`
      : `[${featureCount(manifest)} pixel values] or {"b64": "<a PNG or JPEG, base64>"}`;
  return [
    `Try a prediction: the model folder has no ${GOLDEN_SET_FILE} or ${BASELINE_FILE} to take an example row from. Put one of your rows`,
    `in row.json as {"instances": [ROW]}, ROW being ${shape}, and send it:`,
    `  ${curl} -d @row.json`,
  ];
}
