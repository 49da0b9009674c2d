/** `GET /model` (the served model's manifest), `GET /health` and `GET /openapi.json`. */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ENV } from '../contract/env';
import { readConfig, required } from './commons/config';
import { apiHandler, json } from './commons/http';
import { createLogger } from './commons/logger';
import { loadManifest } from './commons/manifest';
import { buildOpenApi } from './commons/openapi';

const config = readConfig('meta');
const manifest = loadManifest(required(config, ENV.MODEL_MANIFEST_PATH), __dirname);
const log = createLogger('meta', { model: manifest.name });
const openapi = JSON.stringify(buildOpenApi(manifest));

export const handler = apiHandler('meta', log, {
  getModel: async (): Promise<APIGatewayProxyResult> => json(200, { ...manifest, backend: config.backend }),
  health: async (): Promise<APIGatewayProxyResult> => json(200, { status: 'ok', model: { name: manifest.name, version: manifest.version }, backend: config.backend }),
  openapi: async (): Promise<APIGatewayProxyResult> => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: openapi }),
});
