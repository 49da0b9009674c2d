/**
 * The default alert thresholds of model monitoring, in one place. The quality job, the dashboard and the
 * report read them through `qualityThresholds(overrides)`, so a user's configuration replaces single
 * values and everything else keeps these.
 */
import { PSI_SIGNIFICANT } from '../drift';

export interface QualityThresholds {
  /** Alert when accuracy falls more than this (absolute, 0..1) below the baseline's held-out accuracy. */
  readonly accuracyDrop: number;
  /** Alert when macro-averaged F1 falls more than this (absolute, 0..1) below the baseline's held-out macro F1. */
  readonly macroF1Drop: number;
  /** Alert when MAE exceeds the baseline's held-out MAE times this factor (> 1). */
  readonly maeRatio: number;
  /** Alert when at least this share of the tested features drifted (AWS's own Model Monitor replacement sample alarms at 30 %). */
  readonly driftedFeatureShare: number;
  /** A drift test (KS, chi-square) whose p-value is below this counts its feature as drifted. */
  readonly driftPValue: number;
  /** PSI at or above this is a significant shift (the conventional reading: < 0.1 stable, 0.1–0.25 moderate). */
  readonly psi: number;
  /**
   * Fewer values (or fed-back predictions) than this answer "insufficient data" instead of a drift or
   * quality verdict. 100 because PSI over 10 bins averages about (bins − 1) / n with no drift at all:
   * 0.09 at n = 100, 0.3 at n = 30, which is already over the PSI threshold.
   */
  readonly minimumSample: number;
  /** Equal-width bins of the reliability (calibration) curve. */
  readonly calibrationBins: number;
}

export const DEFAULT_QUALITY_THRESHOLDS: QualityThresholds = Object.freeze({
  accuracyDrop: 0.05,
  macroF1Drop: 0.05,
  maeRatio: 1.25,
  driftedFeatureShare: 0.3,
  driftPValue: 0.05,
  psi: PSI_SIGNIFICANT,
  minimumSample: 100,
  calibrationBins: 10,
});

/** What each threshold may be, with the words the error uses. */
const RULES: Record<keyof QualityThresholds, { ok: (v: number) => boolean; expected: string }> = {
  accuracyDrop: { ok: (v) => v > 0 && v < 1, expected: 'between 0 and 1 (exclusive)' },
  macroF1Drop: { ok: (v) => v > 0 && v < 1, expected: 'between 0 and 1 (exclusive)' },
  maeRatio: { ok: (v) => v > 1, expected: 'greater than 1' },
  driftedFeatureShare: { ok: (v) => v > 0 && v <= 1, expected: 'above 0 and at most 1' },
  driftPValue: { ok: (v) => v > 0 && v < 1, expected: 'between 0 and 1 (exclusive)' },
  psi: { ok: (v) => v > 0, expected: 'greater than 0' },
  minimumSample: { ok: (v) => Number.isInteger(v) && v >= 2, expected: 'a whole number of at least 2' },
  calibrationBins: { ok: (v) => Number.isInteger(v) && v >= 2 && v <= 100, expected: 'a whole number from 2 to 100' },
};

/** The defaults with `overrides` laid over them; every out-of-range or unknown value is named in one error. */
export function qualityThresholds(overrides: Partial<Record<string, number>> = {}): QualityThresholds {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const rule = RULES[name as keyof QualityThresholds] as (typeof RULES)[keyof QualityThresholds] | undefined;
    if (rule === undefined) problems.push(`unknown threshold "${name}" (known: ${Object.keys(RULES).join(', ')})`);
    else if (typeof value !== 'number' || !Number.isFinite(value) || !rule.ok(value))
      problems.push(`${name} must be ${rule.expected}, got ${String(value)}`);
  }
  if (problems.length > 0) throw new Error(`Invalid quality thresholds:\n  - ${problems.join('\n  - ')}`);
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return Object.freeze({ ...DEFAULT_QUALITY_THRESHOLDS, ...defined });
}
