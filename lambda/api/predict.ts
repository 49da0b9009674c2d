/**
 * `POST /predict`: check the body against the model manifest, run the model through the configured
 * backend, log one item per instance (never losing one), and answer with each prediction's id.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError } from '../../contract/errors';
import { maxPredictBodyBytes } from '../../contract/limits';
import type { Instance } from '../../contract/manifest';
import { PREDICT_METRICS as M } from '../../contract/metrics/predict-metrics';
import { type InvocationResponse, MODEL_VERSION_HEADER, type PredictResponse } from '../../contract/prediction';
import type { PredictionRecord } from '../../contract/prediction-log';
import type { ShadowAnswer } from '../../contract/versions';
import { apiHandler, bodyBytes, mediaType, type RequestContext } from '../http/api-handler';
import { withIdempotency } from '../log/idempotency';
import { logRecords } from '../log/log-writer';
import { type RecordBuilder, recordBuilder, withShadow } from '../log/record-builder';
import { fetchInstance, modelInput, parseInstances, storeInput } from '../model/inputs';
import { versionChecked } from '../model/version-check';
import { createLogger } from '../runtime/logger';
import { Metrics } from '../runtime/metrics';
import { inferRoutes } from './open-inference';
import { answerAs, answerMediaType } from './predict-answer';
import type { PredictCore } from './predict-core';
import type { PredictDeps } from './predict-deps';
import { routeOf } from './versions-routing';

export { type PredictDeps, predictDepsFromEnv } from './predict-deps';

export function createPredictHandler(deps: PredictDeps) {
  const { manifest, backendKind, inputs } = deps;
  const maxBodyBytes = maxPredictBodyBytes(backendKind);
  const clock = deps.clock ?? (() => new Date());
  const logger = deps.logger ?? createLogger('predict', { model: manifest.name, modelVersion: manifest.version, backend: backendKind });
  const metrics = deps.metrics ?? new Metrics({ name: manifest.name, version: manifest.version });
  // Only answers of the versions this function checks bodies for: never another schema's output. A
  // registered version the routing state names was checked beside the champion when it was loaded.
  const hosted = deps.versions?.hosted ?? [manifest.version];
  const accepted = deps.versions?.accepted;
  const backend = versionChecked(
    deps.backend,
    hosted.map((version) => ({ name: manifest.name, version })),
    () => metrics.count(M.modelVersionMismatches, 1),
    accepted && (() => accepted().map((version) => ({ name: manifest.name, version }))),
  );
  const buildRecord: RecordBuilder = recordBuilder({
    manifest,
    ttlDays: deps.ttlDays,
    storeInput: (key, body, type, owner) => storeInput(inputs, key, body, type, owner),
  });
  const predictOnce = withIdempotency(run, {
    store: deps.log,
    replayHeaders: [MODEL_VERSION_HEADER],
    clock: () => clock().getTime(),
  });

  /**
   * The core every predict route shares: the body's size, its instances read by the route's own format
   * (`parse`), then one idempotent run (resolve, invoke, log, metrics) answering the house JSON.
   */
  const predictCore: PredictCore = async (event, ctx, parse) => {
    const started = clock().getTime();
    const bytes = bodyBytes(event);
    if (bytes.length > maxBodyBytes) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `The body is ${bytes.length} bytes; at most ${maxBodyBytes} for the ${backendKind} backend.`);
    }
    const instances = parse(bytes, mediaType(event) ?? 'application/json');
    // Awaited, not returned: this route stays on the async stack of every call the wrapper makes.
    return await predictOnce(event, ctx, { instances, started });
  };

  async function predict(event: APIGatewayProxyEvent, ctx: RequestContext): Promise<APIGatewayProxyResult> {
    const answerType = answerMediaType(event);
    return answerAs(answerType, await predictCore(event, ctx, (bytes, type) => parseInstances(manifest, type, bytes)));
  }

  async function run(
    event: APIGatewayProxyEvent,
    ctx: RequestContext,
    { instances, started }: { instances: Instance[]; started: number },
  ): Promise<APIGatewayProxyResult> {
    const apiKeyId = event.requestContext?.identity?.apiKeyId ?? undefined;
    // Instances given as S3 keys are fetched and checked; the model sees the object, the log keeps the key.
    const resolved = await Promise.all(
      instances.map((inst, i) =>
        's3Key' in inst
          ? fetchInstance(inputs, manifest, inst.s3Key, `instances[${i}].s3Key`, maxBodyBytes, apiKeyId)
          : Promise.resolve(inst),
      ),
    );
    const invocation = JSON.stringify({ instances: resolved.map(modelInput) });
    if (Buffer.byteLength(invocation) > maxBodyBytes) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `The instances add up to more than ${maxBodyBytes} bytes for the ${backendKind} backend.`);
    }

    // Routed here, in the core, so a pin, a split and a shadow apply to every predict route alike. The
    // shadow rides in the same model call: the server runs it on the same rows and answers its outcome beside.
    const route = await routeOf(deps.versions, event, ctx.requestId);
    const shadowStart = clock().getTime() - started;
    const t0 = Date.now();
    const answer = await backend.invoke(invocation, resolved.length, ctx.deadline, route.answer, route.shadow).catch((e: unknown) => {
      const of = metrics.forVersion(route.answer ?? manifest.version);
      // The model answered NaN or Infinity: no prediction to log, but a count to alarm on.
      if (e instanceof ApiError && e.code === 'NON_FINITE_OUTPUT') of.count(M.nonFiniteOutputs, 1);
      // Failures of the version's model call (not the caller's mistakes), so versions compare on errors too.
      if (!(e instanceof ApiError) || e.status >= 500) of.count(M.backendErrors, 1);
      throw e;
    });
    const backendMs = Date.now() - t0;

    const now = clock();
    const records = await Promise.all(
      answer.predictions.map((prediction, i) => {
        // backend.invoke has checked one prediction per instance, and resolved maps instances one to one.
        const sent = instances[i];
        const seen = resolved[i];
        if (sent === undefined || seen === undefined)
          throw new ApiError('BACKEND_ERROR', 'The backend answered more predictions than instances.');
        const latencyMs = clock().getTime() - started;
        return buildRecord({ prediction, sent, seen, model: answer.model, requestId: ctx.requestId, apiKeyId, now, latencyMs });
      }),
    );
    // The shadow's outcome rides in the answered item: one write per instance, shadow or not.
    const shadow = answer.shadow;
    const logged = shadow === undefined ? records : withShadows(shadow, records, shadowStart, ctx);
    await logRecords(logged, { store: deps.log, deadLetters: deps.deadLetters, metrics, log: ctx.log });
    emitMetrics(answer, backendMs);
    ctx.log.info('predicted', {
      instances: records.length,
      backendMs,
      ids: records.map((r) => r.id),
      version: answer.model.version,
      ...(shadow ? { shadow: shadow.version } : {}),
    });

    const body: PredictResponse = {
      predictions: answer.predictions.map((p, i) => ({ id: records[i]?.id ?? '', ...p })),
      model: answer.model,
    };
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json', [MODEL_VERSION_HEADER]: `${answer.model.name}/${answer.model.version}` },
      body: JSON.stringify(body),
    };
  }

  /** Each answered record with the shadow version's outcome (one for all its instances); errors are counted, never thrown. */
  function withShadows(shadow: ShadowAnswer, answered: PredictionRecord[], startMs: number, ctx: RequestContext): PredictionRecord[] {
    const now = clock();
    const latencyMs = startMs + shadow.ms;
    if ('error' in shadow) {
      metrics.forVersion(shadow.version).count(M.shadowErrors, answered.length);
      ctx.log.warn('shadow prediction failed', { version: shadow.version, error: shadow.error, ms: shadow.ms });
      return answered.map((r) => withShadow(r, shadow.version, { error: shadow.error }, now, latencyMs));
    }
    return answered.map((r, i) => {
      const prediction = shadow.predictions[i];
      return withShadow(r, shadow.version, prediction === undefined ? { error: 'BACKEND_ERROR' } : { prediction }, now, latencyMs);
    });
  }

  /** Under the version that answered: champion, challenger or pinned. */
  function emitMetrics(answer: InvocationResponse, backendMs: number): void {
    const of = metrics.forVersion(answer.model.version);
    of.emit({
      [M.predictions]: { value: answer.predictions.length, unit: 'Count' },
      [M.backendLatency]: { value: backendMs, unit: 'Milliseconds' },
    });
    const perLabel = new Map<string, number>();
    for (const p of answer.predictions) if ('label' in p) perLabel.set(p.label, (perLabel.get(p.label) ?? 0) + 1);
    for (const [label, n] of perLabel) of.count(M.predictions, n, { Label: label });
  }

  return apiHandler('predict', logger, { predict, ...inferRoutes(manifest, predictCore) });
}
