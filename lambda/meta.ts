/**
 * The meta function's entry (`GET /model`, `GET /health`, `GET /openapi.json`, the dashboard): its
 * dependencies built once per container from the environment the CDK sets, and the handler of
 * lambda/api/meta.ts over them.
 */
import { createMetaHandler, metaDepsFromEnv } from './api/meta';

export const handler = createMetaHandler(metaDepsFromEnv(process.env, __dirname));
