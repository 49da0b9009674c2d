/**
 * Compares a model's answers on the golden set with the expected ones. Pure: no I/O, so the same code
 * decides in the deployment hook, in the tests and anywhere else a version is vetted.
 */

import type { Prediction } from './prediction';
import { GOLDEN_TOLERANCE, type GoldenRow, type GoldenSet } from './rollout';

export interface Mismatch {
  row: number;
  /** `label`, `probabilities.<label>`, `value` or `prediction` (missing / wrong kind). */
  field: string;
  expected: string | number;
  actual: string | number | null;
}

export interface GoldenVerdict {
  passed: boolean;
  rows: number;
  /** Largest probability (or relative value) difference seen over all rows. */
  maxDifference: number;
  /** The first mismatches, enough to say what went wrong (the count is in `mismatchCount`). */
  mismatches: Mismatch[];
  mismatchCount: number;
}

const MAX_REPORTED = 10;

/** Reads a `parity.json` document, or throws naming what is wrong with it. */
export function parseGoldenSet(raw: unknown): GoldenSet {
  const o = raw as Partial<GoldenSet> | null;
  if (!o || typeof o !== 'object' || !Array.isArray(o.rows) || o.rows.length === 0) {
    throw new Error('A golden set is {"labels"?: [...], "rows": [{"input": [...], ...}]} with at least one row.');
  }
  o.rows.forEach((r, i) => {
    const ok =
      Array.isArray(r?.input) &&
      (('label' in r &&
        typeof r.label === 'string' &&
        Array.isArray(r.probabilities) &&
        r.probabilities.length === (o.labels ?? []).length) ||
        ('value' in r && typeof r.value === 'number'));
    if (!ok) throw new Error(`Golden row ${i} needs "input" and either "label" + one probability per label, or "value".`);
  });
  return { labels: o.labels, rows: o.rows };
}

/** Checks `predictions[i]` against `set.rows[i]`: labels equal, probabilities and values within tolerance. */
export function compareGolden(set: GoldenSet, predictions: readonly Prediction[], tolerance = GOLDEN_TOLERANCE): GoldenVerdict {
  const mismatches: Mismatch[] = [];
  let maxDifference = 0;
  if (predictions.length !== set.rows.length) {
    mismatches.push({ row: -1, field: 'predictions', expected: set.rows.length, actual: predictions.length });
  }
  set.rows.forEach((want, i) => {
    const got = predictions[i];
    const found = compareRow(want, got, set.labels ?? [], tolerance);
    maxDifference = Math.max(maxDifference, found.difference);
    for (const m of found.mismatches) mismatches.push({ row: i, ...m });
  });
  return {
    passed: mismatches.length === 0,
    rows: set.rows.length,
    maxDifference,
    mismatches: mismatches.slice(0, MAX_REPORTED),
    mismatchCount: mismatches.length,
  };
}

function compareRow(
  want: GoldenRow,
  got: Prediction | undefined,
  labels: string[],
  tolerance: typeof GOLDEN_TOLERANCE,
): { difference: number; mismatches: Omit<Mismatch, 'row'>[] } {
  if ('value' in want) {
    if (!got || !('value' in got) || typeof got.value !== 'number') {
      return { difference: Infinity, mismatches: [{ field: 'prediction', expected: want.value, actual: null }] };
    }
    const difference = Math.abs(got.value - want.value) / Math.max(1, Math.abs(want.value));
    return { difference, mismatches: difference > tolerance.value ? [{ field: 'value', expected: want.value, actual: got.value }] : [] };
  }
  if (!got || !('label' in got)) return { difference: Infinity, mismatches: [{ field: 'prediction', expected: want.label, actual: null }] };
  const mismatches: Omit<Mismatch, 'row'>[] = [];
  if (got.label !== want.label) mismatches.push({ field: 'label', expected: want.label, actual: got.label });
  let difference = 0;
  for (const [j, label] of labels.entries()) {
    const expected = want.probabilities[j];
    if (expected === undefined) {
      // parseGoldenSet accepts only rows with one probability per label.
      throw new Error(`A golden row has ${want.probabilities.length} probabilities for ${labels.length} labels.`);
    }
    const served = got.probabilities?.[label];
    // A missing or non-numeric probability is as wrong as a drifted one (NaN fails every comparison).
    const d = typeof served === 'number' ? Math.abs(served - expected) : Infinity;
    difference = Math.max(difference, Number.isNaN(d) ? Infinity : d);
    if (!(d <= tolerance.probability)) mismatches.push({ field: `probabilities.${label}`, expected, actual: served ?? null });
  }
  return { difference, mismatches };
}

/** One line for logs and CloudFormation's status reason (which keeps only the first ~4 KB). */
export function describeVerdict(v: GoldenVerdict): string {
  if (v.passed) return `Golden set passed: ${v.rows} rows, largest difference ${v.maxDifference.toExponential(2)}.`;
  const shown = v.mismatches
    .slice(0, 3)
    .map((m) => `row ${m.row} ${m.field}: expected ${m.expected}, got ${m.actual}`)
    .join('; ');
  return `Golden set failed: ${v.mismatchCount} mismatch(es) over ${v.rows} rows (${shown}).`;
}
