/**
 * The analytics compactor's entry (on a schedule): its dependencies built once per container from the
 * environment the CDK sets, and the handler of lambda/analytics/compactor.ts.
 */
import { analyticsCompactorDepsFromEnv, createAnalyticsCompactor } from './analytics/compactor';

export const handler = createAnalyticsCompactor(analyticsCompactorDepsFromEnv(process.env, __dirname));
