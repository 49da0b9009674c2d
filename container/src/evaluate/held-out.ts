/**
 * A held-out set as the training contract writes it: CSV with a header row naming the manifest's features
 * (any order) and the answer column, `label` for a classifier and `target` for a regressor.
 */
import { readFileSync } from 'node:fs';
import { parseCsv } from '../../../contract/csv';
import { cellValue, type ModelManifest, packsFloat32, type Row } from '../../../contract/manifest';

export const LABEL_COLUMN = 'label';
export const TARGET_COLUMN = 'target';

export interface HeldOutSet {
  rows: Row[];
  /** The answer of each row: a label, or a number for a regressor. */
  answers: (string | number)[];
}

/** The answer column of a model: `label` for classifiers, `target` for regressors. */
export function answerColumn(m: ModelManifest): string {
  return m.output.kind === 'regression' ? TARGET_COLUMN : LABEL_COLUMN;
}

/** Reads the held-out CSV for `manifest`'s features; throws naming the file and line on a bad cell. */
export function readHeldOut(file: string, manifest: ModelManifest, maxRows = 1_000_000): HeldOutSet {
  if (manifest.input.kind !== 'tabular') throw new Error('Held-out evaluation needs a tabular model (CSV rows of features).');
  const features = manifest.input.features;
  const [header, ...records] = parseCsv(readFileSync(file, 'utf8'), maxRows + 1);
  if (header === undefined) throw new Error(`${file} is empty: it needs a header row.`);
  const answer = answerColumn(manifest);
  const at = new Map(header.cells.map((c, i) => [c, i]));
  const missing = [...features.map((f) => f.name), answer].filter((c) => !at.has(c));
  if (missing.length > 0) throw new Error(`${file}: the header lacks ${missing.join(', ')}.`);
  const rows: Row[] = [];
  const answers: (string | number)[] = [];
  for (const r of records) {
    const where = `${file} line ${r.line + 1}`;
    if (r.cells.length !== header.cells.length)
      throw new Error(`${where}: ${r.cells.length} cells, the header has ${header.cells.length}.`);
    const values = features.map((f) => cellValue(f, r.cells[at.get(f.name) as number] as string, where));
    rows.push(packsFloat32(manifest) ? Float32Array.from(values as number[]) : values);
    const raw = r.cells[at.get(answer) as number] as string;
    const value = answer === TARGET_COLUMN ? Number(raw) : raw;
    if (typeof value === 'number' && (raw === '' || !Number.isFinite(value)))
      throw new Error(`${where}: target is "${raw}", not a number.`);
    answers.push(value);
  }
  return { rows, answers };
}
