/**
 * `mlship report`: the per-version figures from hand-computed fixtures, the HTML self-contained, and the
 * whole path against a running local system (API, prediction log, analytics store).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runQuery } from '../../cli/analytics';
import { callApi } from '../../cli/api';
import { localTarget } from '../../cli/target';
import type { NamedQuery } from '../../contract/analytics-queries';
import type { ModelBaseline } from '../../contract/baseline';
import { type ModelManifest, parseManifest } from '../../contract/manifest';
import { qualityThresholds } from '../../contract/metrics/thresholds';
import type { PredictionRecord } from '../../contract/prediction-log';
import { collectReport } from '../../local/report/collect';
import { reportHtml } from '../../local/report/html';
import { versionReports } from '../../local/report/versions';
import { writeReport } from '../../local/report/write';
import { type LocalSystem, startLocal } from '../../local/system';

jest.setTimeout(120_000);

const ARTIFACTS = join(__dirname, '../../test-artifacts');
const MODEL_DIR = join(__dirname, '../../models/diabetes-progression');
const manifest: ModelManifest = parseManifest(JSON.parse(readFileSync(join(MODEL_DIR, 'model.json'), 'utf8')));
const baseline = JSON.parse(readFileSync(join(MODEL_DIR, 'baseline.json'), 'utf8')) as ModelBaseline;

function record(i: number, predictedValue: number, latencyMs: number, actual?: number | string): PredictionRecord {
  const createdAt = new Date(Date.UTC(2026, 0, 1, 12, 0, i)).toISOString();
  return {
    id: `R${i}`,
    model: manifest.name,
    modelVersion: '1.0.0',
    createdAt,
    inputValues: [50, 1, 25, 90, 200, 120, 50, 4, 4.5, 90],
    predictedValue,
    latencyMs,
    requestId: `r${i}`,
    ...(actual === undefined ? {} : { feedback: { label: actual, givenAt: createdAt } }),
  };
}

describe('report figures per version', () => {
  // Predicted 100, 150, 200 against 110, 140, "230" (text, as older items hold it), one without feedback.
  const records = [record(0, 100, 10, 110), record(1, 150, 20, 140), record(2, 200, 30, '230'), record(3, 175, 40)];

  it('gives error, latency and the MAE verdict against the held-out MAE', () => {
    const [v] = versionReports(manifest, baseline, records, qualityThresholds({ minimumSample: 3 }));
    // Errors −10, +10, −30
    expect(v?.summary.regression?.mae).toBeCloseTo(50 / 3, 12);
    expect(v?.summary.regression?.meanError).toBeCloseTo(-10, 12);
    // Latencies 10, 20, 30, 40: nearest rank 2 (p50), 4 (p90, p99)
    expect(v?.latencyMs).toEqual({ p50: 20, p90: 40, p99: 40 });
    // MAE 16.67 within 1.25 × the held-out 42.5461
    expect(v?.alerts[0]).toEqual({ metric: 'mae', status: 'ok', value: v?.summary.regression?.mae, limit: 42.5461 * 1.25 });
    // Every predicted value lands in one of the training bins
    expect(v?.predictedValues?.reduce((s, b) => s + b.count, 0)).toBe(4);
  });

  it('says "not enough data" below the default minimum sample', () => {
    const [v] = versionReports(manifest, baseline, records);
    expect(v?.alerts).toEqual([
      { metric: 'mae', status: 'insufficient-data', n: 3, minimum: 100 },
      { metric: 'driftedFeatureShare', status: 'insufficient-data', n: 4, minimum: 100 },
    ]);
    expect(v?.analysis.missing.every((m) => m.rate === 0)).toBe(true);
  });
});

describe('the report of a classifier', () => {
  it('holds the per-class table and the confusion matrix of each version, escaped', () => {
    const classifier = parseManifest(JSON.parse(readFileSync(join(__dirname, '../../models/breast-cancer/model.json'), 'utf8')));
    const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
    const rec = (id: string, label: string, actual: string, p: number): PredictionRecord => ({
      id,
      model: classifier.name,
      modelVersion: '<v1>',
      createdAt: at,
      label,
      probabilities: { [label]: p, [label === 'benign' ? 'malignant' : 'benign']: 1 - p },
      latencyMs: 5,
      requestId: id,
      feedback: { label: actual, givenAt: at },
    });
    // malignant→malignant, malignant→benign (true benign), benign→benign
    const versions = versionReports(classifier, undefined, [
      rec('a', 'malignant', 'malignant', 0.9),
      rec('b', 'malignant', 'benign', 0.6),
      rec('c', 'benign', 'benign', 0.8),
    ]);
    const html = reportHtml({
      manifest: classifier,
      window: '24h',
      from: at,
      to: at,
      generatedAt: at,
      summary: {
        model: classifier.name,
        window: '24h',
        from: at,
        to: at,
        count: 3,
        truncated: false,
        countsByLabel: {},
        latencyMs: { p50: 5, p90: 5, p99: 5 },
        feedbackCount: 3,
        accuracy: 2 / 3,
        versions: [],
        source: 'log',
      },
      recordsRead: 3,
      truncated: false,
      versions,
      analytics: [],
    });
    // malignant: precision 1/2, recall 1/1; benign: precision 1/1, recall 1/2
    expect(html).toContain('<tr><td>malignant</td><td>50.0%</td><td>100.0%</td><td>66.7%</td><td>1</td></tr>');
    expect(html).toContain('<tr><td>benign</td><td>100.0%</td><td>50.0%</td><td>66.7%</td><td>2</td></tr>');
    // Rows the true label: malignant [1, 0], benign [1, 1]
    expect(html).toContain('<tr><td>malignant</td><td>1</td><td>0</td></tr><tr><td>benign</td><td>1</td><td>1</td></tr>');
    // Reliability of the predicted label's probability: 0.6 wrong, 0.8 and 0.9 right, one a bin
    expect(html).toContain(
      '<tr><td>0.6–0.7</td><td>1</td><td>0.6</td><td>0.0%</td></tr><tr><td>0.8–0.9</td><td>1</td><td>0.8</td><td>100.0%</td></tr><tr><td>0.9–1</td><td>1</td><td>0.9</td><td>100.0%</td></tr>',
    );
    // A version name is text, never markup; without a baseline drift says so
    expect(html).toContain('Version &#60;v1&#62;');
    expect(html).not.toContain('<v1>');
    expect(html).toContain('The model has no baseline.json: drift is not measured.');
  });
});

describe('the report file', () => {
  let system: LocalSystem;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlship-report-'));
    system = await startLocal({ port: 0, dataDir: join(dir, 'data'), modelDir: MODEL_DIR, replayIntervalMs: 0 });
  });
  afterAll(async () => {
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds quality, drift, missing rates and latency per version, with inline charts and nothing fetched', async () => {
    // GIVEN 4 predictions of the served model, two fed back 5 below and 15 above what was predicted
    const target = localTarget(system.dataDir, system.apiKey);
    const rows = (JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[] }[] }).rows;
    const answer = await callApi<{ predictions: { id: string; value: number }[] }>(target, '/predict', {
      method: 'POST',
      body: JSON.stringify({ instances: rows.slice(0, 4).map((r) => r.input) }),
    });
    const [a, b] = answer.predictions;
    for (const [p, actual] of [
      [a, (a?.value ?? 0) - 5],
      [b, (b?.value ?? 0) + 15],
    ] as const)
      await callApi(target, `/predictions/${p?.id}/feedback`, { method: 'POST', body: JSON.stringify({ label: actual }) });
    await system.flushAnalytics();

    // WHEN the report of the last day is written
    const out = join(dir, 'report.html');
    const source = {
      getJson: <T>(path: string) => callApi<T>(target, path),
      named: (name: NamedQuery, since: string) => runQuery(target, { named: name, since, dataDir: system.dataDir }),
    };
    const message = await writeReport(source, { since: '24h', out });
    expect(message).toMatch(/diabetes-progression, last 24h, 4 predictions in 1 version/);

    // THEN: MAE (5 + 15) / 2 = 10, bias (5 − 15) / 2 = −5
    const html = readFileSync(out, 'utf8');
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'report.html'), html);
    const data = await collectReport(source, { since: '24h' });
    expect(data.versions[0]?.summary.regression).toMatchObject({ count: 2 });
    expect(data.versions[0]?.summary.regression?.mae).toBeCloseTo(10, 9);
    expect(data.versions[0]?.summary.regression?.meanError).toBeCloseTo(-5, 9);
    expect(html).toContain('<td>10</td>');
    for (const section of [
      'Overview per version',
      'Quality',
      'Drift against the training baseline',
      'Missing values',
      'Latency per version',
    ]) {
      expect(html).toContain(`<h2>${section}`);
    }
    // The per-day section from the analytics store: regression error and latency, no classifier query
    expect(data.analytics.map((s) => [s.name, s.error])).toEqual([
      ['regression-error-by-day', undefined],
      ['latency-percentiles', undefined],
    ]);
    expect(data.analytics[0]?.rows[0]).toMatchObject({ predictions: expect.anything(), n: expect.anything() });
    // Self-contained: charts inline, no script, no link or source to fetch
    expect(html).toMatch(/<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(html).not.toMatch(/<script|<link|\ssrc=|\shref=|url\(/i);
    expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:/);
  });
});
