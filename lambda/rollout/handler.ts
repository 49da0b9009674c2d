/**
 * Golden-set check of a new model version before it keeps traffic: a CloudFormation custom resource for
 * SageMaker endpoints, an ECS lifecycle hook for the Fargate service. See lambda/rollout/check.ts.
 */
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { ENV } from '../../contract/env';
import { readConfig, required } from '../runtime/config';
import { createLogger, type Logger } from '../runtime/logger';
import { sendResponse } from './cfn-response';
import {
  decideCustomResource,
  decideLifecycleHook,
  type EcsHookResult,
  type EcsLifecycleHookEvent,
  isCustomResourceEvent,
  type LoadedGoldenSet,
  loadGoldenSet,
} from './check';
import { checkRuntimeClient, httpInvoker, sageMakerInvoker } from './replay';

/** Time kept from the function's own timeout to send the answer to CloudFormation (the PUT allows 10 s). */
export const RESPONSE_MARGIN_MS = 15_000;

export interface GoldenCheckDeps {
  readonly golden: LoadedGoldenSet;
  /** The test listener of the Fargate service; read only when a lifecycle hook calls (SageMaker has none). */
  readonly modelUrl: () => string;
  readonly sagemaker: SageMakerRuntimeClient;
  /** @default - a logger of the golden-set check */
  readonly logger?: Logger;
}

/** The check's dependencies as the CDK configures it: config from `env`, a SageMaker runtime client. */
export function goldenCheckDepsFromEnv(env: NodeJS.ProcessEnv, baseDir: string): GoldenCheckDeps {
  const config = readConfig('golden-check', env);
  return {
    golden: loadGoldenSet(required(config, ENV.GOLDEN_SET_PATH), baseDir),
    modelUrl: () => required(config, ENV.MODEL_URL),
    sagemaker: checkRuntimeClient(),
  };
}

export type GoldenCheckHandler = (
  event: CloudFormationCustomResourceEvent | EcsLifecycleHookEvent,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
) => Promise<EcsHookResult | undefined>;

export function createGoldenCheckHandler(deps: GoldenCheckDeps): GoldenCheckHandler {
  const { golden, sagemaker } = deps;
  const log = deps.logger ?? createLogger('golden-check');
  return async (event, context) => {
    if (isCustomResourceEvent(event)) {
      // CloudFormation waits for an answer: FAILED must be sent before Lambda stops the function.
      const deadline = Date.now() + context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS;
      const response = await decideCustomResource(
        event,
        golden,
        (name, signal) => sageMakerInvoker(sagemaker, name, signal),
        log.child({ requestId: event.RequestId }),
        deadline,
      );
      await sendResponse(event.ResponseURL, response);
      // The answer went to CloudFormation's URL; Lambda's own result is not read.
      return undefined;
    }
    // Fargate: the test listener reaches only the new (green) tasks.
    return decideLifecycleHook(event, golden, httpInvoker(deps.modelUrl()), log);
  };
}
