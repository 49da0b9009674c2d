/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * `mlship init` on converter-style ONNX files: the manifest inferred from the signature and the ML ops,
 * baseline and parity from a sample CSV, flags asked for by name, and the written folder served as is.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { formatInit, initModel } from '../../cli/init';
import { startServer } from '../../container/src/server';
import { parseBaseline } from '../../contract/baseline';
import { closeAgent, postJson, ROOT } from '../container/helpers';
import { defined } from '../support/defined';
import { tinyLinearOnnx } from '../support/tiny-onnx';

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
  writeFileSync(file, `${[header.join(','), ...rows.map((r) => [...cells(r.input), answer(r)].join(','))].join('\n')}\n`);
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

/**
 * A string input [N, 2] read column by column as skl2onnx writes a two-column OneHotEncoder:
 * Gather(axis=1) per column, OneHotEncoder (column 0 with zeros=0, handle_unknown='error'; column 1 with
 * zeros=1, handle_unknown='ignore'), Reshape, Concat, then a sum as the regression output.
 */
function twoColumnOneHotModel(): Uint8Array {
  const { TensorProto, AttributeProto } = onnx;
  const ints = (name: string, values: number[], dims = [values.length]) => ({
    name,
    dataType: TensorProto.DataType.INT64,
    dims,
    int64Data: values,
  });
  const strings = (name: string, values: string[]) => ({
    name,
    type: AttributeProto.AttributeType.STRINGS,
    strings: values.map((v) => Buffer.from(v)),
  });
  const int = (name: string, i: number) => ({ name, type: AttributeProto.AttributeType.INT, i });
  const column = (i: number, cats: string[], zeros: number) => [
    { opType: 'Gather', input: ['cats', `idx${i}`], output: [`col${i}`], attribute: [int('axis', 1)] },
    {
      opType: 'OneHotEncoder',
      domain: 'ai.onnx.ml',
      input: [`col${i}`],
      output: [`oh${i}`],
      attribute: [strings('cats_strings', cats), int('zeros', zeros)],
    },
    { opType: 'Reshape', input: [`oh${i}`, `shape${i}`], output: [`flat${i}`] },
  ];
  const tensor = (name: string, elemType: number, dims: (number | string)[]) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 13 },
      { domain: 'ai.onnx.ml', version: 2 },
    ],
    graph: {
      name: 'two-column-onehot',
      node: [
        ...column(0, ['red', 'blue'], 0),
        ...column(1, ['s', 'm', 'l'], 1),
        { opType: 'Concat', input: ['flat0', 'flat1'], output: ['onehot'], attribute: [int('axis', 1)] },
        { opType: 'ReduceSum', input: ['onehot', 'axes'], output: ['variable'], attribute: [int('keepdims', 1)] },
      ],
      initializer: [ints('idx0', [0]), ints('idx1', [1]), ints('shape0', [-1, 2]), ints('shape1', [-1, 3]), ints('axes', [1])],
      input: [tensor('cats', TensorProto.DataType.STRING, ['N', 2])],
      output: [tensor('variable', TensorProto.DataType.FLOAT, ['N', 1])],
    },
  }).finish();
}

test("a OneHotEncoder's categories become a string feature's allowed values unless unknown values encode as zeros", async () => {
  // GIVEN a two-column string input whose first column's encoder fails on unknown values
  const model = path.join(scratch, 'two-column.onnx');
  writeFileSync(model, twoColumnOneHotModel());
  // WHEN init reads it
  const r = await initModel({ model, out: path.join(scratch, 'two-column') });
  // THEN the first column allows only its categories; the second takes any string
  expect(r.manifest.input.kind === 'tabular' && r.manifest.input.features).toEqual([
    { name: 'cats_0', type: 'string', values: ['red', 'blue'] },
    { name: 'cats_1', type: 'string' },
  ]);
  expect(r.notes.join('\n')).toMatch(/"cats_0": allowed values "red", "blue"/);
  // AND the written folder is served: an unknown first-column value is a 400, an unknown second-column value is served
  const server = await startServer({ modelDir: r.dir });
  try {
    const ok = await postJson(server.url, { instances: [['blue', 'xl']] });
    expect(ok.status).toBe(200);
    expect(ok.json().predictions[0].value).toBe(1);
    const refused = await postJson(server.url, { instances: [['green', 's']] });
    expect({ status: refused.status, code: refused.json().error.code }).toEqual({ status: 400, code: 'UNKNOWN_CATEGORY' });
  } finally {
    await server.close();
  }
});

