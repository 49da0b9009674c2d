/** What the model server answers for each instance, and what `POST /predict` passes on. */
export type Prediction =
  | { label: string; probabilities: Record<string, number> }
  | { value: number };

/** Body of a model server `POST /invocations` answer (application/json). */
export interface InvocationResponse {
  predictions: Prediction[];
  model: { name: string; version: string };
}

/** Header the model server sets with the served `<name>/<version>`, so callers see what answered. */
export const MODEL_VERSION_HEADER = 'x-mlship-model';

/** Body of a `POST /predict` answer: each instance's prediction with the id it is logged under. */
export interface PredictResponse {
  predictions: (Prediction & { id: string })[];
  model: { name: string; version: string };
}

/**
 * How long the caller will still wait, in milliseconds, so the model server can abandon work nobody
 * waits for: a request header on the Fargate path, a `key=value` in SageMaker's custom attributes.
 */
export const DEADLINE_HEADER = 'x-mlship-deadline-ms';
export const DEADLINE_ATTRIBUTE = 'mlship-deadline-ms';
/** SageMaker passes `CustomAttributes` to the container in this header. */
export const SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER = 'x-amzn-sagemaker-custom-attributes';
