/**
 * The quality job's entry (an EventBridge rule, e.g. every 15 minutes): its dependencies built once per
 * container from the environment the CDK sets, and the handler of lambda/quality/job.ts.
 */
import { createQualityHandler, qualityDepsFromEnv } from './quality/job';

export const handler = createQualityHandler(qualityDepsFromEnv(process.env, __dirname));
