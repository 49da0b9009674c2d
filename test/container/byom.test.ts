/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Bring your own model: the graphs converters write (ZipMap outputs, one input per column, fixed batch,
 * float64, logits) are served with the framework's own answers; a manifest that does not fit its model
 * stops the start naming the field; a NaN answer is an error, never a label.
 */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { loadModel } from '../../container/src/model';
import { startServer } from '../../container/src/server';
import { validateInstances } from '../../contract/manifest';
import { readOnnx } from '../../contract/onnx-graph';
import { defined } from '../support/defined';
import { TINY_MANIFEST, tinyLinearOnnx } from '../support/tiny-onnx';
import { BREAST_CANCER, closeAgent, parity, postJson, ROOT } from './helpers';

const FIXTURES = path.join(ROOT, 'test/fixtures/byom');

interface Expected {
  input: unknown;
  label?: string;
  probabilities?: number[];
  value?: number;
}

function expected(dir: string): Expected[] {
  return (JSON.parse(readFileSync(path.join(dir, 'parity.json'), 'utf8')) as { rows: Expected[] }).rows;
}

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'mlship-byom-'));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  closeAgent();
});

describe.each([
  ['iris-forest-int', 'TreeEnsembleClassifier + ZipMap, int64 labels'],
  ['iris-forest-string', 'TreeEnsembleClassifier + ZipMap, string labels'],
  ['wine-linear', 'Scaler + LinearClassifier + ZipMap'],
  ['mixed-columns', 'one [N,1] input per column: string one-hot, int64, bool, double, float'],
  ['diabetes-forest', 'TreeEnsembleRegressor, output [N,1]'],
  ['fixed-batch', 'batch dimension fixed to 1'],
  ['diabetes-double', 'float64 input and output'],
  ['cnn-logits', 'NCHW image CNN answering logits, softmax from the manifest'],
  ['binary-sigmoid', 'Keras-style Dense(1, sigmoid): one probability [N,1] for the second label'],
  ['binary-logit', 'torch-style BCE head: one logit [N,1], sigmoid from the manifest'],
  ['diabetes-imputer', 'ArrayFeatureExtractor + Imputer(NaN) + Concat + LinearRegressor; parity rows with missing values'],
  ['hgb-missing', 'HistGradientBoosting trees routing missing values; parity rows with missing values'],
])('%s (%s)', (name) => {
  const dir = path.join(FIXTURES, name);

  test("served predictions equal the framework's own", async () => {
    // GIVEN the model as a converter wrote it, loaded the way the server loads it
    const model = await loadModel(dir);
    try {
      const rows = expected(dir);
      // WHEN its parity instances go through the API's validation and the model in one run
      const out = await model.predict(validateInstances(model.manifest, { instances: rows.map((r) => r.input) }));
      // THEN labels are equal and scores agree to float32 precision
      out.forEach((p, i) => {
        const e = rows[i];
        if ('value' in p) expect(p.value).toBeCloseTo(e.value as number, name === 'diabetes-double' ? 8 : 3);
        else {
          expect(p.label).toBe(e.label);
          expect(Object.values(p.probabilities).map((v) => Math.round(v * 1e5) / 1e5)).toEqual(
            (e.probabilities as number[]).map((v) => Math.round(v * 1e5) / 1e5),
          );
        }
      });
    } finally {
      await model.close();
    }
  });
});

test('a ZipMap model is served from memory: onnxruntime alone cannot return its output, and the file is untouched', async () => {
  // GIVEN skl2onnx's default classifier output, a sequence of maps
  const dir = path.join(FIXTURES, 'iris-forest-int');
  const file = path.join(dir, 'model.onnx');
  const before = createHash('sha256').update(readFileSync(file)).digest('hex');
  const raw = await ort.InferenceSession.create(file);
  const feeds = { float_input: new ort.Tensor('float32', new Float32Array([5.1, 3.5, 1.4, 0.2]), [1, 4]) };
  // THEN onnxruntime-node refuses it on its own
  await expect(raw.run(feeds, ['output_probability'])).rejects.toThrow(/Non tensor type/);
  await raw.release();
  // AND the server answers it, leaving the user's file as it was
  const server = await startServer({ modelDir: dir });
  try {
    const reply = await postJson(server.url, { instances: [[5.1, 3.5, 1.4, 0.2]] });
    expect(reply.status).toBe(200);
    expect(reply.json().predictions[0].label).toBe('0');
  } finally {
    await server.close();
  }
  expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(before);
});

