/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * `mlship init` on converter-style ONNX files: the manifest inferred from the signature and the ML ops,
 * baseline and parity from a sample CSV, flags asked for by name, and the written folder served as is.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startServer } from '../../container/src/server';
import { parseBaseline } from '../../contract/baseline';
import { initModel } from '../../local/cli/init';
import { closeAgent, postJson, ROOT } from '../container/helpers';

const FIXTURES = path.join(ROOT, 'test/fixtures/byom');
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'mlship-init-'));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  closeAgent();
});

/** A sample CSV from a fixture's parity rows, with the framework's answer in the last column. */
function sampleCsv(fixture: string, header: string[], answer: (r: { label?: string; value?: number }) => string): string {
  const rows = (
    JSON.parse(readFileSync(path.join(FIXTURES, fixture, 'parity.json'), 'utf8')) as {
      rows: { input: unknown; label?: string; value?: number }[];
    }
  ).rows;
  const cells = (input: unknown) =>
    (Array.isArray(input) ? input : Object.values(input as object)).map((v) => (typeof v === 'string' ? `"${v}"` : String(v)));
  const file = path.join(scratch, `${fixture}.csv`);
  writeFileSync(file, [header.join(','), ...rows.map((r) => [...cells(r.input), answer(r)].join(','))].join('\n') + '\n');
  return file;
}

test('a skl2onnx-style random forest: labels from the ZipMap, names from the header, parity checked, then served', async () => {
  // GIVEN a TreeEnsembleClassifier + ZipMap model and a sample with scikit-learn's own predictions
  const data = sampleCsv(
    'iris-forest-int',
    ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'predicted'],
    (r) => r.label as string,
  );
  const out = path.join(scratch, 'iris');
  // WHEN init runs with only the file, the folder, the sample and the expected column
  const r = await initModel({ model: path.join(FIXTURES, 'iris-forest-int/model.onnx'), out, data, expectedColumn: 'predicted' });
  // THEN it infers what the hand-written fixture manifest says
  const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'iris-forest-int/model.json'), 'utf8'));
  expect(r.manifest).toMatchObject({ ...fixture, name: 'model', output: { ...fixture.output, softmax: false } });
  expect(r.files).toEqual(['model.onnx', 'model.json', 'baseline.json', 'parity.json']);
  expect(r.parityMismatches).toBe(0);
  expect(r.predictions).toHaveLength(5);
  expect(parseBaseline(JSON.parse(readFileSync(path.join(out, 'baseline.json'), 'utf8'))).features.map((f) => f.name)).toEqual(
    fixture.input.features.map((f: { name: string }) => f.name),
  );
  // AND the folder is served as it is
  const server = await startServer({ modelDir: out });
  try {
    const parity = JSON.parse(readFileSync(path.join(out, 'parity.json'), 'utf8'));
    const reply = await postJson(server.url, { instances: parity.rows.map((p: { input: unknown }) => p.input) });
    expect(reply.status).toBe(200);
    expect(reply.json().predictions.map((p: { label: string }) => p.label)).toEqual(parity.rows.map((p: { label: string }) => p.label));
  } finally {
    await server.close();
  }
});

test('a ColumnTransformer graph: one feature per input with its type, a categorical baseline', async () => {
  const data = sampleCsv('mixed-columns', ['city', 'rooms', 'garden', 'area', 'score', 'label'], (r) => r.label as string);
  const r = await initModel({
    model: path.join(FIXTURES, 'mixed-columns/model.onnx'),
    out: path.join(scratch, 'mixed'),
    data,
    expectedColumn: 'label',
    name: 'houses',
  });
  expect(r.manifest.inputTensor).toBeUndefined();
  expect(r.manifest.input.kind === 'tabular' && r.manifest.input.features.map((f) => `${f.name}:${f.type}`)).toEqual([
    'city:string',
    'rooms:int',
    'garden:bool',
    'area:double',
    'score:float',
  ]);
  expect(r.manifest.output).toMatchObject({ labels: ['no', 'yes'], tensor: 'output_probability', labelTensor: 'output_label' });
  expect(r.parityMismatches).toBe(0);
  const baseline = JSON.parse(readFileSync(path.join(scratch, 'mixed', 'baseline.json'), 'utf8'));
  expect(baseline.features[0]).toMatchObject({ name: 'city', kind: 'categorical', categories: ['lisbon', 'oslo', 'rome'] });
  expect(baseline.features[2]).toMatchObject({ name: 'garden', kind: 'categorical', categories: ['false', 'true'] });
});

test('a torch-style CNN: asks for --labels by name, then infers an NCHW image with softmax over logits', async () => {
  const model = path.join(FIXTURES, 'cnn-logits/model.onnx');
  await expect(initModel({ model, out: path.join(scratch, 'cnn0') })).rejects.toThrow(
    /Output "logits" holds 10 class scores but the model does not name its classes: pass --labels a,b,…/,
  );
  await expect(initModel({ model, out: path.join(scratch, 'cnn1'), labels: ['a', 'b'] })).rejects.toThrow(
    /--labels lists 2 labels but the model has 10 classes/,
  );
  const r = await initModel({ model, out: path.join(scratch, 'cnn2'), labels: '0123456789'.split('') });
  expect(r.manifest).toMatchObject({
    inputTensor: 'input',
    input: { kind: 'image', width: 28, height: 28, channels: 1, layout: 'NCHW' },
    output: { kind: 'classification', tensor: 'logits', softmax: true },
  });
});

test('a regressor with [N, 1] output and no sample: features named after the input, no baseline', async () => {
  const r = await initModel({ model: path.join(FIXTURES, 'diabetes-forest/model.onnx'), out: path.join(scratch, 'reg') });
  expect(r.manifest.output).toEqual({ kind: 'regression', tensor: 'variable' });
  expect(r.manifest.input.kind === 'tabular' && r.manifest.input.features.map((f) => f.name).slice(0, 2)).toEqual([
    'float_input_0',
    'float_input_1',
  ]);
  expect(r.files).toEqual(['model.onnx', 'model.json']);
  expect(r.notes.join('\n')).toMatch(/pass a sample CSV .* to write baseline\.json/);
});
