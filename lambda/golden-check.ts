/**
 * Golden-set check of a new model version before it keeps traffic: a CloudFormation custom resource for
 * SageMaker endpoints, an ECS lifecycle hook for the Fargate service. See lambda/rollout/check.ts.
 */
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { ENV } from '../contract/env';
import { createLogger } from './commons/logger';
import { sendResponse } from './rollout/cfn-response';
import { EcsHookResult, EcsLifecycleHookEvent, decideCustomResource, decideLifecycleHook, isCustomResourceEvent, loadGoldenSet } from './rollout/check';
import { httpInvoker, sageMakerInvoker } from './rollout/replay';

const goldenSetPath = process.env[ENV.GOLDEN_SET_PATH];
if (!goldenSetPath) throw new Error(`The golden-check function is missing environment variable ${ENV.GOLDEN_SET_PATH}`);
const golden = loadGoldenSet(goldenSetPath, __dirname);
const log = createLogger('golden-check');
const sagemaker = new SageMakerRuntimeClient({});

export async function handler(event: CloudFormationCustomResourceEvent | EcsLifecycleHookEvent): Promise<EcsHookResult | void> {
  if (isCustomResourceEvent(event)) {
    const response = await decideCustomResource(event, golden, (name) => sageMakerInvoker(sagemaker, name), log.child({ requestId: event.RequestId }));
    await sendResponse(event.ResponseURL, response);
    return;
  }
  // Fargate: the test listener reaches only the new (green) tasks.
  const modelUrl = process.env[ENV.MODEL_URL];
  if (!modelUrl) throw new Error(`The golden-check function is missing environment variable ${ENV.MODEL_URL} (the test listener)`);
  return decideLifecycleHook(event, golden, httpInvoker(modelUrl), log);
}
