/**
 * Model-quality metrics: what the scheduled quality job publishes and the CloudWatch dashboard and alarms
 * read. They share the namespace of the API's own metrics and carry the Model and ModelVersion dimensions;
 * per-feature drift adds a Feature dimension.
 */
export const QUALITY_METRICS = {
  /** Share of fed-back classifier predictions whose label matched the ground truth (0..1). */
  accuracy: 'Accuracy',
  /** Regression: mean absolute and root-mean-square error of fed-back predictions. */
  mae: 'MeanAbsoluteError',
  rmse: 'RootMeanSquareError',
  /** Predictions of the window that carry feedback (accuracy and error are computed on these). */
  feedbackCount: 'FeedbackCount',
  /** Predictions of the window the job read. */
  windowPredictions: 'WindowPredictions',
  /** Largest per-feature PSI of the window against the training baseline: the drift alarm's metric. */
  maxFeaturePsi: 'MaxFeaturePsi',
  /** PSI of the predicted classes against the training class priors. */
  predictionPsi: 'PredictionPsi',
  /** Per feature (dimension `Feature`): PSI and binned Kolmogorov-Smirnov distance. */
  featurePsi: 'FeaturePsi',
  featureKs: 'FeatureKs',
  /** Per feature: p-value of its drift test (KS for numbers, chi-square for categories), when the sample was large enough. */
  featureDriftPValue: 'FeatureDriftPValue',
  /** Per feature (tabular models): share of logged values that were missing (null), 0..1. */
  featureMissingRate: 'FeatureMissingRate',
  /** Regression: mean of predicted − actual (bias; positive when the model predicts too high) and R². */
  meanError: 'MeanError',
  r2: 'RSquared',
  /** Classifiers: unweighted mean F1 over the labels of fed-back predictions (0..1). */
  macroF1: 'MacroF1',
  /** Share of the features whose drift test rejects "same distribution" (0..1): the drifted-share alarm's metric. */
  driftedFeatureShare: 'DriftedFeatureShare',
  /** P-value of the predictions' drift test: chi-square of the classes against the priors, KS of regression values against the baseline's. */
  predictionDriftPValue: 'PredictionDriftPValue',
  /** Time from a prediction to its first feedback, nearest-rank p50 and p90 (milliseconds). */
  labelDelayP50: 'LabelDelayP50',
  labelDelayP90: 'LabelDelayP90',
  /** Classifiers: F1 of each label weighted by its support (0..1). */
  weightedF1: 'WeightedF1',
  /** Classifiers with probabilities: ROC AUC (binary: the second label's probability; more labels: mean one-vs-rest), 0..1. */
  rocAuc: 'RocAuc',
  /** Classifiers with probabilities: expected calibration error of the predicted label's probability (0..1). */
  calibrationError: 'CalibrationError',
  /** Per class (dimension `Class`): precision, recall and F1 (0..1) and support (fed-back predictions of that true label). */
  classPrecision: 'ClassPrecision',
  classRecall: 'ClassRecall',
  classF1: 'ClassF1',
  classSupport: 'ClassSupport',
  /** Per class, models of three labels or more: one-vs-rest ROC AUC of the label's probability. */
  classRocAuc: 'ClassRocAuc',
} as const;

/** Dimension names the quality metrics carry. */
export const QUALITY_DIMENSIONS = { model: 'Model', modelVersion: 'ModelVersion', feature: 'Feature', class: 'Class' } as const;

/**
 * Per-class metrics are published for at most this many classes (the largest supports): each class is
 * five custom metrics, and a classifier may have thousands of labels.
 */
export const MAX_CLASS_METRICS = 20;

/** Minutes of prediction log the job reads per run, and its default. */
export const DEFAULT_QUALITY_WINDOW_MINUTES = 60;

/** At most this many log items are read per run, so the job's time and cost stay bounded. */
export const MAX_QUALITY_ITEMS = 20_000;

/**
 * Per-feature metrics are published for at most this many features (the ones that drifted most):
 * each is a custom metric with a monthly price, and an image model has one feature per pixel.
 */
export const MAX_FEATURE_METRICS = 30;

/** CloudWatch namespace of every metric the handlers and the quality job publish (EMF). */
export const METRICS_NAMESPACE = 'mlship';

/** Metric (no dimensions) the replay function emits for each dead-lettered log record it parks in the bucket; alarmed on. */
export const PARKED_RECORDS_METRIC = 'ParkedLogRecords';
