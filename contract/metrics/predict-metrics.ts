/**
 * The metrics the predict function emits (EMF, namespace METRICS_NAMESPACE), each with the Model and
 * ModelVersion dimensions of the version that answered or shadowed the request; the dashboard graphs
 * them per version.
 */
export const PREDICT_METRICS = {
  /** Predictions answered (also per `Label` for a classifier). */
  predictions: 'Predictions',
  /** Milliseconds of the answering version's model call. */
  backendLatency: 'BackendLatency',
  /** Model calls of the answering version that failed (5xx, not the caller's mistakes). */
  backendErrors: 'BackendErrors',
  /** Instances a shadow version failed to predict, or did not predict in time. */
  shadowErrors: 'ShadowErrors',
  /** Answers holding NaN or Infinity. */
  nonFiniteOutputs: 'NonFiniteOutputs',
  /** Answers from a model version the function does not check bodies for. */
  modelVersionMismatches: 'ModelVersionMismatches',
} as const;
