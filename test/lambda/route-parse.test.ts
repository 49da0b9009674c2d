/**
 * The route schemas as the common handler applies them: every route's good inputs reach it typed, and
 * every bad one is answered with its stable code and field before the route runs.
 */
import { join } from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type * as z from 'zod/mini';
import { ROUTE_ERRORS } from '../../contract/api-schemas';
import { ERROR_STATUS, type ErrorCode } from '../../contract/errors';
import { LIMITS } from '../../contract/limits';
import { type ModelManifest, parseManifest } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { PARAMETERS, refusalOf, summaryWindowMs } from '../../contract/route-schemas';
import { type HandlerName, ROUTES, type RouteSpec } from '../../contract/routes';
import { apiHandler, json } from '../../lambda/http/api-handler';
import { buildOpenApi } from '../../lambda/http/openapi';
import { requestParser } from '../../lambda/http/route-parse';
import { newPredictionId } from '../../lambda/log/ids';
import { createLogger } from '../../lambda/runtime/logger';
import { PROJECT_ROOT } from '../../local/paths';
import { TINY_MANIFEST } from '../support/tiny-onnx';
import { type EventSpec, jsonBody, proxyEvent } from './events';

const breastCancer = readManifestFile(join(PROJECT_ROOT, 'models', 'breast-cancer', 'model.json'));
/** A regression model: its feedback label is a number. */
const regression = parseManifest(TINY_MANIFEST);
const ID = newPredictionId();

/** Each function's routes answer what they were given: the parsed params, query and body. */
function echoing(manifest: ModelManifest) {
  const log = createLogger('route-parse-test', {});
  const echo = async (_e: unknown, ctx: { params: unknown; query: unknown; body: unknown }): Promise<APIGatewayProxyResult> =>
    json(200, { params: ctx.params, query: ctx.query, body: ctx.body ?? null });
  const handlers: Record<HandlerName, (e: ReturnType<typeof proxyEvent>) => Promise<APIGatewayProxyResult>> = {
    predict: apiHandler('predict', log, { predict: echo, v2Infer: echo, v2InferVersion: echo }, manifest),
    query: apiHandler('query', log, { listPredictions: echo, getPrediction: echo, metricsSummary: echo }, manifest),
    feedback: apiHandler('feedback', log, { postFeedback: echo }, manifest),
    meta: apiHandler(
      'meta',
      log,
      {
        ...{ getModel: echo, health: echo, openapi: echo, dashboard: echo, dashboardFile: echo },
        ...{ v2Live: echo, v2Ready: echo, v2Model: echo, v2ModelVersion: echo, v2ModelReady: echo, v2ModelVersionReady: echo },
      },
      manifest,
    ),
  };
  return async (spec: EventSpec) => {
    const route = ROUTES.find((r) => r.path === spec.resource && r.method === spec.method) as RouteSpec;
    const res = await handlers[route.handler](proxyEvent(spec));
    return { status: res.statusCode, body: jsonBody<Record<string, unknown>>(res) };
  };
}

const send = echoing(breastCancer);
const sendRegression = echoing(regression);
const list = (query: Record<string, string>) => send({ method: 'GET', resource: '/predictions', query });
const summary = (query: Record<string, string>) => send({ method: 'GET', resource: '/metrics/summary', query });
const feedback = (body: string, opts: { id?: string; type?: string } = {}) =>
  send({
    method: 'POST',
    resource: '/predictions/{id}/feedback',
    pathParameters: { id: opts.id ?? ID },
    headers: { 'content-type': opts.type ?? 'application/json' },
    body,
  });
const refused = (code: ErrorCode, field?: string) => ({
  status: ERROR_STATUS[code],
  body: { error: expect.objectContaining({ code, ...(field !== undefined ? { field } : {}) }) },
});

describe('GET /predictions', () => {
  it('parses the query into typed values, with the default page size', async () => {
    expect((await list({})).body.query).toEqual({ limit: LIMITS.defaultPageSize });
    const got = await list({ limit: '0010', cursor: 'abc', version: '1.0.0', from: '2025-01-31', to: '2025-02-01T12:00:00+01:00' });
    expect(got).toEqual({
      status: 200,
      body: {
        params: {},
        query: { limit: 10, cursor: 'abc', version: '1.0.0', from: '2025-01-31T00:00:00.000Z', to: '2025-02-01T11:00:00.000Z' },
        body: null,
      },
    });
    // Parameters the route does not read are ignored.
    expect((await list({ limit: '3', debug: '1' })).body.query).toEqual({ limit: 3 });
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '201' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ limit: '1e2' }, 'limit'],
    [{ limit: ' 5' }, 'limit'],
    [{ limit: '' }, 'limit'],
    [{ limit: '1.5' }, 'limit'],
    [{ version: '' }, 'version'],
    [{ version: 'v'.repeat(65) }, 'version'],
    [{ from: 'yesterday' }, 'from'],
    [{ to: '2025-13-45' }, 'to'],
    [{ from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }, 'from'],
  ])('refuses %j with INVALID_QUERY on %s', async (query, field) => {
    expect(await list(query)).toEqual(refused('INVALID_QUERY', field));
  });

  it('compares from and to as instants, whatever their zones', async () => {
    expect((await list({ from: '2025-01-01T12:00:00+02:00', to: '2025-01-01T11:00:00Z' })).status).toBe(200);
    expect(await list({ from: '2025-01-01T12:00:00-02:00', to: '2025-01-01T11:00:00Z' })).toEqual(refused('INVALID_QUERY', 'from'));
  });

  it('refuses an empty cursor as INVALID_CURSOR, like any cursor this API did not issue', async () => {
    expect(await list({ cursor: '' })).toEqual(refused('INVALID_CURSOR', 'cursor'));
  });

  it('answers the first problem in the order of the parameters, with its own message', async () => {
    const got = await list({ limit: 'x', from: 'yesterday' });
    expect(got.body).toEqual({ error: { code: 'INVALID_QUERY', field: 'limit', message: 'limit must be an integer from 1 to 200.' } });
  });
});

