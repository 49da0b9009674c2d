/**
 * Names of the environment variables the runtime code reads, and which function reads which. The CDK
 * stacks set them, the handlers and the container server read them, and the local runner sets them for
 * its in-process handlers.
 */
import type { Backend } from './limits';

export const ENV = {
  /** DynamoDB table that holds the prediction log. */
  PREDICTION_TABLE: 'MLSHIP_PREDICTION_TABLE',
  /** S3 bucket for datasets, model artifacts, batch files and large prediction inputs. */
  DATA_BUCKET: 'MLSHIP_DATA_BUCKET',
  /** `fargate` | `sagemaker` | `sagemaker-serverless`. */
  BACKEND: 'MLSHIP_BACKEND',
  /** Base URL of the model server (the Fargate service's internal load balancer, or a local server). */
  MODEL_URL: 'MLSHIP_MODEL_URL',
  /** SageMaker endpoint name (sagemaker backends). */
  SAGEMAKER_ENDPOINT: 'MLSHIP_SAGEMAKER_ENDPOINT',
  /** Override of the SageMaker runtime endpoint URL (local stand-in only). */
  SAGEMAKER_RUNTIME_URL: 'MLSHIP_SAGEMAKER_RUNTIME_URL',
  /** SQS queue that receives log records the table refused, for replay. */
  LOG_DLQ_URL: 'MLSHIP_LOG_DLQ_URL',
  /**
   * Path of the served model's manifest (`model.json`), absolute or relative to the handler bundle's
   * directory: the CDK bundling copies it beside the code, so handlers validate without a network call
   * and without Lambda's 4 KB environment limit.
   */
  MODEL_MANIFEST_PATH: 'MLSHIP_MODEL_MANIFEST_PATH',
  /**
   * Comma-separated API key ids of the operator keys (their own usage plan): they see every caller's
   * predictions and the metrics; any other key sees only its own predictions.
   */
  OPERATOR_KEY_IDS: 'MLSHIP_OPERATOR_KEY_IDS',
  /**
   * Predict function: the challenger the model server hosts beside the champion, as JSON
   * `{"version","mode","percent"}` (contract/versions.ts), or `none`, or `registry` (none at deploy; a
   * training run may hand one over).
   */
  CHALLENGER: 'MLSHIP_CHALLENGER',
  /** Days a prediction log item is kept; `0` keeps it forever. */
  LOG_TTL_DAYS: 'MLSHIP_LOG_TTL_DAYS',
  /** Override of the DynamoDB endpoint URL (local only). */
  DYNAMODB_URL: 'MLSHIP_DYNAMODB_URL',
  /** Override of the S3 endpoint URL (local only; path-style addressing is used). */
  S3_URL: 'MLSHIP_S3_URL',
  /** Override of the SQS endpoint URL (local only). */
  SQS_URL: 'MLSHIP_SQS_URL',
  /** Container: where to load the model from on Fargate (`s3://bucket/models/<name>/<version>/model.tar.gz` or a prefix). */
  MODEL_S3_URI: 'MODEL_S3_URI',
  /** Container: directory holding `model.json` and the ONNX file (SageMaker mounts `/opt/ml/model`). */
  MODEL_DIR: 'MODEL_DIR',
  /** Container: the challenger hosted beside the champion (docs/versions.md), as a package in S3 or a directory. */
  CHALLENGER_MODEL_S3_URI: 'CHALLENGER_MODEL_S3_URI',
  CHALLENGER_MODEL_DIR: 'CHALLENGER_MODEL_DIR',
  /**
   * Container: the model's registry prefix (`s3://bucket/models/<name>/`). A request naming a version
   * the server does not host loads it from `<prefix><version>/` when it is registered (docs/retraining.md).
   */
  MODEL_REGISTRY_S3_URI: 'MLSHIP_MODEL_REGISTRY_S3_URI',
  /** Container: listening port (SageMaker sets SAGEMAKER_BIND_TO_PORT). */
  PORT: 'PORT',
  SAGEMAKER_BIND_TO_PORT: 'SAGEMAKER_BIND_TO_PORT',
  /** Container: micro-batching — maximum rows per `session.run`, maximum wait in microseconds (0 turns batching off). */
  MAX_BATCH_SIZE: 'MLSHIP_MAX_BATCH_SIZE',
  MAX_BATCH_DELAY_US: 'MLSHIP_MAX_BATCH_DELAY_US',
  /** Container: worker processes (`0` = one per core). */
  WORKERS: 'MLSHIP_WORKERS',
  /** Quality job: path of the model's `baseline.json`, absolute or relative to the bundle (copied beside it like the manifest). */
  MODEL_BASELINE_PATH: 'MLSHIP_MODEL_BASELINE_PATH',
  /** Quality job: minutes of prediction log read per run. */
  QUALITY_WINDOW_MINUTES: 'MLSHIP_QUALITY_WINDOW_MINUTES',
  /** Quality job: its thresholds as JSON, the same ones the alarms compare with (read through `qualityThresholds`). */
  QUALITY_THRESHOLDS: 'MLSHIP_QUALITY_THRESHOLDS',
  /**
   * Quality job: the automatic promotion policy it evaluates each run, as JSON (contract/promotion.ts),
   * or `none` (no challenger, or `autoPromote` off).
   */
  PROMOTION_POLICY: 'MLSHIP_PROMOTION_POLICY',
  /** Quality job: the alarm topic its promotion decisions are published to. */
  ALARM_TOPIC_ARN: 'MLSHIP_ALARM_TOPIC_ARN',
  /**
   * Meta function: folder of the built web dashboard (`web/dist`), absolute or relative to the bundle
   * (the CDK bundling copies it beside the code as `dashboard/`).
   */
  DASHBOARD_DIR: 'MLSHIP_DASHBOARD_DIR',
  /** Golden-set check: path of the model's `parity.json`, absolute or relative to the bundle (copied beside it). */
  GOLDEN_SET_PATH: 'MLSHIP_GOLDEN_SET_PATH',
  /**
   * Query function: the Athena workgroup and Glue database that answer summary windows over 24 h, or
   * `ANALYTICS_OFF` in both when the deployment has no analytics store (`-c analytics=false`).
   */
  ANALYTICS_WORKGROUP: 'MLSHIP_ANALYTICS_WORKGROUP',
  ANALYTICS_DATABASE: 'MLSHIP_ANALYTICS_DATABASE',
  /** JWT authorizer: the issuer its tokens must carry (`iss`). */
  JWT_ISSUER: 'MLSHIP_JWT_ISSUER',
  /** JWT authorizer: the accepted audiences (`aud` or `client_id`), comma-separated. */
  JWT_AUDIENCE: 'MLSHIP_JWT_AUDIENCE',
  /** JWT authorizer: the address of the issuer's signing keys (JWKS). */
  JWT_JWKS_URI: 'MLSHIP_JWT_JWKS_URI',
} as const;

