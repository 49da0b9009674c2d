/**
 * The Open Inference Protocol's tensors read into the API's instances (then the one validator), its
 * metadata from the manifest, and predictions written back as output tensors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../../contract/errors';
import { validateInstances } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import {
  checkModelAddress,
  inferenceError,
  inferenceResponse,
  modelMetadata,
  readInferenceRequest,
} from '../../contract/protocols/open-inference';
import { PROJECT_ROOT } from '../../local/paths';

const FIXTURE = join(PROJECT_ROOT, 'test', 'fixtures', 'byom', 'mixed-columns');
const mixed = readManifestFile(join(FIXTURE, 'model.json'));
const breastCancer = readManifestFile(join(PROJECT_ROOT, 'models', 'breast-cancer', 'model.json'));
const digits = readManifestFile(join(PROJECT_ROOT, 'models', 'digits', 'model.json'));
type Row = { city: string; rooms: number; garden: boolean; area: number; score: number };
const rows = (JSON.parse(readFileSync(join(FIXTURE, 'parity.json'), 'utf8')) as { rows: { input: Row }[] }).rows
  .slice(0, 2)
  .map((r) => r.input);

const column = (name: keyof Row, datatype: string, shape: 'flat' | 'column' = 'flat') => ({
  name,
  datatype,
  shape: shape === 'flat' ? [rows.length] : [rows.length, 1],
  data: shape === 'flat' ? rows.map((r) => r[name]) : rows.map((r) => [r[name]]),
});
const mixedTensors = [
  column('city', 'BYTES'),
  column('rooms', 'INT64', 'column'),
  column('garden', 'BOOL'),
  column('area', 'FP64'),
  column('score', 'FP32', 'column'),
];

/** What the validator makes of the request's instances. */
const instancesOf = (m: typeof mixed, body: unknown) => validateInstances(m, { instances: readInferenceRequest(m, body).instances });

function refusal(body: unknown, m = mixed): { code: string; field?: string } {
  try {
    instancesOf(m, body);
  } catch (e) {
    if (e instanceof ApiError) return { code: e.code, field: e.field };
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

describe('Open Inference Protocol requests', () => {
  it('reads one tensor per feature ([N] or [N, 1], any order, every datatype) into the instances of the API body', () => {
    expect(instancesOf(mixed, { inputs: [...mixedTensors].reverse() })).toEqual(validateInstances(mixed, { instances: rows }));
  });

  it('reads one [N, F] tensor, flat or nested, and the echoed id, parameters and outputs', () => {
    const values = [Array.from({ length: 30 }, (_v, j) => j + 0.5), Array.from({ length: 30 }, (_v, j) => j)];
    const expected = validateInstances(breastCancer, { instances: values });
    const flat = { name: 'input', datatype: 'FP32', shape: [2, 30], data: values.flat() };
    expect(instancesOf(breastCancer, { inputs: [flat] })).toEqual(expected);
    expect(instancesOf(breastCancer, { inputs: [{ ...flat, datatype: 'FP64', data: values }] })).toEqual(expected);
    const request = readInferenceRequest(breastCancer, {
      id: '42',
      parameters: { content_type: 'np' },
      inputs: [{ ...flat, parameters: {} }],
      outputs: [{ name: 'probabilities' }],
    });
    expect(request.ask).toEqual({ id: '42', outputs: ['probabilities'] });
  });

  it('reads an image model [N, 64] or [N, 8, 8] tensor and BYTES [N] encoded images', () => {
    const pixels = Array.from({ length: 64 }, () => 0.25);
    const expected = validateInstances(digits, { instances: [pixels] });
    expect(instancesOf(digits, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 64], data: pixels }] })).toEqual(expected);
    expect(instancesOf(digits, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 8, 8], data: pixels }] })).toEqual(expected);
    expect(readInferenceRequest(digits, { inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], data: ['iVBORw0K'] }] }).instances).toEqual([
      'iVBORw0K',
    ]);
  });

  it('refuses with the codes of the API body', () => {
    const [city, rooms, garden, area, score] = mixedTensors;
    expect(refusal({ inputs: [city, rooms, garden, area] })).toEqual({ code: 'MISSING_FEATURE', field: 'inputs.score' });
    expect(refusal({ inputs: [...mixedTensors, { ...city, name: 'size' }] })).toEqual({ code: 'UNKNOWN_FEATURE', field: 'inputs[5].name' });
    expect(refusal({ inputs: [{ ...city, data: ['paris', 'rome'] }, rooms, garden, area, score] })).toEqual({
      code: 'UNKNOWN_CATEGORY',
      field: 'instances[0].city',
    });
    expect(refusal({ inputs: [city, { ...rooms, data: [[2.5], [1]] }, garden, area, score] })).toEqual({
      code: 'INVALID_FEATURE_TYPE',
      field: 'instances[0].rooms',
    });
    expect(refusal({ inputs: [city, rooms, { ...garden, datatype: 'BYTES' }, area, score] })).toEqual({
      code: 'INVALID_FEATURE_TYPE',
      field: 'inputs[2].data',
    });
    expect(refusal({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 29], data: Array(29).fill(1) }] }, breastCancer)).toEqual({
      code: 'WRONG_FEATURE_COUNT',
      field: 'inputs[0].shape',
    });
    const hundredOne = Array.from({ length: 101 * 30 }, () => 1);
    expect(refusal({ inputs: [{ name: 'input', datatype: 'FP32', shape: [101, 30], data: hundredOne }] }, breastCancer)).toEqual({
      code: 'TOO_MANY_INSTANCES',
      field: 'instances',
    });
  });

  it('refuses malformed requests with INVALID_BODY naming the field', () => {
    const t = { name: 'input', datatype: 'FP32', shape: [1, 30], data: Array(30).fill(1) };
    for (const [body, field] of [
      [{ inputs: [] }, 'inputs'],
      [{ inputs: [t], extra: 1 }, 'extra'],
      [{ id: 42, inputs: [t] }, 'id'],
      [{ inputs: [t], parameters: [] }, 'parameters'],
      [{ inputs: [{ ...t, datatype: 'FP8' }] }, 'inputs[0].datatype'],
      [{ inputs: [{ ...t, shape: [1, -30] }] }, 'inputs[0].shape'],
      [{ inputs: [{ ...t, data: Array(29).fill(1) }] }, 'inputs[0].data'],
      [{ inputs: [{ ...t, contents: {} }] }, 'inputs[0].contents'],
      [{ inputs: [t], outputs: [{ name: 'output0' }] }, 'outputs[0].name'],
    ] as const) {
      expect([body, refusal(body, breastCancer)]).toEqual([body, { code: 'INVALID_BODY', field }]);
    }
    const [city, rooms, garden, area, score] = mixedTensors;
    expect(refusal({ inputs: [city, { ...rooms, shape: [3, 1], data: [1, 2, 3] }, garden, area, score] })).toEqual({
      code: 'INVALID_BODY',
      field: 'inputs[1].shape',
    });
    expect(refusal({ inputs: [city, city, rooms, garden, area, score] })).toEqual({ code: 'INVALID_BODY', field: 'inputs[1].name' });
  });
});