describe('GET /predictions/{id}', () => {
  const get = (id: string) => send({ method: 'GET', resource: '/predictions/{id}', pathParameters: { id } });

  it('passes a prediction id and refuses anything else with INVALID_ID', async () => {
    expect((await get(ID)).body.params).toEqual({ id: ID });
    for (const id of ['idem#key-1#order-42', 'abc', `${ID}x`, ID.toLowerCase(), '']) {
      expect(await get(id)).toEqual(refused('INVALID_ID', 'id'));
    }
  });

  it('refuses an event without the path parameter with INVALID_ID', async () => {
    expect(await send({ method: 'GET', resource: '/predictions/{id}' })).toEqual(refused('INVALID_ID', 'id'));
  });
});

describe('GET /metrics/summary', () => {
  it('parses the window, 24h by default', async () => {
    expect((await summary({})).body.query).toEqual({ window: '24h' });
    expect((await summary({ window: '90d' })).body.query).toEqual({ window: '90d' });
    expect(summaryWindowMs(PARAMETERS.window.parse('15m'))).toBe(15 * 60_000);
  });

  it.each(['1w', '0h', '91d', '2161h', 'h', '', '-1h', 'forever'])('refuses window=%j with INVALID_QUERY', async (window) => {
    expect(await summary({ window })).toEqual(refused('INVALID_QUERY', 'window'));
  });
});

describe('POST /predictions/{id}/feedback', () => {
  it('parses the label and the replace flag', async () => {
    expect((await feedback('{"label": "benign"}')).body).toEqual({ params: { id: ID }, query: {}, body: { label: 'benign' } });
    expect((await feedback('{"label": "malignant", "replace": true}')).body.body).toEqual({ label: 'malignant', replace: true });
    expect((await feedback('{"label": "benign"}', { type: 'Application/JSON; charset=utf-8' })).status).toBe(200);
  });

  it.each([
    ['{"label": "maybe"}', 'INVALID_LABEL', 'label'],
    ['{"label": 1}', 'INVALID_LABEL', 'label'],
    ['{"label": null}', 'INVALID_LABEL', 'label'],
    ['{}', 'INVALID_BODY', 'label'],
    ['{"truth": "benign"}', 'INVALID_BODY', 'truth'],
    ['{"label": "benign", "extra": 1}', 'INVALID_BODY', 'extra'],
    ['{"label": "benign", "replace": "yes"}', 'INVALID_BODY', 'replace'],
    ['{"label": "benign", "replace": null}', 'INVALID_BODY', 'replace'],
    ['[]', 'INVALID_BODY', undefined],
    ['"benign"', 'INVALID_BODY', undefined],
    ['null', 'INVALID_BODY', undefined],
    ['{', 'INVALID_JSON', undefined],
    ['', 'INVALID_JSON', undefined],
    [`${'['.repeat(LIMITS.maxJsonDepth + 1)}${']'.repeat(LIMITS.maxJsonDepth + 1)}`, 'INVALID_JSON', undefined],
  ] as const)('refuses %s with %s', async (body, code, field) => {
    const got = await feedback(body);
    expect(got).toEqual(refused(code, field));
    if (field === undefined) expect(got.body.error).not.toHaveProperty('field');
  });

  it('names what was wrong in the message', async () => {
    expect((await feedback('{"label": "maybe"}')).body.error).toMatchObject({
      message: `"label" must be one of the model's labels: malignant, benign.`,
    });
    expect((await feedback('{}')).body.error).toMatchObject({ message: 'Missing "label".' });
    expect((await feedback('{"label": "benign", "extra": 1}')).body.error).toMatchObject({
      message: expect.stringMatching(/^Unknown field "extra"/),
    });
  });

  it('checks the id, then the media type, then the size, then the JSON', async () => {
    expect(await feedback('{', { id: 'idem#x' })).toEqual(refused('INVALID_ID', 'id'));
    expect(await feedback('label=benign', { type: 'application/x-www-form-urlencoded' })).toEqual(
      refused('UNSUPPORTED_MEDIA_TYPE', 'Content-Type'),
    );
    expect(await feedback(`{"label": "${'a'.repeat(LIMITS.maxFeedbackBodyBytes)}"}`)).toEqual(refused('PAYLOAD_TOO_LARGE'));
    expect(await feedback(`{"label": "${'a'.repeat(LIMITS.maxFeedbackBodyBytes - 20)}"}`)).toEqual(refused('INVALID_LABEL', 'label'));
  });

  it('takes a finite number as the label of a regression model', async () => {
    const post = (body: string) =>
      sendRegression({
        method: 'POST',
        resource: '/predictions/{id}/feedback',
        pathParameters: { id: ID },
        headers: { 'content-type': 'application/json' },
        body,
      });
    expect((await post('{"label": 1.5}')).body.body).toEqual({ label: 1.5 });
    expect(await post('{"label": "1.5"}')).toEqual(refused('INVALID_LABEL', 'label'));
    expect(await post('{"label": 1e999}')).toEqual(refused('INVALID_LABEL', 'label'));
  });
});