/** A linear regressor with two targets, as skl2onnx writes it: float_input [N, 3] → MatMul → `variable` [N, 2]. */
function twoTargetRegressor(): Uint8Array {
  const { TensorProto } = onnx;
  const tensor = (name: string, dims: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType: TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'two-targets',
      node: [{ opType: 'MatMul', input: ['float_input', 'coef'], output: ['variable'] }],
      initializer: [{ name: 'coef', dataType: TensorProto.DataType.FLOAT, dims: [3, 2], floatData: [1, 0, 0, 1, 1, 1] }],
      input: [tensor('float_input', ['N', 3])],
      output: [tensor('variable', ['N', 2])],
    },
  }).finish();
}

test('a regressor with two targets is named as such, not taken for an unlabelled classifier', async () => {
  const model = path.join(scratch, 'two-targets.onnx');
  writeFileSync(model, twoTargetRegressor());
  await expect(initModel({ model, out: path.join(scratch, 'two-targets') })).rejects.toThrow(
    /Output "variable" answers 2 values per row, as a regressor with several targets does; mlship serves one value per row .*export one model per target/,
  );
});

test('labels given for logits are reported like labels read from the model', async () => {
  const r = await initModel({
    model: path.join(FIXTURES, 'cnn-logits/model.onnx'),
    out: path.join(scratch, 'cnn-notes'),
    labels: '0123456789'.split(''),
  });
  expect(r.notes).toContain('labels: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 (from --labels)');
});

