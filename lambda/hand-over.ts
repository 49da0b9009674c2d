/**
 * The hand-over step's entry (the Training stack's state machine invokes it when the policy accepted a
 * version): its dependencies built once per container from the environment the CDK sets.
 */
import { createHandOverHandler, handOverDepsFromEnv } from './versions/hand-over';

export const handler = createHandOverHandler(handOverDepsFromEnv(process.env, __dirname));
