/**
 * The predict function's entry (`POST /predict`): its dependencies built once per container from the
 * environment the CDK sets, and the handler of lambda/api/predict.ts over them.
 */
import { createPredictHandler, predictDepsFromEnv } from './api/predict';

export const handler = createPredictHandler(predictDepsFromEnv(process.env, __dirname));
