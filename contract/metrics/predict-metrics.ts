/**
 * The metrics the predict function emits (EMF, namespace METRICS_NAMESPACE), each under two dimension
 * sets: Model and ModelVersion, the version that answered or shadowed the request (the dashboard's row of
 * versions graphs these), and Model alone, whichever version answered (what the model's own graphs and
 * alarms watch, so they follow a promotion made without a deploy).
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
  /** Prediction log records the table refused, sent on to the dead-letter queue. */
  logWriteFailures: 'LogWriteFailures',
  /** Of those, the records the dead-letter queue took. */
  dlqSends: 'DlqSends',
  /**
   * A deploy's own routing state replaced a stored one that named another champion: a promotion made on
   * AWS was undone by a deploy of a config that does not carry it (counted once, by the writer that won).
   */
  routingStateReplaced: 'RoutingStateReplaced',
} as const;

/** Dimensions the predict function adds to some metrics, besides the model's (QUALITY_DIMENSIONS). */
export const PREDICT_DIMENSIONS = {
  /** `Predictions` per predicted label, of a classifier. */
  label: 'Label',
} as const;
