/**
 * What the model server answers for each instance, and what `POST /predict` passes on. The zod schemas
 * are the types the code uses and, through `z.toJSONSchema`, the response schemas of the OpenAPI document.
 */
import * as z from 'zod/mini';

export const classificationPredictionSchema = z.object({
  label: z.string().check(z.describe('The most probable label.')),
  probabilities: z.record(z.string(), z.number()).check(z.describe('Probability of each label.')),
});
export const regressionPredictionSchema = z.object({ value: z.number() });
export const predictionSchema = z.union([classificationPredictionSchema, regressionPredictionSchema]);
export type Prediction = z.output<typeof predictionSchema>;

export const modelRefSchema = z.object({ name: z.string(), version: z.string() });

/** Body of a model server `POST /invocations` answer (application/json). */
export const invocationResponseSchema = z.object({ predictions: z.array(predictionSchema), model: modelRefSchema });
export type InvocationResponse = z.output<typeof invocationResponseSchema>;

/** Header the model server sets with the served `<name>/<version>`, so callers see what answered. */
export const MODEL_VERSION_HEADER = 'x-mlship-model';

/** Body of a `POST /predict` answer: each instance's prediction with the id it is logged under. */
export const predictResponseSchema = z.object({
  predictions: z.array(
    z.union([z.extend(classificationPredictionSchema, { id: z.string() }), z.extend(regressionPredictionSchema, { id: z.string() })]),
  ),
  model: modelRefSchema,
});
export type PredictResponse = z.output<typeof predictResponseSchema>;

/**
 * How long the caller will still wait, in milliseconds, so the model server can abandon work nobody
 * waits for: a request header on the Fargate path, a `key=value` in SageMaker's custom attributes.
 */
export const DEADLINE_HEADER = 'x-mlship-deadline-ms';
export const DEADLINE_ATTRIBUTE = 'mlship-deadline-ms';
/** SageMaker passes `CustomAttributes` to the container in this header. */
export const SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER = 'x-amzn-sagemaker-custom-attributes';
