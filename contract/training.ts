/**
 * The retraining loop's shared terms: the metrics a candidate and the champion are compared on (the ones
 * the monitor computes, `contract/metrics/`), the hand-over policy and its defaults, the limits of a run
 * and the shape of a registered version's `evaluation.json`. `mlship train`, the container's `evaluate`
 * command and the training state machine all read them from here.
 */

/** Held-out metrics of one model: accuracy, macro F1 and ROC AUC for a classifier; MAE, RMSE and R² for a regressor. */
export type HeldOutMetrics =
  | { kind: 'classification'; count: number; accuracy: number | null; macroF1: number | null; rocAuc: number | null }
  | { kind: 'regression'; count: number; mae: number; rmse: number; r2: number | null };

/**
 * How much worse than the champion a candidate may be and still be handed over. Classifier metrics are
 * compared as absolute differences (0.02 = two points of accuracy); regression errors relative to the
 * champion's (0.05 = 5 % more MAE).
 */
export interface HandOverPolicy {
  accuracy: number;
  macroF1: number;
  rocAuc: number;
  /** Relative increase of MAE and RMSE allowed. */
  errorIncrease: number;
  r2: number;
  /** Fewest held-out rows a decision is made on. */
  minHeldOutRows: number;
}

/** The policy's defaults, in one place (`mlship.config.json`'s `training.policy` overrides them field by field). */
export const DEFAULT_HAND_OVER_POLICY: Readonly<HandOverPolicy> = Object.freeze({
  accuracy: 0.02,
  macroF1: 0.02,
  rocAuc: 0.02,
  errorIncrease: 0.05,
  r2: 0.02,
  minHeldOutRows: 20,
});

/** Limits of one training run. */
export const TRAINING_LIMITS = {
  /** Longest a local `train.py` may run before it is stopped. */
  localMaxRuntimeSeconds: 900,
  /** Output of train.py kept for the report (its tail). */
  logTailBytes: 16_000,
  /** Share of the dataset held out when there is no labeled traffic to hold out. */
  heldOutShare: 0.2,
  /** Share of the labeled traffic (the most recent) held out when it is included. */
  trafficHeldOutShare: 0.3,
} as const;

export interface Verdict {
  /** True when the candidate is not worse than the champion by more than the policy allows. */
  handOver: boolean;
  /** Why not (empty when handOver), one sentence per failed comparison. */
  reasons: string[];
}

const fmt = (x: number) => x.toFixed(4);

/**
 * The hand-over decision: every metric both models have is compared; a missing champion (a first version)
 * leaves only the candidate's own checks (parity, enough rows).
 */
export function judgeCandidate(
  candidate: HeldOutMetrics,
  champion: HeldOutMetrics | undefined,
  policy: HandOverPolicy = DEFAULT_HAND_OVER_POLICY,
): Verdict {
  const reasons: string[] = [];
  if (candidate.count < policy.minHeldOutRows)
    reasons.push(`only ${candidate.count} held-out rows; the policy decides on at least ${policy.minHeldOutRows}`);
  if (champion !== undefined && champion.kind !== candidate.kind)
    reasons.push(`the candidate is a ${candidate.kind} model, the champion a ${champion.kind} model`);
  else if (champion?.kind === 'classification' && candidate.kind === 'classification') {
    for (const m of ['accuracy', 'macroF1', 'rocAuc'] as const) {
      const c = candidate[m];
      const b = champion[m];
      if (b === null) continue;
      if (c === null) reasons.push(`the candidate has no ${m} on the held-out set (the champion's is ${fmt(b)})`);
      else if (c < b - policy[m]) reasons.push(`${m} ${fmt(c)} is below the champion's ${fmt(b)} by more than ${policy[m]}`);
    }
  } else if (champion?.kind === 'regression' && candidate.kind === 'regression') {
    for (const m of ['mae', 'rmse'] as const) {
      const limit = champion[m] * (1 + policy.errorIncrease);
      if (candidate[m] > limit)
        reasons.push(`${m} ${fmt(candidate[m])} exceeds the champion's ${fmt(champion[m])} by more than ${policy.errorIncrease * 100} %`);
    }
    if (champion.r2 !== null && (candidate.r2 === null || candidate.r2 < champion.r2 - policy.r2))
      reasons.push(
        `R² ${candidate.r2 === null ? 'undefined' : fmt(candidate.r2)} is below the champion's ${fmt(champion.r2)} by more than ${policy.r2}`,
      );
  }
  return { handOver: reasons.length === 0, reasons };
}

/** Checks a policy override and merges it over the defaults; every problem in one error. */
export function handOverPolicy(overrides: Partial<Record<string, unknown>> = {}): HandOverPolicy {
  const problems: string[] = [];
  const out: HandOverPolicy = { ...DEFAULT_HAND_OVER_POLICY };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in DEFAULT_HAND_OVER_POLICY))
      problems.push(`"${k}" is not a policy field (${Object.keys(DEFAULT_HAND_OVER_POLICY).join(', ')})`);
    else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) problems.push(`"${k}" must be a number ≥ 0, got ${JSON.stringify(v)}`);
    else out[k as keyof HandOverPolicy] = v;
  }
  if (problems.length > 0) throw new Error(`training.policy: ${problems.join('; ')}.`);
  return out;
}

/** The parity check of a candidate: its own parity vectors through onnxruntime-node. */
export interface ParityResult {
  passed: boolean;
  rows: number;
  maxDifference: number;
  /** describeVerdict's sentence when it failed. */
  detail?: string;
}

/** `evaluation.json` of a registered version: what was compared, on what, made from what. */
export interface Evaluation {
  model: string;
  version: string;
  /** The champion the candidate was compared with (the model's version when the run started). */
  parentVersion: string | null;
  createdAt: string;
  heldOut: { rows: number; source: string };
  candidate: HeldOutMetrics;
  champion: HeldOutMetrics | null;
  parity: ParityResult;
  verdict: Verdict;
  policy: HandOverPolicy;
  snapshot: { sha256: string; uri: string; trainRows: number; heldOutRows: number; sources: string[] };
  code: { trainPySha256: string };
  parameters: Record<string, string>;
  libraries: Record<string, string>;
}
