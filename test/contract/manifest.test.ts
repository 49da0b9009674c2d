import { ApiError } from '../../contract/errors';
import { parseCsvRows, parseManifest, validateInstances } from '../../contract/manifest';

const tabular = parseManifest({
  name: 'iris',
  version: '1',
  file: 'model.onnx',
  inputTensor: 'input',
  input: { kind: 'tabular', features: [{ name: 'a', type: 'float' }, { name: 'b', type: 'int' }] },
  output: { kind: 'classification', labels: ['x', 'y'], tensor: 'probabilities' },
});

const image = parseManifest({
  name: 'digits',
  version: '1',
  file: 'model.onnx',
  inputTensor: 'input',
  input: { kind: 'image', width: 2, height: 2, channels: 1 },
  output: { kind: 'classification', labels: ['0', '1'], tensor: 'probabilities' },
});

function codeOf(fn: () => unknown): { code: string; field?: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return { code: e.code, field: e.field };
    throw e;
  }
  throw new Error('expected an ApiError');
}

describe('manifest', () => {
  it('lists every problem of a bad manifest with its path', () => {
    expect(() => parseManifest({ name: 'Bad Name', version: '1', file: 'm.txt', inputTensor: 'x', input: { kind: 'tabular', features: [] }, output: { kind: 'regression', tensor: 'y' } })).toThrow(
      /name: lower-case[\s\S]*file: a file name ending in \.onnx[\s\S]*input\.features: Too small: expected array to have >=1 items/,
    );
  });

  it('fills image preprocessing defaults', () => {
    expect(image.input.kind === 'image' && image.input.preprocess).toEqual({ scale: 1 / 255, mean: [0], std: [1], invert: false });
  });
});

describe('validateInstances', () => {
  it('accepts rows as arrays and as objects keyed by feature name', () => {
    const out = validateInstances(tabular, { instances: [[1.5, 2], { b: 3, a: 0.25 }] });
    expect(out.map((i) => ('values' in i ? Array.from(i.values) : i))).toEqual([[1.5, 2], [0.25, 3]]);
  });

  it.each([
    ['not an object', [1], 'INVALID_BODY', undefined],
    ['no instances', {}, 'INVALID_BODY', 'instances'],
    ['empty', { instances: [] }, 'EMPTY_INSTANCES', 'instances'],
    ['wrong count', { instances: [[1]] }, 'WRONG_FEATURE_COUNT', 'instances[0]'],
    ['string value', { instances: [[1, '2']] }, 'INVALID_FEATURE_TYPE', 'instances[0][1]'],
    ['float for int', { instances: [[1, 2.5]] }, 'INVALID_FEATURE_TYPE', 'instances[0][1]'],
    ['huge number', { instances: [[1e300, 2]] }, 'NON_FINITE_NUMBER', 'instances[0][0]'],
    ['missing feature', { instances: [{ a: 1 }] }, 'MISSING_FEATURE', 'instances[0].b'],
    ['extra feature', { instances: [{ a: 1, b: 2, c: 3 }] }, 'UNKNOWN_FEATURE', 'instances[0].c'],
    ['null instance', { instances: [null] }, 'INVALID_FEATURE_TYPE', 'instances[0]'],
    ['s3 key in the model server', { instances: [{ s3Key: 'datasets/a.json' }] }, 'INVALID_S3_KEY', 'instances[0].s3Key'],
  ])('rejects %s', (_what, body, code, field) => {
    expect(codeOf(() => validateInstances(tabular, body))).toEqual({ code, field });
  });

  it('rejects too many instances', () => {
    expect(codeOf(() => validateInstances(tabular, { instances: [[1, 2], [1, 2]] }, { maxInstances: 1 })).code).toBe('TOO_MANY_INSTANCES');
  });

  it('accepts S3 keys under datasets/ only where allowed, and refuses traversal', () => {
    expect(validateInstances(image, { instances: [{ s3Key: 'datasets/x/1.png' }] }, { allowS3Keys: true })).toEqual([{ s3Key: 'datasets/x/1.png' }]);
    expect(codeOf(() => validateInstances(image, { instances: [{ s3Key: 'models/x' }] }, { allowS3Keys: true })).code).toBe('INVALID_S3_KEY');
    expect(codeOf(() => validateInstances(image, { instances: [{ s3Key: 'datasets/../models/x' }] }, { allowS3Keys: true })).code).toBe('INVALID_S3_KEY');
  });

  it('accepts images as base64 or pixel arrays', () => {
    expect(validateInstances(image, { instances: ['iVBORw0KGgo=', { b64: 'AAAA' }] })).toEqual([{ image: 'iVBORw0KGgo=' }, { image: 'AAAA' }]);
    const [px] = validateInstances(image, { instances: [[[0, 1], [2, 3]]] });
    expect('values' in px && Array.from(px.values)).toEqual([0, 1, 2, 3]);
    expect(codeOf(() => validateInstances(image, { instances: ['not base64!'] })).code).toBe('INVALID_IMAGE');
    expect(codeOf(() => validateInstances(image, { instances: [[1, 2, 3]] })).code).toBe('WRONG_FEATURE_COUNT');
  });
});

describe('parseCsvRows', () => {
  it('parses rows, skipping blank lines and CRLF', () => {
    expect(parseCsvRows(tabular, '1,2\r\n\n3.5e0, 4\n').map((r) => Array.from(r))).toEqual([[1, 2], [3.5, 4]]);
  });

  it.each([
    ['1,x', 'INVALID_FEATURE_TYPE', 'rows[0][1]'],
    ['1,NaN', 'NON_FINITE_NUMBER', 'rows[0][1]'],
    ['1', 'WRONG_FEATURE_COUNT', 'rows[0]'],
    ['1,2\n0x10,2', 'INVALID_FEATURE_TYPE', 'rows[1][0]'],
    ['\n', 'EMPTY_INSTANCES', 'rows'],
  ])('rejects %j', (text, code, field) => {
    expect(codeOf(() => parseCsvRows(tabular, text))).toEqual({ code, field });
  });
});
