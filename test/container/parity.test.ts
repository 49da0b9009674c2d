/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Served predictions equal scikit-learn's own on the held-out parity vectors saved beside each model:
 * same labels, probabilities within 1e-5; a regressor's values within 1e-5 relative.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type RunningServer, startServer } from '../../container/src/server';
import { checkBaselineMatches, parseBaseline } from '../../contract/baseline';
import { featureCount } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { BREAST_CANCER, closeAgent, DIGITS, maxProbabilityDiff, parity, postJson, ROOT } from './helpers';

afterAll(() => closeAgent());

describe.each([
  ['breast-cancer', BREAST_CANCER],
  ['digits', DIGITS],
  ['diabetes-risk', path.join(ROOT, 'models/diabetes-risk')],
  ['diabetes-progression', path.join(ROOT, 'models/diabetes-progression')],
])('%s', (_name, dir) => {
  let server: RunningServer;
  const par = parity(dir);

  beforeAll(async () => {
    server = await startServer({ modelDir: dir });
  });
  afterAll(() => server.close());

  test("the served answers match scikit-learn's on every parity row", async () => {
    expect(par.rows.length).toBeGreaterThanOrEqual(50);
    const reply = await postJson(server.url, { instances: par.rows.map((r) => r.input) });
    expect(reply.status).toBe(200);
    const predictions = reply.json().predictions;
    if (par.labels === undefined) {
      // A regressor: the served value against scikit-learn's (float64) prediction.
      const expected = (par.rows as unknown as { value: number }[]).map((r) => r.value);
      const worst = Math.max(...predictions.map((p, i) => Math.abs(p.value - expected[i]) / Math.max(1, Math.abs(expected[i]))));
      expect(worst).toBeLessThan(1e-5);
      return;
    }
    expect(predictions.map((p) => p.label)).toEqual(par.rows.map((r) => r.label));
    const worst = Math.max(...predictions.map((p, i) => maxProbabilityDiff(p.probabilities, par.rows[i].probabilities, par.labels)));
    expect(worst).toBeLessThan(1e-5);
  });

  test('the model files are small and the manifest and drift baseline agree with the model', () => {
    const manifest = readManifestFile(path.join(dir, 'model.json'));
    const baseline = parseBaseline(JSON.parse(readFileSync(path.join(dir, 'baseline.json'), 'utf8')));
    expect(readFileSync(path.join(dir, manifest.file)).length).toBeLessThan(1024 * 1024);
    expect(baseline.bins).toBe(10);
    expect(baseline.features).toHaveLength(featureCount(manifest));
    if (manifest.input.kind === 'tabular') expect(baseline.features.map((f) => f.name)).toEqual(manifest.input.features.map((f) => f.name));
    for (const f of baseline.features) expect(f.proportions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(Object.keys(baseline.classPriors ?? {})).toEqual(manifest.output.kind === 'classification' ? manifest.output.labels : []);
    checkBaselineMatches(manifest, baseline);
    // The held-out metrics the quality alerts are relative to, and a regressor's predicted-value bins.
    const heldOut = manifest.output.kind === 'classification' ? ['rows', 'accuracy', 'macroF1'] : ['rows', 'mae', 'rmse'];
    expect(Object.keys(baseline.evaluation ?? {})).toEqual(heldOut);
    expect(baseline.prediction === undefined).toBe(manifest.output.kind === 'classification');
  });
});