describe('a manifest that does not fit its model stops the start, naming the field', () => {
  /** The fields of the mixed-columns fixture's model.json that these cases change. */
  interface EditableManifest {
    input: { features: { name: string; type: string }[] };
    output: { tensor: string; labelTensor: string; labels: string[] };
  }

  function variant(name: string, edit: (m: EditableManifest) => void): string {
    const dir = path.join(scratch, name);
    cpSync(path.join(FIXTURES, 'mixed-columns'), dir, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as EditableManifest;
    edit(m);
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(m));
    return dir;
  }

  test.each([
    [
      'unknown output',
      (m: EditableManifest) => (m.output.tensor = 'probabilities'),
      /model\.json output\.tensor: names output "probabilities", but model\.onnx has outputs: output_label, output_probability/,
    ],
    [
      'unknown label output',
      (m: EditableManifest) => (m.output.labelTensor = 'label'),
      /model\.json output\.labelTensor: names output "label"/,
    ],
    [
      'labels vs classes',
      (m: EditableManifest) => m.output.labels.push('maybe'),
      /model\.json output\.labels: model\.json lists 3 labels, but model\.onnx declares 2 classes \(no, yes\)/,
    ],
    [
      'feature type',
      (m: EditableManifest) => (m.input.features[1].type = 'string'),
      /model\.json input\.features\[1\]\.type: feature "rooms" is string, but input "rooms" takes int64 \(declare it int\)/,
    ],
    [
      'unknown input',
      (m: EditableManifest) => (m.input.features[0].name = 'town'),
      /model\.json input\.features\[0\]\.tensor: names input "town", but model\.onnx has inputs: city, rooms, garden, area, score/,
    ],
    [
      'input left unfed',
      (m: EditableManifest) => m.input.features.pop(),
      /model\.json input\.features: model\.onnx also takes input "score"/,
    ],
  ])('%s', async (_case, edit, message) => {
    await expect(loadModel(variant(_case.replace(/ /g, '-'), edit))).rejects.toThrow(message);
  });

  test('wrong feature count of a one-tensor model', async () => {
    const dir = path.join(scratch, 'count');
    cpSync(path.join(FIXTURES, 'iris-forest-int'), dir, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    m.input.features.push({ name: 'extra', type: 'float' });
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(m));
    await expect(loadModel(dir)).rejects.toThrow(
      /model\.json input\.features: input "float_input" has shape \[N, 4\], but model\.json declares 5 features/,
    );
  });

  test('the model server process exits 1 with that one message instead of answering /ping', () => {
    const dir = variant('server-exit', (m) => (m.output.tensor = 'probabilities'));
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'container/src/main.ts'),
        'serve',
        '--model',
        dir,
        '--port',
        '0',
        '--workers',
        '1',
        '--host',
        '127.0.0.1',
      ],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/output\.tensor: names output \\?"probabilities\\?"/);
  }, 150_000);
});

describe('non-finite model outputs', () => {
  test('a row the model answers NaN for is a NON_FINITE_OUTPUT error, and the requests batched with it still get their predictions', async () => {
    // GIVEN the breast-cancer model, whose MLP answers NaN when every feature is 1e36
    const server = await startServer({ modelDir: BREAST_CANCER, maxBatchDelayUs: 5000, maxBatchSize: 64 });
    try {
      const huge = new Array(30).fill(1e36);
      const fine = parity(BREAST_CANCER).rows[0];
      // WHEN it arrives together with ordinary requests (so they share a run)
      const replies = await Promise.all([
        postJson(server.url, { instances: [fine.input] }),
        postJson(server.url, { instances: [fine.input, huge] }),
        postJson(server.url, { instances: [fine.input] }),
      ]);
      // THEN only its request fails, with a 5xx naming the instance, and no label
      expect(replies.map((r) => r.status)).toEqual([200, 500, 200]);
      expect(replies[1].json().error).toEqual({
        code: 'NON_FINITE_OUTPUT',
        message: expect.stringMatching(/NaN or Infinity for instances\[1\]/),
        field: 'instances[1]',
      });
      expect(replies[0].json().predictions[0].label).toBe(fine.label);
    } finally {
      await server.close();
    }
  });
});

test('a model whose weights are kept in an external data file is served from its folder; without the file it stops at start, naming it', async () => {
  // GIVEN y = 2x with its weight in data/w.bin beside the ONNX file, as exporters write models over 2 GB
  const dir = path.join(scratch, 'external-data');
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const tiny = tinyLinearOnnx(2, 'data/w.bin');
  writeFileSync(path.join(dir, 'tiny.onnx'), tiny.model);
  writeFileSync(path.join(dir, 'data/w.bin'), defined(tiny.external, 'the external data'));
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(TINY_MANIFEST));
  // WHEN it is loaded (from another working directory than the model's) THEN it predicts from the file's weight
  const model = await loadModel(dir);
  try {
    expect(await model.predict(validateInstances(model.manifest, { instances: [[3], [-1.5]] }))).toEqual([{ value: 6 }, { value: -3 }]);
  } finally {
    await model.close();
  }
  // AND without the data file the start fails with the file named
  rmSync(path.join(dir, 'data/w.bin'));
  await expect(loadModel(dir)).rejects.toThrow(
    /tiny\.onnx keeps its tensors in data\/w\.bin, not found in .*: copy the file beside tiny\.onnx/,
  );
});

test('weights an old exporter also listed as graph inputs are served as constants: not a feature, not an input onnxruntime warns about', () => {
  const { model } = tinyLinearOnnx(2, undefined, true);
  const graph = readOnnx(model, 'old.onnx');
  // The signature has the one real input; the servable graph no longer lists the weight among its inputs
  expect(graph.signature.inputs.map((v) => v.name)).toEqual(['x']);
  expect((onnx.ModelProto.decode(graph.servable).graph?.input ?? []).map((v) => v.name)).toEqual(['x']);
  expect((onnx.ModelProto.decode(model).graph?.input ?? []).map((v) => v.name)).toEqual(['x', 'w']);
});