describe('Open Inference Protocol metadata and answers', () => {
  it('describes the tensors a client sends and gets', () => {
    expect(modelMetadata(breastCancer)).toEqual({
      name: 'breast-cancer',
      versions: ['1.0.0'],
      platform: 'onnx',
      inputs: [{ name: breastCancer.inputTensor, datatype: 'FP32', shape: [-1, 30] }],
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
      ],
    });
    expect(modelMetadata(mixed).inputs).toEqual([
      { name: 'city', datatype: 'BYTES', shape: [-1, 1] },
      { name: 'rooms', datatype: 'INT64', shape: [-1, 1] },
      { name: 'garden', datatype: 'BOOL', shape: [-1, 1] },
      { name: 'area', datatype: 'FP64', shape: [-1, 1] },
      { name: 'score', datatype: 'FP32', shape: [-1, 1] },
    ]);
    expect(modelMetadata(digits).inputs).toEqual([{ name: digits.inputTensor, datatype: 'FP32', shape: [-1, 64] }]);
  });

  it('checks the model name and version of the path', () => {
    expect(() => checkModelAddress(breastCancer, { name: 'breast-cancer', version: '1.0.0' })).not.toThrow();
    expect(() => checkModelAddress(breastCancer, { name: 'iris' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND', field: 'name' }));
    expect(() => checkModelAddress(breastCancer, { name: 'breast-cancer', version: '2' })).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', field: 'version' }),
    );
  });

  it('writes predictions as output tensors, those asked for in the order asked', () => {
    const answer = {
      model: { name: 'breast-cancer', version: '1.0.0' },
      predictions: [
        { id: 'A', label: 'benign', probabilities: { benign: 0.75, malignant: 0.25 } },
        { id: 'B', label: 'malignant', probabilities: { malignant: 0.5, benign: 0.5 } },
      ],
    };
    const all = inferenceResponse(breastCancer, answer, { id: 'r1' });
    expect(all).toEqual({
      model_name: 'breast-cancer',
      model_version: '1.0.0',
      id: 'r1',
      parameters: { prediction_ids: ['A', 'B'] },
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [2], data: ['benign', 'malignant'] },
        {
          name: 'probabilities',
          datatype: 'FP32',
          shape: [2, 2],
          data: [0.25, 0.75, 0.5, 0.5],
          parameters: { labels: ['malignant', 'benign'] },
        },
      ],
    });
    expect(inferenceResponse(breastCancer, answer, { outputs: ['probabilities', 'label'] }).outputs.map((o) => o.name)).toEqual([
      'probabilities',
      'label',
    ]);
    expect(inferenceError(new ApiError('NOT_FOUND', 'gone', 'name'))).toEqual({ error: 'gone', code: 'NOT_FOUND', field: 'name' });
  });
});
