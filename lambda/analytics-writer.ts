/**
 * The analytics writer's entry (fed by the prediction log's DynamoDB stream): its dependencies built once
 * per container from the environment the CDK sets, and the handler of lambda/analytics/writer.ts.
 */
import { analyticsWriterDepsFromEnv, createAnalyticsWriter } from './analytics/writer';

export const handler = createAnalyticsWriter(analyticsWriterDepsFromEnv(process.env, __dirname));
