/** The manifest's typed features (string, bool, double, int), one input per feature, and what follows from them. */
import { join } from 'node:path';
import * as z from 'zod/mini';
import { instanceSchema } from '../../contract/api-schemas';
import { cellValue, parseCsvRows, parseManifest, validateInstances } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { codeOf } from './api-error';

const typed = parseManifest({
  name: 'houses',
  version: '1',
  file: 'model.onnx',
  input: {
    kind: 'tabular',
    features: [
      { name: 'city', type: 'string', values: ['lisbon', 'oslo'] },
      { name: 'rooms', type: 'int' },
      { name: 'garden', type: 'bool' },
      { name: 'area', type: 'double' },
    ],
  },
  output: { kind: 'classification', labels: ['no', 'yes'], tensor: 'output_probability', labelTensor: 'output_label' },
});

test('typed rows keep strings, bools and float64 values as sent', () => {
  const [a, b] = validateInstances(typed, {
    instances: [['oslo', 3, true, 80.123456789012], { area: 1e120, garden: false, rooms: 2 ** 40, city: 'lisbon' }],
  });
  expect(a).toEqual({ values: ['oslo', 3, true, 80.123456789012] });
  expect(b).toEqual({ values: ['lisbon', 2 ** 40, false, 1e120] });
});

test.each([
  ['unknown category', ['rome', 3, true, 1], 'UNKNOWN_CATEGORY', 'instances[0][0]'],
  ['number for a string', [1, 3, true, 1], 'INVALID_FEATURE_TYPE', 'instances[0][0]'],
  ['string for a bool', ['oslo', 3, 'yes', 1], 'INVALID_FEATURE_TYPE', 'instances[0][2]'],
  ['0 for a bool', ['oslo', 3, 0, 1], 'INVALID_FEATURE_TYPE', 'instances[0][2]'],
  ['beyond exact integers', ['oslo', 2 ** 60, true, 1], 'INVALID_FEATURE_TYPE', 'instances[0][1]'],
  // A float64 the prediction log could not keep exactly is refused before the model runs.
  ["double beyond the log's number range", ['oslo', 3, true, 1e300], 'NUMBER_OUT_OF_RANGE', 'instances[0][3]'],
  ["double below the log's number range", ['oslo', 3, true, 1e-200], 'NUMBER_OUT_OF_RANGE', 'instances[0][3]'],
])('%s', (_c, row, code, field) => {
  expect(codeOf(() => validateInstances(typed, { instances: [row] }))).toEqual({ code, field });
});

test('CSV cells become typed values by the same rules', () => {
  expect(parseCsvRows(typed, 'oslo,3,true,80.5\nlisbon,2,0,1e120\n')).toEqual([
    ['oslo', 3, true, 80.5],
    ['lisbon', 2, false, 1e120],
  ]);
  expect(codeOf(() => parseCsvRows(typed, 'paris,3,true,1\n'))).toEqual({ code: 'UNKNOWN_CATEGORY', field: 'rows[0][0]' });
  expect(codeOf(() => cellValue({ name: 'g', type: 'bool' }, 'maybe', 'g'))).toEqual({ code: 'INVALID_FEATURE_TYPE', field: 'g' });
});

test('the manifest refuses contradictions, naming each', () => {
  expect(() =>
    parseManifest({
      name: 'x',
      version: '1',
      file: 'm.onnx',
      inputTensor: 'all',
      input: {
        kind: 'tabular',
        features: [
          { name: 'a', type: 'float', values: ['1'] },
          { name: 'a', type: 'float', tensor: 'a' },
        ],
      },
      output: { kind: 'regression', tensor: 'y' },
    }),
  ).toThrow(
    /input\.features\.0\.values: allowed values are for string features[\s\S]*input\.features\.1\.name: "a" is named twice[\s\S]*input\.features\.1\.tensor: a feature names its own tensor only when the manifest has no inputTensor/,
  );
  expect(() =>
    parseManifest({
      name: 'x',
      version: '1',
      file: 'm.onnx',
      input: { kind: 'image', width: 2, height: 2, channels: 1 },
      output: { kind: 'regression', tensor: 'y' },
    }),
  ).toThrow(/inputTensor: an image model names its input tensor/);
});

test('the OpenAPI instance schema follows the feature types', () => {
  const schema = z.toJSONSchema(instanceSchema(readManifestFile(join(__dirname, '../../models/diabetes-risk/model.json')))) as {
    anyOf: { properties?: Record<string, unknown> }[];
  };
  expect(schema.anyOf[1].properties).toMatchObject({ age: { type: 'number' }, sex: { type: 'string', enum: ['1', '2'] } });
});
