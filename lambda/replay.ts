/**
 * The replay function's entry (drains the prediction log's dead-letter queue): its dependencies built
 * once per container from the environment the CDK sets, and the handler of lambda/log/replay.ts.
 */
import { createReplayHandler, replayDepsFromEnv } from './log/replay';

export const handler = createReplayHandler(replayDepsFromEnv(process.env));