describe('routes that read no parameters', () => {
  it('leave the predict body to the route and ignore query strings', async () => {
    const predict = await send({ method: 'POST', resource: '/predict', query: { limit: 'x' }, body: 'not json' });
    expect(predict).toEqual({ status: 200, body: { params: {}, query: {}, body: null } });
    for (const resource of ['/model', '/health', '/openapi.json', '/']) {
      expect((await send({ method: 'GET', resource, query: { window: 'x' } })).status).toBe(200);
    }
  });

  it('hand the dashboard its file name as sent (the meta function decides which exist)', async () => {
    const file = (name: string) => send({ method: 'GET', resource: '/dashboard/{file}', pathParameters: { file: name } });
    expect((await file('app-3FZQ2B7K.js')).body.params).toEqual({ file: 'app-3FZQ2B7K.js' });
    expect((await file('..')).body.params).toEqual({ file: '..' });
  });
});

describe('the route table', () => {
  const shapeOf = (s: unknown) => (s as { shape?: Record<string, z.core.$ZodType> } | undefined)?.shape ?? {};

  it('gives every path parameter a schema, and no other', () => {
    for (const r of ROUTES as readonly RouteSpec[]) {
      const placeholders = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect({ route: r.id, params: Object.keys(shapeOf(r.params)) }).toEqual({ route: r.id, params: placeholders });
    }
  });

  it("refuses only with codes the route's OpenAPI operation declares", () => {
    for (const r of ROUTES as readonly RouteSpec[]) {
      const schemas = [r.params, r.query, r.body?.parsedBy === 'handler' ? r.body.schema(breastCancer) : undefined].filter(
        (s): s is NonNullable<typeof s> => s !== undefined,
      );
      const codes = new Set<ErrorCode>();
      for (const s of schemas) {
        for (const field of [s, ...Object.values(shapeOf(s))]) {
          const refusal = refusalOf(field);
          if (refusal !== undefined) codes.add(refusal.code);
        }
        // Every object answers for itself: not an object, unknown or missing fields.
        expect(refusalOf(s)).toBeDefined();
      }
      if (r.body?.parsedBy === 'handler')
        for (const c of ['INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const) codes.add(c);
      const declared = ROUTE_ERRORS[r.id] ?? [];
      expect({ route: r.id, undeclared: [...codes].filter((c) => !declared.includes(c)) }).toEqual({ route: r.id, undeclared: [] });
    }
  });

  it('documents in OpenAPI the defaults it applies and every body field it takes', async () => {
    const doc = buildOpenApi(breastCancer);
    const defaultOf = (path: string, name: string) =>
      (doc.paths[path].get as { parameters: { name: string; schema: { default?: unknown } }[] }).parameters.find((p) => p.name === name)
        ?.schema.default;
    expect((await list({})).body.query).toEqual({ limit: defaultOf('/predictions', 'limit') });
    expect((await summary({})).body.query).toEqual({ window: defaultOf('/metrics/summary', 'window') });
    const feedbackBody = doc.components.schemas.Feedback as { properties: Record<string, unknown>; additionalProperties: unknown };
    expect(Object.keys(feedbackBody.properties)).toEqual(['label', 'replace']);
    expect(feedbackBody.additionalProperties).toBe(false);
  });

  it('needs the manifest for a route whose body the model describes', () => {
    const postFeedback = ROUTES.find((r) => r.id === 'postFeedback') as RouteSpec;
    expect(() => requestParser(postFeedback, undefined)).toThrow(/postFeedback parses its body against the model/);
    expect(() => requestParser(ROUTES.find((r) => r.id === 'listPredictions') as RouteSpec, undefined)).not.toThrow();
  });
});
