/**
 * The model server's routes and state: SageMaker's container contract over node:http.
 *
 *   GET  /ping                  200 once every hosted version is loaded, 503 MODEL_LOADING before
 *   POST /invocations           application/json {"instances": [...]} or text/csv rows → predictions
 *                               (the version named by x-mlship-model-version answers; model-set.ts;
 *                               a registered version not hosted yet is loaded first: model-registry.ts;
 *                               x-mlship-shadow-version runs another on the same rows, its outcome
 *                               answered beside as "shadow" within SHADOW_GRACE_MS: JSON answers only)
 *   GET  /execution-parameters  what Batch Transform asks before sending work
 */
import type * as http from 'node:http';
import { ApiError, errorMessage, errorStack, isApiError } from '../../contract/errors';
import { parseJsonBounded } from '../../contract/json';
import { LIMITS } from '../../contract/limits';
import { type Instance, parseCsvRows, type Row, validateInstances } from '../../contract/manifest';
import type { InvocationResponse } from '../../contract/prediction';
import { MODEL_VERSION_REQUEST_HEADER, SHADOW_GRACE_MS, SHADOW_TIMEOUT, type ShadowAnswer } from '../../contract/versions';
import { Batcher, type BatcherOptions } from './batcher';
import { CallerWatch } from './caller-watch';
import { drainUnreadBody } from './early-answer';
import { acceptFormat, CSV_TYPE, callerDeadlineMs, checkContentEncoding, contentFormat, JSON_TYPE, readBody, send, toCsv } from './http-io';
import { ImageDecoder } from './image-decoder';
import { log } from './log';
import type { LoadedModel } from './model';
import { NotRegisteredError, type RegisteredLoader } from './model-registry';
import { ModelSet, requestedShadowVersion, requestedVersion } from './model-set';
import { VersionLookups, type VersionLookupsOptions } from './version-lookups';

const MB = 1024 * 1024;

/** The model once loaded, with what every answer about it carries. */
interface Serving {
  readonly model: LoadedModel;
  readonly batcher: Batcher;
  /** `x-mlship-model` header value: `name/version`. */
  readonly header: string;
  /** Closes a JSON answer: `,"model":{...}}`. */
  readonly jsonSuffix: string;
  /** Invocations using it now: a version dropped from the set is released once this is 0. */
  active: number;
  /** Dropped from the set (replaced by a newer registered version). */
  retired?: boolean;
}

/** A shadow version's run beside an invocation: when it started, and its outcome once it ends. */
interface ShadowRun {
  readonly version: string;
  readonly started: number;
  readonly outcome: Promise<ShadowAnswer>;
}

/** Registered versions hosted at once besides the start-up ones; a newer one replaces the oldest. */
export const MAX_REGISTERED_VERSIONS = 2;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
interface Route {
  readonly method: 'GET' | 'POST';
  readonly handle: Handler;
}

export interface ModelServerOptions {
  readonly batching: BatcherOptions;
  /** Reported to Batch Transform as MaxConcurrentTransforms. */
  readonly concurrency: number;
  /** Loads a registered version a request names that is not hosted. @default - none: such a request is 404 UNKNOWN_MODEL_VERSION */
  readonly registry?: RegisteredLoader;
  /** Limits on looking up versions not hosted. @default - VersionLookups' defaults */
  readonly lookups?: VersionLookupsOptions;
}

export class ModelServer {
  /** The champion (answers requests naming no version). */
  private serving: Serving | undefined;
  /** Every hosted version, the champion first. */
  private models: ModelSet<Serving> | undefined;
  private decoder: ImageDecoder | undefined;
  /** Set once shutdown starts: answers then ask keep-alive clients to reconnect elsewhere. */
  private stopping = false;
  /** Invocations still working, even when their client has gone: the model is released only after them. */
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private readonly executionParameters: string;
  private readonly routes: Readonly<Record<string, Route>>;
  /** Registered versions being loaded (concurrent requests share one load), loaded (oldest first), and recently refused. */
  private readonly loading = new Map<string, Promise<Serving>>();
  private readonly registered: string[] = [];
  private readonly lookups: VersionLookups;

