/** Cold-start configuration, the meta routes and the OpenAPI document built from the route table. */
import { type AnyFunctionName, ENV, functionEnv } from '../../contract/env';
import { ROUTES } from '../../contract/routes';
import { readConfig, required } from '../../lambda/runtime/config';
import { jsonBody, proxyEvent } from './events';
import { loadHandler, MANIFEST_PATH } from './harness';

const fullEnv = (fn: AnyFunctionName, backend: 'fargate' | 'sagemaker') =>
  Object.fromEntries(functionEnv(fn, backend).map((n) => [n, n === ENV.BACKEND ? backend : n === ENV.LOG_TTL_DAYS ? '0' : 'x']));

describe('config', () => {
  it.each(['predict', 'query', 'feedback', 'meta', 'replay', 'analytics-writer', 'analytics-compactor', 'quality', 'hand-over'] as const)(
    'the %s function reads exactly functionEnv() and names every missing variable',
    (fn) => {
      for (const backend of ['fargate', 'sagemaker'] as const) {
        const env = fullEnv(fn, backend);
        expect(Object.keys(readConfig(fn, env).values).sort()).toEqual(functionEnv(fn, backend).sort());
        const missing = functionEnv(fn, backend).filter((n) => n !== ENV.BACKEND);
        const partial = Object.fromEntries(Object.entries(env).filter(([k]) => !missing.includes(k as never)));
        expect(() => readConfig(fn, partial)).toThrow(new RegExp(missing.join('.*')));
      }
    },
  );

  it('the golden-set check, not told its backend, needs its golden set at cold start and the test listener when it calls it', () => {
    // GIVEN the environment SageMaker gives it (no test listener)
    const config = readConfig('golden-check', fullEnv('golden-check', 'sagemaker'));
    // THEN it starts, and only reading the Fargate-only variable names it as missing
    expect(required(config, ENV.GOLDEN_SET_PATH)).toBe('x');
    expect(() => required(config, ENV.MODEL_URL)).toThrow('The golden-check function is missing environment variable(s): MLSHIP_MODEL_URL');
    expect(readConfig('golden-check', fullEnv('golden-check', 'fargate')).values[ENV.MODEL_URL]).toBe('x');
    expect(() => readConfig('golden-check', {})).toThrow(
      'The golden-check function is missing environment variable(s): MLSHIP_GOLDEN_SET_PATH',
    );
    expect(() => required(config, ENV.PREDICTION_TABLE)).toThrow(/not part of the golden-check function's environment/);
  });

  it('refuses an unknown backend', () => {
    expect(() => readConfig('predict', { ...fullEnv('predict', 'fargate'), [ENV.BACKEND]: 'lambda' })).toThrow(
      /must be one of fargate, sagemaker, sagemaker-serverless/,
    );
  });

  it('a handler fails at cold start when its configuration is incomplete', () => {
    expect(() => loadHandler('meta', { [ENV.BACKEND]: 'fargate' })).toThrow(/MLSHIP_MODEL_MANIFEST_PATH/);
    const paths = { [ENV.MODEL_BASELINE_PATH]: '/nonexistent/baseline.json', [ENV.DASHBOARD_DIR]: '/nonexistent/dashboard' };
    expect(() => loadHandler('meta', { [ENV.BACKEND]: 'fargate', [ENV.MODEL_MANIFEST_PATH]: '/nonexistent/model.json', ...paths })).toThrow(
      /Cannot read the model manifest/,
    );
  });
});

describe('meta routes', () => {
  const meta = () =>
    loadHandler('meta', {
      [ENV.BACKEND]: 'sagemaker-serverless',
      [ENV.MODEL_MANIFEST_PATH]: MANIFEST_PATH,
      [ENV.MODEL_BASELINE_PATH]: '/nonexistent/baseline.json',
      [ENV.DASHBOARD_DIR]: '/nonexistent/dashboard',
    });

  it('serves the manifest, health and an OpenAPI document covering every route', async () => {
    const h = meta();
    const model = jsonBody<{ name: string; version: string; input: { kind: string }; backend: string }>(
      await h(proxyEvent({ method: 'GET', resource: '/model' })),
    );
    expect(model).toMatchObject({ name: 'breast-cancer', version: '1.0.0', input: { kind: 'tabular' }, backend: 'sagemaker-serverless' });

    const health = await h(proxyEvent({ method: 'GET', resource: '/health' }));
    expect(health.statusCode).toBe(200);
    expect(jsonBody(health)).toEqual({ status: 'ok', model: { name: 'breast-cancer', version: '1.0.0' }, backend: 'sagemaker-serverless' });

    const doc = jsonBody<{ openapi: string; paths: Record<string, Record<string, { operationId: string; security: unknown[] }>> }>(
      await h(proxyEvent({ method: 'GET', resource: '/openapi.json' })),
    );
    expect(doc.openapi).toMatch(/^3\./);
    for (const r of ROUTES) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      expect(op?.operationId).toBe(r.id);
      expect(op?.security.length).toBe(r.apiKey ? 1 : 0);
    }
  });

  it('answers ROUTE_NOT_FOUND for routes of other functions', async () => {
    const res = await meta()(proxyEvent({ method: 'POST', resource: '/predict', body: '{}' }));
    expect(res.statusCode).toBe(404);
    expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'ROUTE_NOT_FOUND' }) });
  });
});