test('one score per row: a Sigmoid asks for the two labels, then serves a probability; a Gemm logit is a regression unless labels are given', async () => {
  const sigmoid = path.join(FIXTURES, 'binary-sigmoid/model.onnx');
  await expect(initModel({ model: sigmoid, out: path.join(scratch, 'sig0') })).rejects.toThrow(
    /Output "dense" holds one probability per row \(written by Sigmoid\): a binary classifier. Pass --labels negative,positive/,
  );
  const sig = await initModel({ model: sigmoid, out: path.join(scratch, 'sig1'), labels: ['malignant', 'benign'] });
  expect(sig.manifest.output).toEqual({ kind: 'classification', labels: ['malignant', 'benign'], tensor: 'dense', softmax: false });

  const logit = path.join(FIXTURES, 'binary-logit/model.onnx');
  const reg = await initModel({ model: logit, out: path.join(scratch, 'logit0') });
  expect(reg.manifest.output).toEqual({ kind: 'regression', tensor: 'logit' });
  expect(reg.notes.join('\n')).toMatch(/a binary classifier's logit\? pass --labels negative,positive/);
  await expect(initModel({ model: logit, out: path.join(scratch, 'logit1'), labels: ['a', 'b', 'c'] })).rejects.toThrow(
    /one score per row \[N, 1\]: --labels then names the two classes/,
  );
  const bin = await initModel({ model: logit, out: path.join(scratch, 'logit2'), labels: ['malignant', 'benign'] });
  expect(bin.manifest.output).toEqual({ kind: 'classification', labels: ['malignant', 'benign'], tensor: 'logit', softmax: true });
  // AND the written folder answers the fixture's own parity rows
  const rows = (
    JSON.parse(readFileSync(path.join(FIXTURES, 'binary-logit/parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] }
  ).rows;
  const server = await startServer({ modelDir: bin.dir });
  try {
    const reply = await postJson(server.url, { instances: rows.map((r) => r.input) });
    expect(reply.status).toBe(200);
    expect(reply.json().predictions.map((p: { label: string }) => p.label)).toEqual(rows.map((r) => r.label));
  } finally {
    await server.close();
  }
});

test('external data files are copied beside the ONNX file, and listed', async () => {
  const src = path.join(scratch, 'external-src');
  mkdirSync(src, { recursive: true });
  const tiny = tinyLinearOnnx(2, 'tiny.onnx.data');
  writeFileSync(path.join(src, 'tiny.onnx'), tiny.model);
  writeFileSync(path.join(src, 'tiny.onnx.data'), defined(tiny.external, 'the external data'));
  const r = await initModel({ model: path.join(src, 'tiny.onnx'), out: path.join(scratch, 'external-out') });
  expect(r.files).toEqual(['tiny.onnx', 'tiny.onnx.data', 'model.json']);
  expect(readFileSync(path.join(r.dir, 'tiny.onnx.data'))).toEqual(Buffer.from(defined(tiny.external, 'the external data')));
  expect(r.notes).toContain('external data: tiny.onnx.data (copied beside tiny.onnx; deployed with it)');
});

test('a failing --expected-column names the first differing rows with both answers, writes no parity.json and suggests no next step', async () => {
  // GIVEN a sample whose expected column disagrees with the model on rows 2 and 5, and a parity.json left by an earlier run
  const wrong = (label: string) => String((Number(label) + 1) % 3);
  let row = 0;
  const data = sampleCsv('iris-forest-int', ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'predicted'], (r) => {
    row++;
    return row === 2 || row === 5 ? wrong(r.label as string) : (r.label as string);
  });
  const out = path.join(scratch, 'iris-parity-fails');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'parity.json'), '{"rows": []}\n');
  // WHEN init checks parity
  const r = await initModel({ model: path.join(FIXTURES, 'iris-forest-int/model.onnx'), out, data, expectedColumn: 'predicted' });
  // THEN it names both rows with the framework's and the served answer
  const served = JSON.parse(readFileSync(path.join(FIXTURES, 'iris-forest-int/parity.json'), 'utf8')).rows as { label: string }[];
  expect(r.parityMismatches).toBe(2);
  expect(r.parityDiffs).toEqual([
    { row: 2, expected: wrong(served[1].label), served: served[1].label },
    { row: 5, expected: wrong(served[4].label), served: served[4].label },
  ]);
  // AND no parity.json stays for the deploy to check against, and the output stops at the failure
  expect(r.files).not.toContain('parity.json');
  expect(existsSync(path.join(out, 'parity.json'))).toBe(false);
  const text = formatInit(r);
  expect(text).toContain(`2 of ${served.length} parity rows differ from --expected-column`);
  expect(text).toContain(`  row 2: expected "${wrong(served[1].label)}", served "${served[1].label}"`);
  expect(text).not.toContain('next:');
  expect(text).not.toContain('npm start');
});

test('the sample CSV is read like the API reads CSV: byte order mark, quoted header cells, CRLF, blank lines; a broken quote names --data', async () => {
  const rows = (
    JSON.parse(readFileSync(path.join(FIXTURES, 'iris-forest-int/parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] }
  ).rows;
  const file = path.join(scratch, 'excel.csv');
  const header = '\ufeff"sepal, length","sepal_width",petal_length,petal_width,predicted';
  writeFileSync(file, `${[header, ...rows.map((r) => [...r.input, r.label].join(','))].join('\r\n')}\r\n\r\n`);
  const r = await initModel({
    model: path.join(FIXTURES, 'iris-forest-int/model.onnx'),
    out: path.join(scratch, 'excel'),
    data: file,
    expectedColumn: 'predicted',
  });
  expect(r.manifest.input.kind === 'tabular' && r.manifest.input.features.map((f) => f.name)).toEqual([
    'sepal, length',
    'sepal_width',
    'petal_length',
    'petal_width',
  ]);
  expect(r.parityMismatches).toBe(0);
  writeFileSync(file, 'a,b\n"1,2\n');
  await expect(
    initModel({ model: path.join(FIXTURES, 'iris-forest-int/model.onnx'), out: path.join(scratch, 'broken'), data: file }),
  ).rejects.toThrow(/--data .*excel\.csv: A quoted cell is never closed/);
});

/** A fixture's parity rows as a sample CSV: a missing value as an empty cell, the framework's value last. */
function sampleWithMissing(fixture: string, header: string[]): string {
  const { rows } = JSON.parse(readFileSync(path.join(FIXTURES, fixture, 'parity.json'), 'utf8')) as {
    rows: { input: (number | null)[]; value: number }[];
  };
  const file = path.join(scratch, `${fixture}.csv`);
  const lines = rows.map((r) => [...r.input.map((v) => (v === null ? '' : String(v))), String(r.value)].join(','));
  writeFileSync(file, `${[header.join(','), ...lines].join('\n')}\n`);
  return file;
}

test('an imputing pipeline: the features its Imputer fills are nullable, init says why, parity holds with missing values, then served', async () => {
  // GIVEN skl2onnx's ColumnTransformer(SimpleImputer on bmi and bp, passthrough age and s5) and a sample with empty cells
  const data = sampleWithMissing('diabetes-imputer', ['age', 'bmi', 'bp', 's5', 'predicted']);
  const out = path.join(scratch, 'imputer');
  // WHEN init reads it
  const r = await initModel({ model: path.join(FIXTURES, 'diabetes-imputer/model.onnx'), out, data, expectedColumn: 'predicted' });
  // THEN bmi and bp (and only they) are nullable, as the hand-written fixture manifest says
  const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'diabetes-imputer/model.json'), 'utf8'));
  expect(r.manifest.input).toEqual(fixture.input);
  const text = formatInit(r);
  expect(text).toContain(
    'nullable: bmi, bp may be missing (JSON null or "NaN", an empty CSV cell), sent to the model as NaN: an Imputer replaces NaN',
  );
  // AND the served model reproduces scikit-learn on rows with missing values; parity.json keeps them as null
  expect(r.parityMismatches).toBe(0);
  const golden = JSON.parse(readFileSync(path.join(out, 'parity.json'), 'utf8')) as { rows: { input: (number | null)[] }[] };
  expect(golden.rows.some((row) => row.input.includes(null))).toBe(true);
  // AND the folder is served: null where the model imputes, today's 400 where it does not
  const server = await startServer({ modelDir: out });
  try {
    const missing = golden.rows.find((row) => row.input[1] === null && row.input[2] !== null) as {
      input: (number | null)[];
      value: number;
    };
    const sent = await postJson(server.url, {
      instances: [missing.input, { age: missing.input[0], bmi: 'NaN', bp: missing.input[2], s5: missing.input[3] }],
    });
    expect(sent.status).toBe(200);
    for (const p of sent.json().predictions) expect(p.value).toBeCloseTo(missing.value, 3);
    const refused = await postJson(server.url, { instances: [[null, 0.01, 0.02, 0.03]] });
    expect(refused.status).toBe(400);
    expect(refused.json().error).toMatchObject({
      code: 'INVALID_FEATURE_TYPE',
      field: 'instances[0][0]',
      message: 'Expected a number (float), got null.',
    });
  } finally {
    await server.close();
  }
});

test('trees that route missing values: every feature a branch sends NaN somewhere is nullable, and init names the operator', async () => {
  const data = sampleWithMissing('hgb-missing', ['x0', 'x1', 'x2', 'predicted']);
  const r = await initModel({
    model: path.join(FIXTURES, 'hgb-missing/model.onnx'),
    out: path.join(scratch, 'hgb'),
    data,
    expectedColumn: 'predicted',
  });
  expect(r.manifest.input.kind === 'tabular' && r.manifest.input.features.map((f) => [f.name, f.nullable])).toEqual([
    ['x0', true],
    ['x1', true],
    ['x2', true],
  ]);
  expect(formatInit(r)).toContain('nullable: x0, x1, x2 may be missing');
  expect(r.notes.join('\n')).toContain('TreeEnsembleRegressor routes missing values (nodes_missing_value_tracks_true) in the graph');
  expect(r.parityMismatches).toBe(0);
  // The baseline leaves missing values out of the distributions.
  const baseline = parseBaseline(JSON.parse(readFileSync(path.join(scratch, 'hgb', 'baseline.json'), 'utf8')));
  for (const f of baseline.features) expect(JSON.stringify(f)).not.toContain('null');
});

test('a model with no Imputer and no missing-value routing marks nothing nullable', async () => {
  const r = await initModel({ model: path.join(FIXTURES, 'diabetes-forest/model.onnx'), out: path.join(scratch, 'no-missing') });
  expect(r.manifest.input.kind === 'tabular' && r.manifest.input.features.some((f) => f.nullable === true)).toBe(false);
  expect(r.notes.join('\n')).not.toContain('nullable');
});

test('a sample whose nullable column is all missing is named instead of giving a baseline of nothing', async () => {
  const data = path.join(scratch, 'all-missing.csv');
  writeFileSync(data, 'age,bmi,bp,s5\n0.01,,0.02,0.03\n0.02,,0.01,0.04\n');
  await expect(
    initModel({ model: path.join(FIXTURES, 'diabetes-imputer/model.onnx'), out: path.join(scratch, 'all-missing'), data }),
  ).rejects.toThrow('--data holds no value of feature "bmi" (every one is missing): the baseline needs some.');
});
