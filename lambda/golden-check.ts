/**
 * Golden-set check of a new model version before it keeps traffic: a CloudFormation custom resource for
 * SageMaker endpoints, an ECS lifecycle hook for the Fargate service. See lambda/rollout/check.ts.
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { ENV } from '../contract/env';
import { createLogger } from './commons/logger';
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

/** Time kept from the function's own timeout to send the answer to CloudFormation (the PUT allows 10 s). */
export const RESPONSE_MARGIN_MS = 15_000;

const goldenSetPath = process.env[ENV.GOLDEN_SET_PATH];
if (!goldenSetPath) throw new Error(`The golden-check function is missing environment variable ${ENV.GOLDEN_SET_PATH}`);
const golden = loadGoldenSet(goldenSetPath, __dirname);
const log = createLogger('golden-check');
const sagemaker = checkRuntimeClient();

export async function handler(
  event: CloudFormationCustomResourceEvent | EcsLifecycleHookEvent,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<EcsHookResult | void> {
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
    return;
  }
  // Fargate: the test listener reaches only the new (green) tasks.
  const modelUrl = process.env[ENV.MODEL_URL];
  if (!modelUrl) throw new Error(`The golden-check function is missing environment variable ${ENV.MODEL_URL} (the test listener)`);
  return decideLifecycleHook(event, golden, httpInvoker(modelUrl), log);
}
