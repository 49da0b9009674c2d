/**
 * Golden-set check of a new model version before it keeps traffic: a CloudFormation custom resource for
 * SageMaker endpoints, an ECS lifecycle hook for the Fargate service. See lambda/rollout/check.ts.
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { ENV } from '../contract/env';
import { sendResponse } from './rollout/cfn-response';
import {
  decideCustomResource,
  decideLifecycleHook,
  type EcsHookResult,
  type EcsLifecycleHookEvent,
  isCustomResourceEvent,
  loadGoldenSet,
} from './rollout/check';
import { checkRuntimeClient, httpInvoker, sageMakerInvoker } from './rollout/replay';
import { readConfig, required } from './runtime/config';
import { createLogger } from './runtime/logger';

/** Time kept from the function's own timeout to send the answer to CloudFormation (the PUT allows 10 s). */
export const RESPONSE_MARGIN_MS = 15_000;

const config = readConfig('golden-check');
const golden = loadGoldenSet(required(config, ENV.GOLDEN_SET_PATH), __dirname);
const log = createLogger('golden-check');
const sagemaker = checkRuntimeClient();

export async function handler(
  event: CloudFormationCustomResourceEvent | EcsLifecycleHookEvent,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<EcsHookResult | undefined> {
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
  return decideLifecycleHook(event, golden, httpInvoker(required(config, ENV.MODEL_URL)), log);
}
