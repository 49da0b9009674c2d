/**
 * Writes synthetic tabular datasets for the batch tests and benchmark: rows drawn around each feature's
 * training mean and spread (from the model's `baseline.json`), an `id` column first, optionally with
 * bad rows mixed in at known positions. Deterministic for a seed, written in a stream (no whole-file
 * buffering), so a million rows cost no more memory than a hundred.
 */

import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BASELINE_FILE, isCategorical, type NumericFeatureBaseline, parseBaseline } from '../../contract/baseline';

export interface DatasetOptions {
  /** Model directory whose `baseline.json` gives the feature names and spreads. */
  readonly modelDir: string;
  readonly rows: number;
  readonly format: 'csv' | 'jsonl';
  /** Every `badEvery`-th row (1-based) is made invalid in a rotating way. @default - no bad rows */
  readonly badEvery?: number;
  /** @default 1 */
  readonly seed?: number;
}

export interface DatasetInfo {
  readonly path: string;
  readonly rows: number;
  /** Ids of the rows made invalid, with the error code the contract gives them. */
  readonly bad: ReadonlyMap<string, string>;
  readonly featureNames: readonly string[];
}

/** Small, fast, seeded generator (mulberry32): the same seed gives the same file everywhere. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ways a row is broken, and the contract error code each one must be rejected with. */
const BREAKAGES: ReadonlyArray<{
  code: string;
  csv: (cells: string[]) => string[];
  json: (o: Record<string, unknown>, names: readonly string[]) => Record<string, unknown>;
}> = [
  { code: 'INVALID_FEATURE_TYPE', csv: (c) => c.map((v, i) => (i === 3 ? 'abc' : v)), json: (o, n) => ({ ...o, [n[2]]: 'abc' }) },
  { code: 'WRONG_FEATURE_COUNT', csv: (c) => c.slice(0, -2), json: (o, n) => dropKey(o, n[n.length - 1]) },
  { code: 'NON_FINITE_NUMBER', csv: (c) => c.map((v, i) => (i === 5 ? 'NaN' : v)), json: (o, n) => ({ ...o, [n[4]]: 1e39 }) },
  { code: 'INVALID_FEATURE_TYPE', csv: (c) => c.map((v, i) => (i === 1 ? '' : v)), json: (o, n) => ({ ...o, [n[1]]: null }) },
];

function dropKey(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...o };
  delete copy[key];
  return copy;
}

/** Breakage codes for JSON rows differ where JSON has no such mistake (a missing key, not a short row). */
const JSON_CODES = ['INVALID_FEATURE_TYPE', 'MISSING_FEATURE', 'NON_FINITE_NUMBER', 'INVALID_FEATURE_TYPE'];

export async function writeDataset(file: string, opts: DatasetOptions): Promise<DatasetInfo> {
  const baseline = parseBaseline(JSON.parse(readFileSync(path.join(opts.modelDir, BASELINE_FILE), 'utf8')));
  // The batch bench generates numeric datasets (the breast-cancer model).
  const features = baseline.features.filter((f): f is NumericFeatureBaseline => !isCategorical(f));
  const names = features.map((f) => f.name);
  const rand = random(opts.seed ?? 1);
  const out = createWriteStream(file);
  const bad = new Map<string, string>();
  if (opts.format === 'csv') out.write(`id,${names.join(',')}\n`);

  let buf = '';
  let broken = 0;
  for (let r = 1; r <= opts.rows; r++) {
    const id = `r${r}`;
    const cells = features.map((f) => {
      // Sum of three uniforms: a cheap bell curve, clamped to the training range.
      const z = (rand() + rand() + rand() - 1.5) * 2;
      const v = Math.min(f.max, Math.max(f.min, f.mean + z * f.std));
      return f.max >= 100 ? v.toFixed(2) : f.max >= 1 ? v.toFixed(3) : v.toFixed(5);
    });
    const breakage = opts.badEvery && r % opts.badEvery === 0 ? broken++ % BREAKAGES.length : -1;
    if (opts.format === 'csv') {
      const row = breakage >= 0 ? BREAKAGES[breakage].csv(cells) : cells;
      if (breakage >= 0) bad.set(id, BREAKAGES[breakage].code);
      buf += `${id},${row.join(',')}\n`;
    } else {
      let o: Record<string, unknown> = { id };
      for (const [i, n] of names.entries()) o[n] = Number(cells[i]);
      if (breakage >= 0) {
        o = BREAKAGES[breakage].json(o, names);
        bad.set(id, JSON_CODES[breakage]);
      }
      buf += `${JSON.stringify(o)}\n`;
    }
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return { path: file, rows: opts.rows, bad, featureNames: names };
}
