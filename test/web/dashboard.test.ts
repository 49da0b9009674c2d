/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a real local
 * system: empty and error states first, then real predictions and feedback, every chart drawn, the
 * table filled, no console errors; a screenshot goes to test-artifacts/dashboard.png. Then deployments
 * with a JWT or IAM on the operator routes: the token field, its refusals, and IAM's limit.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { API_KEY_HEADER } from '../../contract/routes';
import { LOCAL_NAMES, S3RVER_CREDENTIALS } from '../../local/paths';
import { type LocalSystem, startLocal } from '../../local/system';
import { ensureWebBuilt } from '../../web/build';
import { CHROMIUM, describeWithTools } from '../support/external-tools';
import { startIssuer, type TestIssuer } from '../support/jwt-issuer';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '../..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const API_KEY = 'dashboard-test-key-0123456789abcdef';
const parity = (
  JSON.parse(readFileSync(join(ROOT, 'models/breast-cancer/parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] }
).rows;

describeWithTools(['chromium'], 'the dashboard in a browser', () => {
  let system: LocalSystem;
  let browser: Browser;

  beforeAll(async () => {
    await ensureWebBuilt();
    system = await startLocal({ port: 0, inMemory: true, apiKey: API_KEY, replayIntervalMs: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  /** A page with the given saved settings, opened on the dashboard and settled after its first load. */
  async function open(settings: { apiKey?: string; baseUrl?: string }): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1360, height: 1500 } });
    await page.addInitScript((s) => {
      if (s.apiKey !== undefined) localStorage.setItem('mlship.apiKey', s.apiKey);
      if (s.baseUrl !== undefined) localStorage.setItem('mlship.baseUrl', s.baseUrl);
    }, settings);
    await page.goto(`${system.url}/`);
    await page.waitForSelector('body[data-loaded="true"]');
    return page;
  }

  /**
   * A page opened on `url` with the API key saved and the content shown, and the problems it reports:
   * console errors and warnings, uncaught errors, and HTTP answers of 400 or more.
   */
  async function watchedPage(url: string, viewport = { width: 1360, height: 1500 }): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    await page.addInitScript((key) => localStorage.setItem('mlship.apiKey', key), API_KEY);
    await page.goto(url);
    await page.waitForSelector('#content:not([hidden])');
    return { page, problems };
  }

  async function statusText(page: Page): Promise<string> {
    return (await page.locator('#status').textContent()) ?? '';
  }

  async function post(path: string, body: unknown): Promise<unknown> {
    const res = await fetch(system.url + path, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return res.json();
  }

  describe('dashboard states before any prediction', () => {
    test('no key: asks for it and says where to find it', async () => {
      const page = await open({});
      expect(await statusText(page)).toMatch(/Enter the API key.*npm start/);
      // An instruction before anything went wrong, not a red error.
      expect(await page.locator('#status').getAttribute('class')).toBe('status status-info');
      expect(await page.locator('#content').isHidden()).toBe(true);
      await page.close();
    });

    test('wrong key: says the API refused it', async () => {
      const page = await open({ apiKey: 'not-the-key-0000000000000' });
      expect(await statusText(page)).toMatch(/refused the key \(403 FORBIDDEN\)/);
      await page.close();
    });

    test('API down: says it cannot reach it', async () => {
      const page = await open({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:9' });
      expect(await statusText(page)).toMatch(/Cannot reach the API at http:\/\/127\.0\.0\.1:9/);
      await page.close();
    });

    test('no predictions yet: shows how to send one', async () => {
      const page = await open({ apiKey: API_KEY });
      expect(await statusText(page)).toMatch(/No predictions yet.*\/predict/);
      await page.close();
    });
  });

  describe('dashboard with real predictions', () => {
    /** The 24-hour window's ROC AUC (from the log), which the 30-day window (from the store) must repeat. */
    let auc24h: string | undefined;
    test('loads, draws every chart, lists the predictions, logs no console error', async () => {
      // 50 held-out rows in 5 requests (arrays and named features), then feedback on 20 of them.
      const names = system.manifest.input.kind === 'tabular' ? system.manifest.input.features.map((f) => f.name) : [];
      const ids: string[] = [];
      for (let i = 0; i < parity.length; i += 10) {
        const instances = parity
          .slice(i, i + 10)
          .map((r, j) => (j % 2 === 0 ? r.input : Object.fromEntries(names.map((n, k) => [n, r.input[k]]))));
        const answer = (await post('/predict', { instances })) as { predictions: { id: string }[] };
        ids.push(...answer.predictions.map((p) => p.id));
      }
      for (let i = 0; i < 20; i++)
        await post(`/predictions/${ids[i]}/feedback`, {
          label: i < 17 ? parity[i].label : parity[i].label === 'benign' ? 'malignant' : 'benign',
        });

      const { page, problems } = await watchedPage(`${system.url}/`);

      expect(await page.locator('#model-name').textContent()).toBe('breast-cancer 1.0.0');
      expect(await page.locator('#stat-count').textContent()).toBe('50');
      expect(await page.locator('#stat-feedback').textContent()).toBe('20 with feedback');
      expect(await page.locator('#stat-accuracy').textContent()).toBe('85.0%');
      expect(await page.locator('#stat-p99').textContent()).toMatch(/^\d+ ms$/);

      // Every chart drew points: uPlot's canvas is there and the chart reports its point count.
      for (const id of ['chart-volume', 'chart-latency', 'chart-classes', 'chart-accuracy', 'chart-drift']) {
        const chart = page.locator(`#${id}`);
        expect(await chart.locator('canvas').count()).toBeGreaterThan(0);
        expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(0);
      }
      expect(Number(await page.locator('#chart-classes').getAttribute('data-points'))).toBe(2);
      // GET /model carries the baseline, so drift is measured against training, not older predictions.
      expect(await page.locator('#note-drift').textContent()).toMatch(/PSI of \d+ recent inputs against the training baseline/);

      // The table lists the newest predictions with their inputs.
      const rows = page.locator('#predictions-body tr');
      expect(await rows.count()).toBe(25);
      const tableText = (await page.locator('#predictions-body').textContent()) ?? '';
      expect(tableText).toContain(ids[ids.length - 1]);
      expect(tableText).toMatch(/(benign|malignant) \(\d+\.\d%\)/);
      expect(await page.locator('#status').isHidden()).toBe(true);

      // Per-class quality of the served version (figures by hand in test/lambda/summary.test.ts); no regression charts.
      const classRows = page.locator('#class-metrics-body tr');
      expect(await classRows.count()).toBe(2);
      expect(await classRows.nth(0).locator('td').allTextContents()).toEqual([
        '1.0.0',
        'malignant',
        expect.stringMatching(/%$/),
        expect.stringMatching(/%$/),
        expect.stringMatching(/%$/),
        expect.stringMatching(/^\d+$/),
      ]);
      const note24h = (await page.locator('#note-class-metrics').textContent()) ?? '';
      expect(note24h).toMatch(/^1\.0\.0: macro F1 \d+\.\d%, weighted F1 \d+\.\d%, ROC AUC 0\.\d{3}, ECE 0\.\d{3} \(20 fed back\)$/);
      auc24h = note24h.match(/ROC AUC (0\.\d{3})/)?.[1];
      for (const id of ['chart-predicted', 'chart-error', 'chart-residuals']) expect(await page.locator(`#${id}`).isHidden()).toBe(true);

      // The confusion matrix of the version: the first 17 fed back the predicted label, the last 3 the other one.
      const flip = (l: string) => (l === 'benign' ? 'malignant' : 'benign');
      const cell = (actual: string, predicted: string) =>
        parity.slice(0, 20).filter((r, i) => (i < 17 ? r.label : flip(r.label)) === actual && r.label === predicted).length;
      const matrix = page.locator('#confusion-matrices .confusion');
      expect(await matrix.count()).toBe(1);
      expect(await matrix.getAttribute('data-version')).toBe('1.0.0');
      expect(await matrix.locator('h3').textContent()).toMatch(/^Version 1\.0\.0 20 fed back · ROC AUC 0\.\d{3} · ECE 0\.\d{3}$/);
      expect(await matrix.locator('thead th').allTextContents()).toEqual(['true ↓ predicted →', 'malignant', 'benign']);
      const body = matrix.locator('tbody tr');
      expect(await body.nth(0).locator('th, td').allTextContents()).toEqual([
        'malignant',
        String(cell('malignant', 'malignant')),
        String(cell('malignant', 'benign')),
      ]);
      expect(await body.nth(1).locator('th, td').allTextContents()).toEqual([
        'benign',
        String(cell('benign', 'malignant')),
        String(cell('benign', 'benign')),
      ]);
      expect(cell('malignant', 'malignant') + cell('benign', 'benign')).toBe(17);
      // The reliability curve of the served version, beside the dashed diagonal.
      expect(await page.locator('#card-reliability').isVisible()).toBe(true);
      expect(await page.locator('#chart-reliability canvas').count()).toBeGreaterThan(0);
      expect(Number(await page.locator('#chart-reliability').getAttribute('data-points'))).toBeGreaterThan(0);
      expect(await page.locator('#note-reliability').textContent()).toMatch(/\(1\.0\.0: 20 fed back\)/);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      expect(problems).toEqual([]);
      await page.close();
    });

    test('a 30-day window is answered from the analytics store with the figures of the same predictions', async () => {
      // GIVEN the 50 predictions and 20 feedbacks above, handed to the analytics writer as the stream does
      await system.flushAnalytics();
      const { page, problems } = await watchedPage(`${system.url}/`);
      expect(await page.locator('#window option').allTextContents()).toEqual(['1 hour', '24 hours', '7 days', '30 days', '90 days']);

      // WHEN the operator picks 30 days
      await page.selectOption('#window', '30d');

      // THEN the summary says it comes from the store (whole days), with the counts the log gave for the day
      await page.waitForFunction(() => document.getElementById('stat-window')?.textContent?.includes('analytics store'), undefined, {
        timeout: 60_000,
      });
      expect(await page.locator('#stat-window').textContent()).toMatch(/^since \d{4}-\d{2}-\d{2} \(last 30d, analytics store\)$/);
      expect(await page.locator('#stat-count').textContent()).toBe('50');
      expect(await page.locator('#stat-feedback').textContent()).toBe('20 with feedback');
      expect(await page.locator('#stat-accuracy').textContent()).toBe('85.0%');
      expect(await page.locator('#stat-p99').textContent()).toMatch(/^\d+ ms$/);
      expect(await page.locator('#note-classes').textContent()).toBe('predicted classes, last 30d');
      // Per-class quality from the store too, with the binary classifier's ROC AUC from the stored scores (the
      // same figure as the log's), without ECE (the store holds no probabilities per bin)
      expect(await page.locator('#class-metrics-body tr').count()).toBe(2);
      expect(await page.locator('#note-class-metrics').textContent()).toMatch(
        new RegExp(`^1\\.0\\.0: macro F1 \\d+\\.\\d%, weighted F1 \\d+\\.\\d%, ROC AUC ${auc24h} \\(20 fed back\\)$`),
      );
      expect(Number(await page.locator('#chart-classes').getAttribute('data-points'))).toBe(2);
      // The confusion matrix from the store's cells, with the AUC; no reliability curve (no probabilities per bin there).
      expect(await page.locator('#confusion-matrices .confusion h3').textContent()).toBe(`Version 1.0.0 20 fed back · ROC AUC ${auc24h}`);
      expect(await page.locator('#confusion-matrices .confusion td').allTextContents()).toHaveLength(4);
      expect(await page.locator('#card-reliability').isHidden()).toBe(true);
      expect(await page.locator('#status').isHidden()).toBe(true);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-30d.png'), fullPage: true });
      expect(problems).toEqual([]);
      await page.close();
    });

    test.each([1400, 390])('at %i px: fits the width, dates in the table on one line, no console error (screenshot)', async (width) => {
      const { page, problems } = await watchedPage(`${system.url}/`, { width, height: 900 });
      await page.waitForSelector('#chart-drift[data-points]');

      // Nothing wider than the window: no sideways scrolling of the page (the table scrolls in its own box).
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        view: document.documentElement.clientWidth,
        widest: Math.max(...Array.from(document.querySelectorAll('.card, .stat, canvas'), (e) => e.getBoundingClientRect().right)),
      }));
      expect(widths.page).toBeLessThanOrEqual(widths.view);
      expect(widths.widest).toBeLessThanOrEqual(widths.view);

      // The time column shows the date and stays on one line.
      const time = page.locator('#predictions-body td.time').first();
      expect(await time.textContent()).toMatch(/\d{1,2}\/\d{1,2}\/\d{2,4}.*\d{1,2}:\d{2}:\d{2}/);
      const box = await time.evaluate((td) => ({ whiteSpace: getComputedStyle(td).whiteSpace }));
      expect(box.whiteSpace).toBe('nowrap');

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-${width}.png`), fullPage: true });
      expect(problems).toEqual([]);
      await page.close();
    });
  });

  describe('dashboard of a regression model', () => {
    let regression: LocalSystem;
    const rows = (
      JSON.parse(readFileSync(join(ROOT, 'models/diabetes-progression/parity.json'), 'utf8')) as { rows: { input: number[] }[] }
    ).rows;

    beforeAll(async () => {
      regression = await startLocal({
        port: 0,
        inMemory: true,
        apiKey: API_KEY,
        replayIntervalMs: 0,
        modelDir: join(ROOT, 'models/diabetes-progression'),
      });
    });
    afterAll(async () => regression?.stop());

    test('shows predicted values against training, error and residuals, and no class charts', async () => {
      // GIVEN 30 predictions in two requests, the 10 newest fed back: true values 5 below (error +5) and 15 above (error −15) in turn
      const send = async (path: string, body: unknown) => {
        const res = await fetch(regression.url + path, {
          method: 'POST',
          headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(res.status).toBe(200);
        return res.json() as Promise<{ predictions: { id: string; value: number }[] }>;
      };
      await send('/predict', { instances: rows.slice(0, 20).map((r) => r.input) });
      const { predictions } = await send('/predict', { instances: rows.slice(20, 30).map((r) => r.input) });
      for (const [i, p] of predictions.entries())
        await send(`/predictions/${p.id}/feedback`, { label: i % 2 === 0 ? p.value - 5 : p.value + 15 });

      const { page, problems } = await watchedPage(`${regression.url}/`);

      // THEN the stat is the served version's MAE: (5 + 15) / 2 = 10
      expect(await page.locator('#stat-quality-label').textContent()).toBe('Mean absolute error');
      expect(await page.locator('#stat-accuracy').textContent()).toBe('10.00');
      expect(await page.locator('#stat-feedback').textContent()).toBe('10 with feedback (version 1.0.0)');
      // The predicted values over the baseline's bins, the error per bucket and one residual per fed-back prediction
      expect(await page.locator('#chart-predicted canvas').count()).toBeGreaterThan(0);
      expect(await page.locator('#note-predicted').textContent()).toBe(
        'share of 30 recent predicted values per training bin, beside the training share',
      );
      expect(Number(await page.locator('#chart-error').getAttribute('data-points'))).toBeGreaterThan(0);
      expect(Number(await page.locator('#chart-residuals').getAttribute('data-points'))).toBe(10);
      // No class charts and no per-class table for a regression model
      for (const id of ['chart-classes', 'chart-accuracy', 'class-metrics-body', 'confusion-matrices', 'chart-reliability'])
        expect(await page.locator(`#${id}`).isHidden()).toBe(true);
      // The table shows each true value with the error
      expect((await page.locator('#predictions-body').textContent()) ?? '').toMatch(/\(error \+5\.00\)/);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-regression.png'), fullPage: true });
      expect(problems).toEqual([]);
      await page.close();
    });
  });

  describe('dashboard of a deployment with more than keys on its operator routes (docs/auth.md)', () => {
    let issuer: TestIssuer;
    let jwtSystem: LocalSystem;
    let iamSystem: LocalSystem;
    beforeAll(async () => {
      issuer = await startIssuer();
      jwtSystem = await startLocal({
        port: 0,
        inMemory: true,
        apiKey: API_KEY,
        replayIntervalMs: 0,
        auth: {
          modes: { operatorRoutes: 'jwt', otherRoutes: 'apiKey' },
          jwt: { issuer: issuer.issuer, audience: ['mlship-api'], jwksUri: issuer.jwksUri },
        },
      });
      iamSystem = await startLocal({
        port: 0,
        inMemory: true,
        apiKey: API_KEY,
        replayIntervalMs: 0,
        auth: {
          modes: { operatorRoutes: 'iam', otherRoutes: 'apiKey' },
          iam: { credentials: S3RVER_CREDENTIALS, region: LOCAL_NAMES.region },
        },
      });
      const row = parity[0]?.input;
      const res = await fetch(`${jwtSystem.url}/predict`, {
        method: 'POST',
        headers: { [API_KEY_HEADER]: API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [row] }),
      });
      expect(res.status).toBe(200);
    });
    afterAll(async () => {
      await jwtSystem?.stop();
      await iamSystem?.stop();
      await issuer?.close();
    });

    /** A page on `system` with the key saved and `token` in the tab's session, settled after its first load. */
    async function openOn(system: LocalSystem, token?: string): Promise<Page> {
      const page = await browser.newPage({ viewport: { width: 1360, height: 1500 } });
      await page.addInitScript(
        (s) => {
          localStorage.setItem('mlship.apiKey', s.key);
          if (s.token !== undefined) sessionStorage.setItem('mlship.token', s.token);
        },
        { key: API_KEY, token },
      );
      await page.goto(`${system.url}/`);
      await page.waitForSelector('body[data-loaded="true"]');
      return page;
    }

    test('jwt: asks for a token when the API wants one, sends it as a bearer token, keeps it in the tab only', async () => {
      // GIVEN the key alone: the API's 401 shows the token field and names what is missing
      const page = await openOn(jwtSystem);
      expect(await statusText(page)).toMatch(
        /asks for a bearer token on \/(predictions|metrics\/summary) \(auth mode jwt; 401 UNAUTHORIZED\)/,
      );
      expect(await page.locator('#token').isVisible()).toBe(true);
      expect(await page.locator('#content').isHidden()).toBe(true);

      // WHEN a token from the issuer is entered
      const token = await issuer.sign();
      const sent: (string | undefined)[] = [];
      page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/predictions') sent.push(r.headers().authorization);
      });
      await page.fill('#token', token);
      await page.click('#settings button[type="submit"]');
      await page.waitForSelector('#content:not([hidden])');

      // THEN the views load with it, sent as Authorization: Bearer, and only the session holds it
      expect(await page.locator('#stat-count').textContent()).toBe('1');
      expect(sent).toContain(`Bearer ${token}`);
      expect(await page.evaluate(() => sessionStorage.getItem('mlship.token'))).toBe(token);
      expect(await page.evaluate(() => JSON.stringify(localStorage)).then((l) => l.includes(token))).toBe(false);
      await page.close();
    });

    test('jwt: a token the API refuses is named as the problem, not the key', async () => {
      const page = await openOn(jwtSystem, await issuer.sign({ aud: 'another-api' }));
      expect(await statusText(page)).toMatch(/refused the bearer token on \/(predictions|metrics\/summary) \(401 UNAUTHORIZED: .*aud/);
      expect(await page.locator('#token').isVisible()).toBe(true);
      await page.close();
    });

    test('iam: says a browser cannot sign, and what to use instead', async () => {
      const page = await openOn(iamSystem);
      expect(await statusText(page)).toMatch(
        /needs a SigV4-signed request \(auth mode iam; 403 FORBIDDEN\).*cannot show it.*mlship predictions/,
      );
      // No token would help: the field stays hidden.
      expect(await page.locator('#token').isHidden()).toBe(true);
      await page.close();
    });
  });
});