  constructor(private readonly opts: ModelServerOptions) {
    this.lookups = new VersionLookups(opts.lookups);
    this.executionParameters = JSON.stringify({
      MaxConcurrentTransforms: opts.concurrency,
      BatchStrategy: 'MULTI_RECORD',
      MaxPayloadInMB: Math.floor(LIMITS.maxInvocationBodyBytes / MB),
    });
    this.routes = {
      '/invocations': { method: 'POST', handle: (req, res) => this.invocations(req, res) },
      '/ping': { method: 'GET', handle: (req, res) => this.ping(req, res) },
      '/execution-parameters': { method: 'GET', handle: (_req, res) => this.answer(res, 200, JSON_TYPE, this.executionParameters) },
    };
  }

  /** The node:http request listener. */
  readonly listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = Object.hasOwn(this.routes, path) ? this.routes[path] : undefined;
    if (route === undefined) this.fail(req, res, new ApiError('ROUTE_NOT_FOUND', `No route ${path}.`));
    else if (req.method !== route.method) this.fail(req, res, new ApiError('METHOD_NOT_ALLOWED', `Use ${route.method} ${path}.`));
    else route.handle(req, res);
  };

  /** Starts serving `model` and any challengers beside it (until then /ping and /invocations answer 503 MODEL_LOADING). */
  serve(model: LoadedModel, ...challengers: LoadedModel[]): void {
    const entries = [model, ...challengers].map((m) => ({ version: m.manifest.version, serving: this.servingOf(m) }));
    this.models = new ModelSet(entries);
    this.serving = entries[0]?.serving;
  }

  private servingOf(model: LoadedModel): Serving {
    const { name, version } = model.manifest;
    const info: InvocationResponse['model'] = { name, version };
    return {
      model,
      batcher: new Batcher((rows) => model.run(rows), this.opts.batching),
      header: `${name}/${version}`,
      jsonSuffix: `,"model":${JSON.stringify(info)}}`,
      active: 0,
    };
  }

  /** The serving of a request's version: hosted, or a registered one loaded now (once; refusals are remembered a while). */
  private servingFor(models: ModelSet<Serving>, version: string | undefined): Serving | Promise<Serving> {
    if (version === undefined || models.has(version) || this.opts.registry === undefined || this.serving === undefined)
      return models.pick(version);
    const refused = this.lookups.refusal(version);
    if (refused !== undefined) throw this.unknown(models, version, refused);
    let load = this.loading.get(version);
    if (load === undefined) {
      // Not remembered: the budget decides whether S3 is asked (a refusal here is not remembered, so it is asked later).
      if (!this.lookups.allowLookup())
        throw this.unknown(
          models,
          version,
          new NotRegisteredError(version, 'too many unknown versions were named just now; try again shortly'),
        );
      load = this.loadRegistered(version, this.opts.registry, this.serving.model).finally(() => this.loading.delete(version));
      this.loading.set(version, load);
    }
    return load.catch((e: unknown) => {
      throw this.unknown(models, version, e);
    });
  }

  /** Loads a registered version before a request names it (another worker of the instance has loaded it); failures are only logged. */
  async warm(version: string): Promise<void> {
    const models = this.models;
    if (models === undefined || this.stopping) return;
    try {
      await this.servingFor(models, version);
    } catch (e) {
      log('warn', 'registered version not warmed', { version, error: errorMessage(e) });
    }
  }

  private async loadRegistered(version: string, registry: RegisteredLoader, champion: LoadedModel): Promise<Serving> {
    const started = Date.now();
    let model: LoadedModel;
    try {
      model = await registry(version, champion.manifest);
    } catch (e) {
      this.lookups.refuse(version, e);
      if (!(e instanceof NotRegisteredError)) log('error', 'registered version failed to load', { version, error: errorStack(e) });
      throw e;
    }
    const models = this.models;
    if (this.stopping || models === undefined) {
      await model.close();
      throw new ApiError('MODEL_LOADING', 'The model server is stopping.');
    }
    const serving = this.servingOf(model);
    const drop = this.registered.length >= MAX_REGISTERED_VERSIONS ? this.registered.shift() : undefined;
    const dropped = drop === undefined ? undefined : models.pick(drop);
    this.models = models.with(version, serving, drop);
    this.registered.push(version);
    this.lookups.forget(version);
    log('info', 'registered version loaded', { version, ms: Date.now() - started, ...(drop ? { replaced: drop } : {}) });
    if (dropped !== undefined) {
      dropped.retired = true;
      if (dropped.active === 0) await dropped.model.close();
    }
    return serving;
  }

  private unknown(models: ModelSet<Serving>, version: string, e: unknown): ApiError {
    if (isApiError(e)) return e;
    const message = e instanceof NotRegisteredError ? e.message : `Model version "${version}" could not be loaded: ${errorMessage(e)}`;
    return new ApiError('UNKNOWN_MODEL_VERSION', message, MODEL_VERSION_REQUEST_HEADER, { versions: models.versions });
  }

  get stats(): Batcher['stats'] | undefined {
    return this.serving?.batcher.stats;
  }

  /** Marks the server as stopping; resolves once no invocation is working, then releases the decoder and model. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.decoder?.close();
    await Promise.all((this.models?.all() ?? []).map((s) => s.model.close()));
  }

  /** Marks the server as stopping (answers carry `connection: close`) without waiting. */
  markStopping(): void {
    this.stopping = true;
  }

  private ping(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.serving && this.models)
      this.answer(res, 200, JSON_TYPE, JSON.stringify({ status: 'ok', model: this.serving.header, versions: this.models.versions }));
    else this.fail(req, res, loading());
  }

  private invocations(req: http.IncomingMessage, res: http.ServerResponse): void {
    const models = this.models;
    if (!models) {
      this.fail(req, res, loading());
      return;
    }
    let serving: Serving | Promise<Serving>;
    try {
      serving = this.servingFor(models, requestedVersion(req));
    } catch (e) {
      this.fail(req, res, e);
      return;
    }
    let used: Serving | undefined;
    void this.tracked(
      Promise.resolve(serving)
        .then((s) => {
          used = s;
          s.active++;
          return this.invoke(req, res, s, models);
        })
        .catch((e) => this.fail(req, res, e))
        .finally(() => {
          if (used && --used.active === 0 && used.retired) void used.model.close();
        }),
    );
  }

  /** Counts `work` as an invocation still working until it settles (stop() waits for every one). */
  private tracked(work: Promise<unknown>): Promise<unknown> {
    this.inFlight++;
    return work.finally(() => {
      if (--this.inFlight === 0) this.drained?.();
    });
  }

  private async invoke(req: http.IncomingMessage, res: http.ServerResponse, s: Serving, models: ModelSet<Serving>): Promise<void> {
    const inFormat = contentFormat(req.headers['content-type']);
    checkContentEncoding(req.headers['content-encoding']);
    const outFormat = acceptFormat(req.headers.accept);
    const deadlineMs = callerDeadlineMs(req);
    const image = s.model.manifest.input.kind === 'image';
    // Image models always watch the caller (decoding is the long step); other requests only when they carry a deadline.
    const watch = deadlineMs !== undefined || image ? new CallerWatch(req, res, deadlineMs) : undefined;
    // A CSV answer has no place for a shadow's outcome: CSV answers (and so Batch Transform) never run one.
    const shadowVersion = outFormat === 'json' ? requestedShadowVersion(req) : undefined;
    // Looked up (a registered version loaded) while the body is read; its failure is the shadow's, not the request's.
    const shadowOf =
      shadowVersion === undefined ? undefined : { version: shadowVersion, serving: this.shadowServing(models, shadowVersion) };
    const text = await readBody(req);
    watch?.check();
    let rows: Row[];
    if (inFormat === 'csv') {
      rows = parseCsvRows(s.model.manifest, text, LIMITS.maxRowsPerInvocation);
    } else {
      const body = parseJsonBounded(text);
      const instances = validateInstances(s.model.manifest, body, { maxInstances: LIMITS.maxRowsPerInvocation });
      rows = s.model.toRows(image && watch ? await this.decodeImages(s.model, instances, watch) : instances);
    }
    watch?.check();
    // The rows are built once; both versions take the same input (checked when the shadow version was loaded).
    const shadowRun = shadowOf === undefined ? undefined : this.runShadow(shadowOf.serving, shadowOf.version, rows);
    const predictions = await s.batcher.submit(rows);
    if (outFormat === 'csv') return this.answer(res, 200, CSV_TYPE, toCsv(predictions), s.header);
    const shadow = shadowRun === undefined ? '' : `,"shadow":${JSON.stringify(await this.withinGrace(shadowRun, watch?.msLeft()))}`;
    this.answer(res, 200, JSON_TYPE, `{"predictions":${JSON.stringify(predictions)}${shadow}${s.jsonSuffix}`, s.header);
  }

  /** The shadow version's serving, as a promise that is never left rejected unhandled (the request may fail first). */
  private shadowServing(models: ModelSet<Serving>, version: string): Promise<Serving> {
    let serving: Promise<Serving>;
    try {
      serving = Promise.resolve(this.servingFor(models, version));
    } catch (e) {
      serving = Promise.reject(e);
    }
    serving.catch(() => undefined);
    return serving;
  }

  /**
   * The shadow version's run on `rows`, which settles with its outcome and never rejects; it holds its
   * serving (and counts as working) until its predictions come, even once the answer has gone without them.
   */
  private runShadow(serving: Promise<Serving>, version: string, rows: Row[]): ShadowRun {
    const started = Date.now();
    let used: Serving | undefined;
    const outcome = serving
      .then((s) => {
        used = s;
        s.active++;
        return s.batcher.submit(rows);
      })
      .then(
        (predictions): ShadowAnswer => ({ version, predictions, ms: Date.now() - started }),
        (e: unknown): ShadowAnswer => {
          if (!isApiError(e)) log('error', 'shadow run failed', { version, error: errorStack(e) });
          return { version, error: isApiError(e) ? e.code : 'INTERNAL', ms: Date.now() - started };
        },
      )
      .finally(() => {
        if (used && --used.active === 0 && used.retired) void used.model.close();
      });
    void this.tracked(outcome);
    return { started, version, outcome };
  }

  /** The shadow's outcome, or SHADOW_TIMEOUT once the grace (never past the caller's deadline) has run out after the answer. */
  private async withinGrace(run: ShadowRun, msLeft: number | undefined): Promise<ShadowAnswer> {
    const graceMs = Math.min(SHADOW_GRACE_MS, msLeft ?? SHADOW_GRACE_MS);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<ShadowAnswer>((resolve) => {
      timer = setTimeout(() => resolve({ version: run.version, error: SHADOW_TIMEOUT, ms: Date.now() - run.started }), graceMs);
    });
    try {
      return await Promise.race([run.outcome, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Image instances decoded on the decoding thread (off the event loop that answers /ping). */
  private async decodeImages(m: LoadedModel, instances: Instance[], watch: CallerWatch): Promise<Instance[]> {
    const input = m.manifest.input;
    if (input.kind !== 'image') return instances;
    const at: number[] = [];
    const images: { b64: string; field: string }[] = [];
    instances.forEach((inst, i) => {
      if ('image' in inst) {
        at.push(i);
        images.push({ b64: inst.image, field: `instances[${i}]` });
      }
    });
    if (images.length === 0) return instances;
    this.decoder ??= new ImageDecoder(input);
    const decoded = await this.decoder.decode(images, watch.signal());
    const out = instances.slice();
    for (const [j, i] of at.entries()) {
      const values = decoded[j];
      if (values === undefined) throw new Error(`The image decoder answered ${decoded.length} rows for ${at.length} images.`);
      out[i] = { values };
    }
    return out;
  }

  private answer(res: http.ServerResponse, status: number, type: string, body: string, model = ''): void {
    send(res, status, type, body, model, this.stopping);
  }

  private fail(req: http.IncomingMessage, res: http.ServerResponse, e: unknown): void {
    const err = isApiError(e) ? e : new ApiError('INTERNAL', 'The model server failed to answer.');
    if (!isApiError(e)) log('error', 'invocation failed', { error: errorStack(e) });
    if (res.headersSent || res.destroyed) return void res.destroy();
    // Answer first, then read and discard what the client still sends, so it reads the answer.
    drainUnreadBody(req);
    this.answer(res, err.status, JSON_TYPE, JSON.stringify(err.toBody()));
  }
}

function loading(): ApiError {
  return new ApiError('MODEL_LOADING', 'The model is still loading.');
}
