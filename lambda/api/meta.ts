/**
 * `GET /model` (the served model's manifest, with its drift baseline when the model has one),
 * `GET /health`, `GET /openapi.json`, and the web dashboard: the page at `GET /` and its hashed files at
 * `GET /dashboard/{file}`, served from the folder bundled beside this code.
 */

import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, resolve } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { MODEL_INFO_BASELINE_FIELD, type ModelBaseline } from '../../contract/baseline';
import { ENV } from '../../contract/env';
import { ApiError, errorCode } from '../../contract/errors';
import type { Backend as BackendKind } from '../../contract/limits';
import type { ModelManifest } from '../../contract/manifest';
import { optionalBaseline, readManifestFile } from '../../contract/model-files';
import { apiHandler, header, json } from '../http/api-handler';
import { buildOpenApi, type OpenApiDocument } from '../http/openapi';
import { readConfig, required } from '../runtime/config';
import { createLogger, type Logger } from '../runtime/logger';
import { openInferenceMetaRoutes } from './open-inference';

export interface MetaDeps {
  readonly manifest: ModelManifest;
  readonly backendKind: BackendKind;
  /** The model's drift baseline, checked against the manifest. @default - none (a model trained without statistics) */
  readonly baseline?: ModelBaseline;
  /** The built dashboard (absolute). */
  readonly dashboardDir: string;
  /** @default - a logger of the meta function */
  readonly logger?: Logger;
}

/** The meta function's dependencies as the CDK configures it; relative paths are read from `baseDir`. */
export function metaDepsFromEnv(env: NodeJS.ProcessEnv, baseDir: string): MetaDeps {
  const config = readConfig('meta', env);
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  const manifest = readManifestFile(required(config, ENV.MODEL_MANIFEST_PATH), baseDir);
  const baseline = optionalBaseline(manifest, absolute(required(config, ENV.MODEL_BASELINE_PATH)), baseDir);
  return { manifest, backendKind: config.backend, baseline, dashboardDir: absolute(required(config, ENV.DASHBOARD_DIR)) };
}

// ---- dashboard -------------------------------------------------------------------------------------

const INDEX_FILE = 'index.html';
/** Only the text files the dashboard build writes: API Gateway passes them through without binary media types. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};
/** One path segment, no leading dot: `..`, slashes and backslashes (even URL-encoded) never name a file. */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** The build puts a content hash in every file name but the page's (`app-3FZQ2B7K.js`, `styles-0a1b2c3d4e.css`). */
const HASHED = /-[A-Za-z0-9]{8,}\.[a-z]+(\.map)?$/;

/** The page only talks to this origin, loads only its own files and cannot be framed. */
const PAGE_SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function createMetaHandler(deps: MetaDeps) {
  const { manifest, backendKind, dashboardDir } = deps;
  const logger = deps.logger ?? createLogger('meta', { model: manifest.name });
  const modelInfo = JSON.stringify({
    ...manifest,
    backend: backendKind,
    ...(deps.baseline !== undefined ? { [MODEL_INFO_BASELINE_FIELD]: deps.baseline } : {}),
  });

  /** The document without servers, built at the first request (most cold starts never serve it). */
  let openapiBase: OpenApiDocument | undefined;

  /** The document with the API's base URL as the caller reached it (stage or custom-domain base path included). */
  function openapiFor(event: APIGatewayProxyEvent): string {
    openapiBase ??= buildOpenApi(manifest);
    const host = header(event, 'host');
    if (host === undefined) return JSON.stringify(openapiBase);
    const seen = event.requestContext.path;
    const base = seen.endsWith(event.resource) ? seen.slice(0, seen.length - event.resource.length) : '';
    const proto = header(event, 'x-forwarded-proto') ?? 'https';
    return JSON.stringify({ ...openapiBase, servers: [{ url: `${proto}://${host}${base}` }] });
  }

  async function dashboardFile(name: string): Promise<APIGatewayProxyResult> {
    const type = CONTENT_TYPES[extname(name)];
    if (!FILE_NAME.test(name) || type === undefined) throw new ApiError('NOT_FOUND', `The dashboard has no file "${name}".`, 'file');
    const file = resolve(dashboardDir, name);
    let body: string;
    try {
      body = await readFile(file, 'utf8');
    } catch (e) {
      if (errorCode(e) !== 'ENOENT') throw e;
      const hint =
        name === INDEX_FILE ? ' Build it with `npm run build:web`.' : ' The page may be older than the deployed files: reload it.';
      throw new ApiError('NOT_FOUND', `The dashboard has no file "${name}".${hint}`, 'file');
    }
    // Hashed files never change under their name; the page is revalidated so a deployment shows at once.
    const cacheControl = HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache';
    return { statusCode: 200, headers: { 'content-type': type, 'cache-control': cacheControl, ...PAGE_SECURITY_HEADERS }, body };
  }

  function redirect(location: string): APIGatewayProxyResult {
    return { statusCode: 301, headers: { location, 'cache-control': 'no-cache' }, body: '' };
  }

  async function dashboardPage(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    // The page links `dashboard/<file>` relative to itself: it must be read at the stage root *with* its
    // slash (`/prod/`), or its links and API calls would miss the stage.
    const seen = event.requestContext.path;
    if (!seen.endsWith('/')) return redirect(`${seen}/`);
    return dashboardFile(INDEX_FILE);
  }

  return apiHandler('meta', logger, {
    getModel: async (): Promise<APIGatewayProxyResult> => ({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: modelInfo,
    }),
    health: async (): Promise<APIGatewayProxyResult> =>
      json(200, { status: 'ok', model: { name: manifest.name, version: manifest.version }, backend: backendKind }),
    openapi: async (event): Promise<APIGatewayProxyResult> => ({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: openapiFor(event),
    }),
    dashboard: dashboardPage,
    ...openInferenceMetaRoutes(manifest),
    dashboardFile: async (event): Promise<APIGatewayProxyResult> => {
      const name = event.pathParameters?.file ?? '';
      // The page lives at the API root; under `dashboard/` its relative links would break.
      if (name === INDEX_FILE) return redirect('../');
      return dashboardFile(name);
    },
  });
}
