/**
 * The golden set: held-out inputs saved beside each model (`parity.json`) with the training framework's
 * own answers. A new model version takes traffic only when it reproduces them within these tolerances.
 */
export const GOLDEN_SET_FILE = 'parity.json';

export const GOLDEN_TOLERANCE = {
  /** Largest absolute difference allowed in any class probability. */
  probability: 1e-4,
  /** Regression: largest difference allowed, relative to max(1, |expected|). */
  value: 1e-4,
} as const;

/** One golden row: a classification answer (labels in the file's `labels` order) or a regression value. */
export type GoldenRow = { input: number[]; label: string; probabilities: number[] } | { input: number[]; value: number };

export interface GoldenSet {
  /** Class labels in the order of each row's `probabilities` (classification only). */
  labels?: string[];
  rows: GoldenRow[];
}
