/**
 * Evaluation of a trained candidate against the champion, the one code path of `mlship train` on this
 * machine and of the container's `evaluate` command in a SageMaker Processing job:
 * - the candidate is loaded as the model server loads it (`loadModel`: its manifest checked against its
 *   ONNX signature, a test prediction), so a version that would not serve is never registered;
 * - its parity vectors (`parity.json`, the training framework's own answers) are replayed through
 *   onnxruntime-node and compared as the deployment's golden-set check compares them;
 * - both models answer the held-out set and are scored with the monitor's metrics (contract/metrics);
 * - the hand-over policy (contract/training.ts) decides.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../../contract/errors';
import { compareGolden, describeVerdict, parseGoldenSet } from '../../../contract/golden';
import { type ModelManifest, packsFloat32 } from '../../../contract/manifest';
import { classificationMetrics } from '../../../contract/metrics/classification';
import { regressionMetrics } from '../../../contract/metrics/regression';
import { classifierAuc } from '../../../contract/metrics/roc-auc';
import type { Prediction } from '../../../contract/prediction';
import { GOLDEN_SET_FILE } from '../../../contract/rollout';
import {
  DEFAULT_HAND_OVER_POLICY,
  type HandOverPolicy,
  type HeldOutMetrics,
  judgeCandidate,
  type ParityResult,
  type Verdict,
} from '../../../contract/training';
import { type LoadedModel, loadModel } from '../model';
import { type HeldOutSet, readHeldOut } from './held-out';

/** Scores predictions against the held-out answers with the monitor's metrics. */
export function heldOutMetrics(
  manifest: ModelManifest,
  answers: HeldOutSet['answers'],
  predictions: readonly Prediction[],
): HeldOutMetrics {
  if (manifest.output.kind === 'regression') {
    const pairs = predictions.map((p, i) => ({ predicted: 'value' in p ? p.value : Number.NaN, actual: answers[i] as number }));
    const m = regressionMetrics(pairs);
    if (m === undefined) throw new Error('The held-out set has no rows.');
    return { kind: 'regression', count: m.count, mae: m.mae, rmse: m.rmse, r2: m.r2 };
  }
  const labels = manifest.output.labels ?? [];
  const pairs = predictions.map((p, i) => ({ predicted: 'label' in p ? p.label : '', actual: String(answers[i]) }));
  const c = classificationMetrics(labels, pairs);
  const auc = classifierAuc(
    labels,
    predictions.map((p, i) => ({ actual: String(answers[i]), probabilities: 'probabilities' in p ? p.probabilities : {} })),
  );
  return {
    kind: 'classification',
    count: c.count,
    accuracy: c.accuracy,
    macroF1: c.macroF1,
    rocAuc: auc.kind === 'binary' ? auc.auc : auc.macro,
  };
}

/** A loaded model's metrics on the held-out CSV (read for that model's features). */
export async function scoreOn(model: LoadedModel, heldOutCsv: string): Promise<HeldOutMetrics> {
  const set = readHeldOut(heldOutCsv, model.manifest);
  return heldOutMetrics(model.manifest, set.answers, await model.run(set.rows));
}

/** The model folder's parity vectors replayed through onnxruntime-node; a folder without parity.json fails. */
export async function checkParity(model: LoadedModel): Promise<ParityResult> {
  const file = join(model.dir, GOLDEN_SET_FILE);
  if (!existsSync(file))
    return { passed: false, rows: 0, maxDifference: 0, detail: `${GOLDEN_SET_FILE} is missing: train.py must write it.` };
  const set = parseGoldenSet(JSON.parse(readFileSync(file, 'utf8')));
  const predictions = await model.run(set.rows.map((r) => (packsFloat32(model.manifest) ? Float32Array.from(r.input) : r.input)));
  const verdict = compareGolden(set, predictions);
  return {
    passed: verdict.passed,
    rows: verdict.rows,
    maxDifference: verdict.maxDifference,
    ...(verdict.passed ? {} : { detail: describeVerdict(verdict) }),
  };
}

export interface CandidateEvaluation {
  candidate: HeldOutMetrics;
  champion: HeldOutMetrics | null;
  parity: ParityResult;
  verdict: Verdict;
  policy: HandOverPolicy;
}

export interface EvaluateOptions {
  /** The trained model folder (model.json, the ONNX file, parity.json). */
  candidateDir: string;
  /** The model serving now; none for a first version. */
  championDir?: string;
  /** CSV of the held-out rows (features + label/target). */
  heldOutCsv: string;
  policy?: HandOverPolicy;
}

/** Loads the candidate as the server does, checks its parity, scores both models and decides. */
export async function evaluateCandidate(opts: EvaluateOptions): Promise<CandidateEvaluation> {
  const policy = opts.policy ?? DEFAULT_HAND_OVER_POLICY;
  let candidateModel: LoadedModel;
  try {
    candidateModel = await loadModel(opts.candidateDir);
  } catch (e) {
    throw new Error(`The trained model would not serve: ${errorMessage(e)}`);
  }
  try {
    const parity = await checkParity(candidateModel);
    const candidate = await scoreOn(candidateModel, opts.heldOutCsv);
    let champion: HeldOutMetrics | null = null;
    if (opts.championDir !== undefined) {
      const championModel = await loadModel(opts.championDir);
      try {
        champion = await scoreOn(championModel, opts.heldOutCsv);
      } finally {
        await championModel.close();
      }
    }
    const judged = judgeCandidate(candidate, champion ?? undefined, policy);
    const reasons = parity.passed ? judged.reasons : [`parity: ${parity.detail}`, ...judged.reasons];
    return { candidate, champion, parity, verdict: { handOver: reasons.length === 0, reasons }, policy };
  } finally {
    await candidateModel.close();
  }
}
