/**
 * Live figures of the hosted versions from the prediction log (`mlship versions`): how many predictions
 * each answered and shadowed, how often the challenger agrees with the champion on the same instances,
 * its quality on the requests that got feedback (the feedback on an answered prediction grades its
 * shadow too), its error rate as a shadow, and latency. Pure arithmetic over records already read.
 */
import { feedbackValue, type PredictionRecord } from '../../contract/prediction-log';
import { type RoutingState, roleOf, type VersionRole, valuesAgree } from '../../contract/versions';
import { percentile } from '../log/summary';

export interface VersionFigures {
  readonly version: string;
  readonly role: VersionRole;
  /** Share of requests (not pinned) this version answers, in percent. */
  readonly trafficPercent: number;
  /** Whether it runs beside the champion on every request. */
  readonly shadowing: boolean;
  /** Predictions it answered (pinned requests included). */
  readonly answered: number;
  /** Shadow predictions it made or failed to make. */
  readonly shadow: number;
  /** Share of its shadow predictions that agree with the answered prediction of the same instance; null without any. */
  readonly agreement: number | null;
  /** Its predictions (answered or shadow) whose instance got feedback. */
  readonly graded: number;
  /** Classification: share of graded predictions that were right. */
  readonly accuracy: number | null;
  /** Regression: mean absolute error of graded predictions. */
  readonly mae: number | null;
  /** Share of its shadow runs that failed or were too slow; null when it ran none. */
  readonly errorRate: number | null;
  readonly latencyMs: { readonly p50: number | null; readonly p99: number | null };
}

function agrees(a: PredictionRecord, b: PredictionRecord): boolean {
  if (a.label !== undefined || b.label !== undefined) return a.label === b.label;
  if (a.predictedValue === undefined || b.predictedValue === undefined) return false;
  return valuesAgree(a.predictedValue, b.predictedValue);
}

/** How far a prediction is from the truth: 0 or 1 for a label, the absolute error for a value; undefined without feedback. */
function gradeOf(p: PredictionRecord, truth: PredictionRecord['feedback']): number | undefined {
  if (truth === undefined) return undefined;
  if (p.label !== undefined) return p.label === truth.label ? 0 : 1;
  // A number, or decimal text on items logged before regression feedback was numeric.
  const value = feedbackValue(truth);
  return p.predictedValue === undefined || value === undefined ? undefined : Math.abs(p.predictedValue - value);
}

export function versionFigures(
  state: RoutingState,
  answered: readonly PredictionRecord[],
  shadows: readonly PredictionRecord[],
  task: 'classification' | 'regression',
): VersionFigures[] {
  const byId = new Map(answered.map((r) => [r.id, r]));
  const versions = [state.champion, ...(state.challenger === undefined ? [] : [state.challenger])];
  return versions.map((version) => {
    const role = roleOf(state, version) ?? 'challenger';
    const own = answered.filter((r) => r.modelVersion === version);
    const shadow = shadows.filter((r) => r.modelVersion === version);
    const made = shadow.filter((r) => r.shadowError === undefined);
    const pairs = made.flatMap((s) => {
      const of = s.shadowOf === undefined ? undefined : byId.get(s.shadowOf);
      return of === undefined ? [] : [{ s, of }];
    });
    const grades = [...own.map((r) => gradeOf(r, r.feedback)), ...pairs.map(({ s, of }) => gradeOf(s, of.feedback))].filter(
      (g): g is number => g !== undefined,
    );
    const mean = grades.length === 0 ? null : grades.reduce((a, b) => a + b, 0) / grades.length;
    const latencies = [...own, ...made].map((r) => r.latencyMs).sort((a, b) => a - b);
    const live = state.challenger !== undefined && state.percent > 0;
    const split = live && state.mode === 'split' ? state.percent : 0;
    return {
      version,
      role,
      trafficPercent: role === 'champion' ? 100 - split : split,
      shadowing: role === 'challenger' && live && state.mode === 'shadow',
      answered: own.length,
      shadow: shadow.length,
      agreement: pairs.length === 0 ? null : pairs.filter(({ s, of }) => agrees(s, of)).length / pairs.length,
      graded: grades.length,
      accuracy: task === 'classification' && mean !== null ? 1 - mean : null,
      mae: task === 'regression' ? mean : null,
      errorRate: shadow.length === 0 ? null : (shadow.length - made.length) / shadow.length,
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
    };
  });
}
