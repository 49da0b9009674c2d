/**
 * The Open Inference Protocol (V2, REST) routes: inference (served by the predict function through its
 * shared core, so it is validated, logged, counted and idempotent like `POST /predict`) and health and
 * model metadata (served by the meta function). Errors take the protocol's `{"error": "<message>"}` form
 * with the API's stable `code` (and `field`) beside it, and the same statuses as everywhere else.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError, isApiError } from '../../contract/errors';
import { type ModelManifest, validateInstances } from '../../contract/manifest';
import type { PredictResponse } from '../../contract/prediction';
import {
  checkModelAddress,
  type InferenceAsk,
  inferenceError,
  inferenceResponse,
  type ModelAddress,
  modelMetadata,
  readInferenceRequest,
} from '../../contract/protocols/open-inference';
import { json, parseJsonBody, type RequestContext, type RouteHandler } from '../http/api-handler';
import type { PredictCore } from './predict-core';

/** A protocol route: its errors answered in the protocol's form. Anything else goes on to the common handler (500). */
function protocolRoute<Id extends InferRouteId | MetaRouteId>(
  route: (event: APIGatewayProxyEvent, ctx: RequestContext<Id>) => Promise<APIGatewayProxyResult>,
): RouteHandler<Id> {
  return async (event, ctx) => {
    try {
      return await route(event, ctx);
    } catch (e) {
      if (!isApiError(e)) throw e;
      if (e.status >= 500) ctx.log.warn('request failed', { route: ctx.route.id, code: e.code, reason: e.message });
      return json(e.status, inferenceError(e));
    }
  };
}

type InferRouteId = 'v2Infer' | 'v2InferVersion';
type MetaRouteId = 'v2Live' | 'v2Ready' | 'v2Model' | 'v2ModelVersion' | 'v2ModelReady' | 'v2ModelVersionReady';

/** The path's model address (`version` only on the routes that carry one). */
function addressOf(params: { name: string; version?: string }): ModelAddress {
  return params.version === undefined ? { name: params.name } : { name: params.name, version: params.version };
}

/** `POST /v2/models/{name}[/versions/{version}]/infer`, over the predict function's core. */
export function inferRoutes(manifest: ModelManifest, core: PredictCore): { [Id in InferRouteId]: RouteHandler<Id> } {
  const infer = protocolRoute<InferRouteId>(async (event, ctx) => {
    checkModelAddress(manifest, addressOf(ctx.params));
    let ask: InferenceAsk = {};
    const result = await core(event, ctx, (bytes, type) => {
      if (type !== 'application/json')
        throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type} is not accepted; send application/json.`, 'Content-Type');
      const request = readInferenceRequest(manifest, parseJsonBody(bytes));
      ask = request.ask;
      // Tensors hold values only: no S3 references here.
      return validateInstances(manifest, { instances: request.instances });
    });
    if (result.statusCode !== 200) return result;
    // The core's headers stay (model version, idempotent replay); only the body changes form.
    const answer = JSON.parse(result.body) as PredictResponse;
    return { ...result, body: JSON.stringify(inferenceResponse(manifest, answer, ask)) };
  });
  return { v2Infer: infer, v2InferVersion: infer };
}

/**
 * Health and metadata. Live: the API answers. Ready: the API serves its model (the model server's own
 * readiness shows on the first inference, as BACKEND_UNAVAILABLE or MODEL_LOADING, retryable).
 */
export function openInferenceMetaRoutes(manifest: ModelManifest): { [Id in MetaRouteId]: RouteHandler<Id> } {
  const metadata = modelMetadata(manifest);
  const model = protocolRoute<'v2Model' | 'v2ModelVersion'>(async (_event, ctx) => {
    checkModelAddress(manifest, addressOf(ctx.params));
    return json(200, metadata);
  });
  const ready = protocolRoute<'v2ModelReady' | 'v2ModelVersionReady'>(async (_event, ctx) => {
    checkModelAddress(manifest, addressOf(ctx.params));
    return json(200, { name: manifest.name, version: manifest.version, ready: true });
  });
  return {
    v2Live: async () => json(200, { live: true }),
    v2Ready: async () => json(200, { ready: true }),
    v2Model: model,
    v2ModelVersion: model,
    v2ModelReady: ready,
    v2ModelVersionReady: ready,
  };
}
