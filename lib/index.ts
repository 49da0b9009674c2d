/**
 * mlship's constructs and stacks, for use in another CDK app (docs/deploying.md, "Use the constructs in
 * your own CDK app"). The constructs take what they need as props, with defaults in words, and offer `grant*()` methods
 * returning `iam.Grant`; the stacks and `buildMlshipApp` assemble them the way `cdk deploy` here does.
 */

export {
  COMPACTION_SCHEDULE,
  type GrantQueryOptions,
  PROJECTION_FIRST_DAY,
  PredictionAnalytics,
  type PredictionAnalyticsProps,
} from './analytics/prediction-analytics';
export { AnalyticsStack, type AnalyticsStackProps } from './analytics-stack';
export { InferenceApi, type InferenceApiProps } from './api/inference-api';
export { ApiStack, type ApiStackProps } from './api-stack';
// Batch and monitoring.
export { BatchJobGrants } from './batch/batch-grants';
export { BatchInference, type BatchInferenceProps, type FargateBatchTask, type SageMakerBatchModel } from './batch/batch-inference';
export { ConfigError, configSchema, loadConfig, type MlshipConfig, parseConfig } from './config';
export {
  DataBucketAccess,
  DataBucketGrants,
  LogDlqAccess,
  LogDlqGrants,
  PredictionLogAccess,
  PredictionLogGrants,
} from './constructs/data-grants';
// Functions and grants.
export { HandlerFunction, type HandlerFunctionProps, QUALITY_FUNCTION } from './constructs/handler-function';
export { acknowledgeWildcardResource } from './constructs/nag';
export { PredictionLog, type PredictionLogProps } from './data/prediction-log';
export { DataStack, type DataStackProps } from './data-stack';
export { contextFromParts, type DeploymentContext, deploymentContext, PACKAGE_ROOT } from './deployment-context';
// The whole system, as bin/mlship.ts builds it.
export { type BuildOptions, buildMlshipApp, type MlshipStacks, servingStackName } from './mlship-app';
export { MonitoringStack, type MonitoringStackProps } from './monitoring-stack';
export {
  ModelMonitoring,
  type ModelMonitoringProps,
  type MonitoredBackend,
  type QualityThresholds,
} from './observability/model-monitoring';
export { QualityFunction, type QualityFunctionProps } from './observability/quality-function';
export { GoldenSetCheck, type GoldenSetCheckProps } from './rollout/golden-set-check';
// Serving.
export { FargateModelService, type FargateModelServiceProps, REQUESTS_PER_TASK_PER_MINUTE } from './serving/fargate-model-service';
export type { ModelBackend, ModelIdentity, RolloutCheck, RolloutCheckPlacement, SageMakerCheckTarget } from './serving/model-backend';
export { ModelImage, type ModelImageProps } from './serving/model-image';
export {
  CONTAINER_PORT,
  DEFAULT_VPC_AZS,
  type DefaultVpcOptions,
  LISTENER_PORT,
  ModelNetwork,
  type ModelNetworkProps,
  TEST_LISTENER_PORT,
} from './serving/model-network';
export { ModelPackage, type ModelPackageProps } from './serving/model-package';
export {
  type RealtimeCapacity,
  SageMakerModelEndpoint,
  type SageMakerModelEndpointProps,
  type ServerlessCapacity,
} from './serving/sagemaker-model-endpoint';
export { ServingStack, type ServingStackProps } from './serving-stack';
