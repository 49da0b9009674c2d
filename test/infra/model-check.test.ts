/**
 * `cdk synth` checks the manifest against the ONNX signature (no onnxruntime needed) and fails naming the
 * field; a converter-style model with categorical columns synthesizes like the examples.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { parseConfig } from '../../lib/config';
import { buildMlshipApp } from '../../lib/mlship-app';
import { ensureWebBuiltSync } from '../../web/build';
import { ROOT, synthBackend } from './synth';

const FIXTURE = join(ROOT, 'test/fixtures/byom/mixed-columns');

test('a manifest naming a tensor the model does not have fails the synth with one message naming the field', () => {
  // GIVEN a model directory whose model.json names the wrong probability output
  const dir = mkdtempSync(join(tmpdir(), 'mlship-check-'));
  try {
    cpSync(FIXTURE, dir, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    m.output.tensor = 'probabilities';
    writeFileSync(join(dir, 'model.json'), JSON.stringify(m));
    // WHEN the app is built THEN it throws before any stack exists
    expect(() =>
      buildMlshipApp(new App(), parseConfig({ backend: 'fargate', modelDir: dir }), {
        rootDir: ROOT,
        nag: false,
        dashboardDir: ensureWebBuiltSync(),
      }),
    ).toThrow(
      /^model\.json output\.tensor: names output "probabilities", but model\.onnx has outputs: output_label, output_probability\.$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a ColumnTransformer-style model with string, int, bool and double columns synthesizes with no violations', () => {
  const result = synthBackend('fargate', { modelDir: 'test/fixtures/byom/mixed-columns' });
  expect(result.synthError).toBeUndefined();
  expect(result.violations).toEqual([]);
}, 240_000);
