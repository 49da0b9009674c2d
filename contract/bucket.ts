/** Key prefixes of the data bucket. Each IAM grant names one of these, never the whole bucket. */
export const PREFIX = {
  datasets: 'datasets/',
  models: 'models/',
  batchInput: 'batch/input/',
  batchOutput: 'batch/output/',
  predictions: 'predictions/',
} as const;

/** Where a model version's package lives: `models/<name>/<version>/model.tar.gz`. */
export function modelPackageKey(name: string, version: string): string {
  return `${PREFIX.models}${name}/${version}/model.tar.gz`;
}

/** Where a large prediction input is kept: `predictions/<model>/<yyyy-mm-dd>/<predictionId>.json`. */
export function predictionInputKey(model: string, isoTimestamp: string, predictionId: string): string {
  return `${PREFIX.predictions}${model}/${isoTimestamp.slice(0, 10)}/${predictionId}.json`;
}
