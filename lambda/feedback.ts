/**
 * The feedback function's entry (`POST /predictions/{id}/feedback`): its dependencies built once per
 * container from the environment the CDK sets, and the handler of lambda/api/feedback.ts over them.
 */
import { createFeedbackHandler, feedbackDepsFromEnv } from './api/feedback';

export const handler = createFeedbackHandler(feedbackDepsFromEnv(process.env, __dirname));
