/** The meta function's model info with its drift baseline, and the dashboard it serves on the API's origin. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODEL_INFO_BASELINE_FIELD, parseBaseline } from '../../contract/baseline';
import { ENV } from '../../contract/env';
import { jsonBody, proxyEvent } from './events';
import { loadHandler, MANIFEST_PATH, MODEL_DIR } from './harness';

const BASELINE_PATH = join(MODEL_DIR, 'baseline.json');
let scratch: string;
let dashboard: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'mlship-meta-'));
  dashboard = join(scratch, 'dist');
  mkdirSync(dashboard);
  writeFileSync(join(dashboard, 'index.html'), '<!doctype html><title>dash</title><script src="dashboard/app-ABCD2345.js"></script>');
  writeFileSync(join(dashboard, 'app-ABCD2345.js'), 'console.log(1)');
  writeFileSync(join(dashboard, 'app-ABCD2345.js.map'), '{}');
  writeFileSync(join(dashboard, 'styles-0a1b2c3d4e.css'), 'body{}');
  writeFileSync(join(dashboard, 'notes.txt'), 'not a dashboard file type');
  writeFileSync(join(scratch, 'secret.js'), 'outside the dashboard');
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const meta = (baselinePath = BASELINE_PATH, manifestPath = MANIFEST_PATH) =>
  loadHandler('meta', {
    [ENV.BACKEND]: 'fargate',
    [ENV.MODEL_MANIFEST_PATH]: manifestPath,
    [ENV.MODEL_BASELINE_PATH]: baselinePath,
    [ENV.DASHBOARD_DIR]: dashboard,
  });

describe('GET /model', () => {
  it('includes the training baseline when the model has one', async () => {
    const res = await meta()(proxyEvent({ method: 'GET', resource: '/model' }));
    expect(res.statusCode).toBe(200);
    const body = jsonBody<Record<string, unknown>>(res);
    expect(body).toMatchObject({ name: 'breast-cancer', backend: 'fargate' });
    expect(body[MODEL_INFO_BASELINE_FIELD]).toEqual(parseBaseline(JSON.parse(readFileSync(BASELINE_PATH, 'utf8'))));
  });

  it('answers without a baseline when the model has none', async () => {
    const body = jsonBody<Record<string, unknown>>(
      await meta(join(scratch, 'no-baseline.json'))(proxyEvent({ method: 'GET', resource: '/model' })),
    );
    expect(body.name).toBe('breast-cancer');
    expect(body).not.toHaveProperty(MODEL_INFO_BASELINE_FIELD);
  });

  it("refuses to start with another model's baseline", () => {
    const digits = join(MODEL_DIR, '..', 'digits', 'baseline.json');
    expect(() => meta(digits)).toThrow(/baseline describes 64 features but model breast-cancer takes 30/);
  });
});

describe('dashboard', () => {
  const file = (name: string) =>
    meta()(proxyEvent({ method: 'GET', resource: '/dashboard/{file}', pathParameters: { file: name }, headers: {} }));

  it('serves the page at the API root, revalidated, under a strict Content-Security-Policy', async () => {
    const res = await meta()(proxyEvent({ method: 'GET', resource: '/', headers: {} }));
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<title>dash</title>');
    expect(res.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
    const csp = String(res.headers?.['content-security-policy']);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self';/);
    expect(csp).toMatch(/connect-src 'self';/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });

  it('sends a stage root without its slash to the slash, so the relative links keep the stage', async () => {
    const event = proxyEvent({ method: 'GET', resource: '/', headers: {} });
    event.requestContext.path = '/prod';
    const res = await meta()(event);
    expect(res.statusCode).toBe(301);
    expect(res.headers?.location).toBe('/prod/');
  });

  it('serves hashed files with their content type, cached as immutable', async () => {
    const js = await file('app-ABCD2345.js');
    expect(js.statusCode).toBe(200);
    expect(js.body).toBe('console.log(1)');
    expect(js.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
    });
    expect((await file('styles-0a1b2c3d4e.css')).headers).toMatchObject({
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
    });
    expect((await file('app-ABCD2345.js.map')).headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8' });
  });

  it('sends the page asked under dashboard/ back to the root, where its links work', async () => {
    const res = await file('index.html');
    expect(res.statusCode).toBe(301);
    expect(res.headers?.location).toBe('../');
  });

  it.each([
    '../secret.js',
    '..',
    '.',
    '..\\secret.js',
    '/etc/passwd',
    'a/../../secret.js',
    '.hidden.js',
    'notes.txt',
    'missing-ABCD2345.js',
    '',
    `${'x'.repeat(200)}.js`,
  ])('refuses %j with 404 NOT_FOUND and reads nothing outside the folder', async (name) => {
    const res = await file(name);
    expect(res.statusCode).toBe(404);
    expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'NOT_FOUND', field: 'file' }) });
    expect(res.body).not.toContain('outside the dashboard');
  });
});
