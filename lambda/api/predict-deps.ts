/**
 * What the predict function is built from (`PredictDeps`), and those dependencies as the CDK configures
 * the function: config from the environment, AWS clients, the backend and, with a challenger, the
 * routing state. Tests and the local system build their own.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../contract/env';
import type { Backend as BackendKind } from '../../contract/limits';
import type { ModelManifest } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { parseChallengerSetting, REGISTRY_CHALLENGER } from '../../contract/versions';
import { operatorKeyIds } from '../http/tenancy';
import type { DeadLetterQueue } from '../log/log-writer';
import { logTableClient, PredictionLogStore } from '../log/prediction-log-store';
import type { Backend } from '../model/backend';
import { fargateBackend } from '../model/fargate-backend';
import type { StoredInputs } from '../model/inputs';
import { sagemakerBackend } from '../model/sagemaker-backend';
import { dynamoOptions, s3Options, sqsOptions } from '../runtime/clients';
import { endpointOverride, intValue, readConfig, required } from '../runtime/config';
import { lazyS3, lazySqs } from '../runtime/lazy-clients';
import { createLogger, type Logger } from '../runtime/logger';
import { Metrics } from '../runtime/metrics';
import { type RoutingStore, TableRoutingStore } from '../versions/routing-store';
import { type VersionsDeps, versionsDeps } from './versions-routing';

export interface PredictDeps {
  readonly manifest: ModelManifest;
  /** Which backend serves the model (it sets the body limit). */
  readonly backendKind: BackendKind;
  readonly backend: Backend;
  readonly log: PredictionLogStore;
  readonly deadLetters: DeadLetterQueue;
  /** The data bucket: inputs given as keys, inputs too large to log inline. */
  readonly inputs: StoredInputs;
  /** Days a log item is kept (0: forever). */
  readonly ttlDays: number;
  /** @default - a logger of the predict function */
  readonly logger?: Logger;
  /** @default - EMF lines with the model's dimensions */
  readonly metrics?: Metrics;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** A challenger hosted beside the champion, and the routing state that says who answers. @default - the champion only */
  readonly versions?: VersionsDeps;
}

/** The predict function's dependencies as the CDK configures it: config from `env`, AWS clients. */
export function predictDepsFromEnv(env: NodeJS.ProcessEnv, baseDir: string): PredictDeps {
  const config = readConfig('predict', env);
  const backendKind = config.backend;
  const manifest = readManifestFile(required(config, ENV.MODEL_MANIFEST_PATH), baseDir);
  const table = required(config, ENV.PREDICTION_TABLE);
  // One logger and one metrics sink for the handler and its versions routing alike.
  const logger = createLogger('predict', { model: manifest.name, modelVersion: manifest.version, backend: backendKind });
  const metrics = new Metrics({ name: manifest.name, version: manifest.version });
  return {
    manifest,
    backendKind,
    logger,
    metrics,
    backend:
      backendKind === 'fargate'
        ? fargateBackend({ url: required(config, ENV.MODEL_URL) })
        : sagemakerBackend({
            endpointName: required(config, ENV.SAGEMAKER_ENDPOINT),
            serverless: backendKind === 'sagemaker-serverless',
            runtimeUrl: endpointOverride(ENV.SAGEMAKER_RUNTIME_URL, env),
          }),
    // One attempt per SDK call: the log writer runs its own bounded retries before dead-lettering.
    log: new PredictionLogStore(logTableClient(dynamoOptions(env, 1)), table),
    deadLetters: { sqs: lazySqs(sqsOptions(env)), url: required(config, ENV.LOG_DLQ_URL) },
    inputs: {
      s3: lazyS3(s3Options(env)),
      bucket: required(config, ENV.DATA_BUCKET),
      operatorKeyIds: operatorKeyIds(required(config, ENV.OPERATOR_KEY_IDS)),
    },
    ttlDays: intValue(config, ENV.LOG_TTL_DAYS),
    versions: challengerVersions(
      required(config, ENV.CHALLENGER),
      manifest,
      () => new TableRoutingStore(new DynamoDBClient(dynamoOptions(env)), table, manifest.name),
      { logger, metrics },
    ),
  };
}

/**
 * The champion and challenger side by side, when the deployment hosts a challenger (docs/versions.md)
 * or a training run may hand a registered one over (`registry`, docs/retraining.md).
 */
function challengerVersions(
  setting: string,
  manifest: ModelManifest,
  store: () => RoutingStore,
  telemetry: { logger: Logger; metrics: Metrics },
): VersionsDeps | undefined {
  const challenger = parseChallengerSetting(setting);
  if (challenger === undefined && setting !== REGISTRY_CHALLENGER) return undefined;
  return versionsDeps({ store: store(), champion: manifest.version, challenger, ...telemetry });
}
