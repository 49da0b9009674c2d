/**
 * The dashboard's versions card in a real browser (Debian's chromium through playwright-core) against a
 * real local system serving a split challenger: hidden while one version answered, then both versions
 * overlaid (predictions and latency per version) with each version's figures, and no console error; a
 * screenshot goes to test-artifacts/dashboard-versions.png.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { MODEL_VERSION_REQUEST_HEADER } from '../../contract/versions';
import { type LocalSystem, startLocal } from '../../local/system';
import { ensureWebBuilt } from '../../web/build';
import { CHROMIUM, describeWithTools } from '../support/external-tools';
import { modelVersionCopy } from '../support/model-version';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '../..');
const MODEL = join(ROOT, 'models/breast-cancer');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const API_KEY = 'dashboard-versions-key-0123456789abcdef';
const parity = (JSON.parse(readFileSync(join(MODEL, 'parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] }).rows;
const twin = modelVersionCopy(MODEL, '2.0.0');

describeWithTools(['chromium'], 'the versions card in a browser', () => {
  let system: LocalSystem;
  let browser: Browser;

  beforeAll(async () => {
    await ensureWebBuilt();
    system = await startLocal({
      port: 0,
      inMemory: true,
      apiKey: API_KEY,
      replayIntervalMs: 0,
      modelDir: MODEL,
      challenger: { dir: twin, mode: 'shadow' },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    rmSync(twin, { recursive: true, force: true });
  });

  async function predict(input: number[], headers: Record<string, string> = {}): Promise<string> {
    const res = await fetch(`${system.url}/predict`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ instances: [input] }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { predictions: { id: string }[] }).predictions[0]?.id ?? '';
  }

  async function open(): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1360, height: 1800 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.addInitScript((key) => localStorage.setItem('mlship.apiKey', key), API_KEY);
    await page.goto(`${system.url}/`);
    await page.waitForSelector('#content:not([hidden])');
    return { page, problems };
  }

  test('one version answered: no versions card (a shadow is logged apart, never as an answer)', async () => {
    for (const r of parity.slice(0, 10)) await predict(r.input);
    const { page, problems } = await open();
    expect(await page.locator('#versions').isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  test('two versions answered: both overlaid, with their figures side by side', async () => {
    // GIVEN requests pinned to the challenger beside the champion's, some fed back
    for (const [i, r] of parity.slice(10, 30).entries()) {
      const id = await predict(r.input, i % 2 === 0 ? { [MODEL_VERSION_REQUEST_HEADER]: '2.0.0' } : {});
      if (i < 8)
        await fetch(`${system.url}/predictions/${id}/feedback`, {
          method: 'POST',
          headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ label: r.label }),
        });
    }
    // WHEN the dashboard loads
    const { page, problems } = await open();
    // THEN the card shows one series per version in each chart
    expect(await page.locator('#versions').isVisible()).toBe(true);
    for (const id of ['chart-versions-volume', 'chart-versions-latency']) {
      const chart = page.locator(`#${id} .chart`);
      expect(await chart.locator('canvas').count()).toBeGreaterThan(0);
      expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(0);
      expect(await chart.locator('.u-legend .u-series').allTextContents()).toEqual(
        expect.arrayContaining([expect.stringContaining('1.0.0'), expect.stringContaining('2.0.0')]),
      );
    }
    // AND a row per version: 20 of the champion's (10 before, 10 now), 10 pinned to the challenger, 4 fed back each
    const rows = page.locator('#versions-body tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).locator('td').allTextContents()).toEqual([
      '1.0.0 (served)',
      '20',
      '4',
      '100.0%',
      expect.stringMatching(/^\d+ ms$/),
      expect.stringMatching(/^\d+ ms$/),
    ]);
    expect((await rows.nth(1).locator('td').allTextContents()).slice(0, 4)).toEqual(['2.0.0', '10', '4', '100.0%']);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('#versions').screenshot({ path: join(ARTIFACTS, 'dashboard-versions.png') });
    expect(problems).toEqual([]);
    await page.close();
  });
});
