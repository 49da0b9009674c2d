/**
 * What the versions' figures are made of, read from the prediction log over a window: the answered
 * predictions of a model and its shadow predictions, as records (`shadowRecordsOf`).
 */
import { type PredictionRecord, shadowLogModel, shadowRecordsOf } from '../../contract/prediction-log';
import type { PredictionLogStore } from '../log/prediction-log-store';

export interface VersionsWindow {
  readonly answered: PredictionRecord[];
  readonly shadows: PredictionRecord[];
  /** A partition held more items in the window than `maxItems`. */
  readonly truncated: boolean;
}

/**
 * Shadow predictions come from two places: inside the answered items (how they are logged now), and
 * the `<model>#shadow` partition, where earlier releases logged each as an item of its own. That
 * second source is still read, so a window spanning an upgrade counts both; it empties as those items
 * expire, and costs one empty query then.
 */
export async function readVersionsWindow(
  log: PredictionLogStore,
  model: string,
  from: Date,
  to: Date,
  maxItems: number,
): Promise<VersionsWindow> {
  const [answered, apart] = await Promise.all([
    log.readWindow(model, from, to, maxItems),
    log.readWindow(shadowLogModel(model), from, to, maxItems),
  ]);
  return {
    answered: answered.records,
    shadows: [...shadowRecordsOf(answered.records), ...apart.records],
    truncated: answered.truncated || apart.truncated,
  };
}