/** The value of the analytics variables on a deployment without the analytics store. */
export const ANALYTICS_OFF = 'off';

/** The value of MLSHIP_OPERATOR_KEY_IDS for a function that no operator key calls (an app without the API's keys). */
export const NO_OPERATOR_KEYS = 'none';

export type EnvName = (typeof ENV)[keyof typeof ENV];

/**
 * Functions that answer the API or follow its writes: the API's handlers, the dead-letter replayer, the
 * analytics writer and its compactor (all run in-process by `npm start`).
 */
export const FUNCTION_NAMES = ['predict', 'query', 'feedback', 'meta', 'replay', 'analytics-writer', 'analytics-compactor'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** The scheduled model-quality job. */
export type ScheduledFunctionName = 'quality';

/** Functions CloudFormation or ECS run during a deployment, not the API. */
export type DeploymentFunctionName = 'golden-check';

/** API Gateway's authorizer of bearer tokens (auth mode `jwt` with an OIDC issuer; docs/auth.md). */
export type AuthorizerFunctionName = 'jwt-authorizer';

/** The retraining loop's step that puts an accepted version in the shadow (the Training stack's). */
export type TrainingFunctionName = 'hand-over';

/** Every function the CDK app deploys. */
export type AnyFunctionName = FunctionName | ScheduledFunctionName | DeploymentFunctionName | AuthorizerFunctionName | TrainingFunctionName;

/**
 * The one registry of what each function reads, for a backend. The stacks set exactly these on each
 * function, the functions' one config reader (lambda/runtime/config.ts) fails the cold start naming every
 * missing one, the local runner gives each a value, and tests check all of them agree.
 */
const FUNCTION_ENV: Record<AnyFunctionName, (backend: Backend) => EnvName[]> = {
  predict: (backend) => [
    ENV.PREDICTION_TABLE,
    ENV.DATA_BUCKET,
    ENV.BACKEND,
    backend === 'fargate' ? ENV.MODEL_URL : ENV.SAGEMAKER_ENDPOINT,
    ENV.LOG_DLQ_URL,
    ENV.MODEL_MANIFEST_PATH,
    ENV.LOG_TTL_DAYS,
    ENV.CHALLENGER,
    // Operators may send any stored input back as an s3Key; other keys only their own.
    ENV.OPERATOR_KEY_IDS,
  ],
  query: () => [ENV.PREDICTION_TABLE, ENV.MODEL_MANIFEST_PATH, ENV.OPERATOR_KEY_IDS, ENV.ANALYTICS_WORKGROUP, ENV.ANALYTICS_DATABASE],
  feedback: () => [ENV.PREDICTION_TABLE, ENV.MODEL_MANIFEST_PATH, ENV.OPERATOR_KEY_IDS],
  // The baseline file itself is optional (GET /model includes it when present); its path is not.
  meta: () => [ENV.MODEL_MANIFEST_PATH, ENV.BACKEND, ENV.MODEL_BASELINE_PATH, ENV.DASHBOARD_DIR],
  replay: () => [ENV.PREDICTION_TABLE, ENV.LOG_DLQ_URL, ENV.DATA_BUCKET],
  // Fed by the table's stream: it writes Parquet to the bucket and never calls the table.
  'analytics-writer': () => [ENV.DATA_BUCKET, ENV.MODEL_MANIFEST_PATH],
  // Rewrites closed days of the Parquet store; the manifest names the model's partition and its columns,
  // the baseline (optional, as for meta) the bins of each closed day's feature counts.
  'analytics-compactor': () => [ENV.DATA_BUCKET, ENV.MODEL_MANIFEST_PATH, ENV.MODEL_BASELINE_PATH],
  quality: () => [
    ENV.PREDICTION_TABLE,
    ENV.MODEL_MANIFEST_PATH,
    ENV.MODEL_BASELINE_PATH,
    ENV.QUALITY_WINDOW_MINUTES,
    ENV.QUALITY_THRESHOLDS,
    ENV.PROMOTION_POLICY,
    ENV.ALARM_TOPIC_ARN,
  ],
  // The SageMaker endpoint comes with the custom resource's properties; on Fargate the check calls the
  // load balancer's test listener at MLSHIP_MODEL_URL.
  'jwt-authorizer': () => [ENV.JWT_ISSUER, ENV.JWT_AUDIENCE, ENV.JWT_JWKS_URI],
  'golden-check': (backend) => (backend === 'fargate' ? [ENV.GOLDEN_SET_PATH, ENV.MODEL_URL] : [ENV.GOLDEN_SET_PATH]),
  // Writes the routing item; the deployed state (manifest and challenger) stands in for one not stored yet.
  'hand-over': () => [ENV.PREDICTION_TABLE, ENV.MODEL_MANIFEST_PATH, ENV.CHALLENGER],
};

/** The environment a function reads on a backend. */
export function functionEnv(fn: AnyFunctionName, backend: Backend): EnvName[] {
  return FUNCTION_ENV[fn](backend);
}
