/**
 * The query function's entry (`GET /predictions`, `GET /predictions/{id}`, `GET /metrics/summary`): its
 * dependencies built once per container from the environment the CDK sets, and the handler of
 * lambda/api/query.ts over them.
 */
import { createQueryHandler, queryDepsFromEnv } from './api/query';

export const handler = createQueryHandler(queryDepsFromEnv(process.env, __dirname));
