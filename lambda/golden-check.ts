/**
 * The golden-set check's entry (a CloudFormation custom resource for SageMaker endpoints, an ECS
 * lifecycle hook for the Fargate service): its dependencies built once per container from the
 * environment the CDK sets, and the handler of lambda/rollout/handler.ts.
 */
import { createGoldenCheckHandler, goldenCheckDepsFromEnv } from './rollout/handler';

export const handler = createGoldenCheckHandler(goldenCheckDepsFromEnv(process.env, __dirname));
