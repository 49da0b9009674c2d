import { parseCsv } from '../../contract/csv';
import { checkJsonDepth, parseJsonBounded } from '../../contract/json';
import { parseCsvRows, parseManifest, validateInstances } from '../../contract/manifest';
import { codeOf } from './api-error';

const tabular = parseManifest({
  name: 'iris',
  version: '1',
  file: 'model.onnx',
  inputTensor: 'input',
  input: {
    kind: 'tabular',
    features: [
      { name: 'a', type: 'float' },
      { name: 'b', type: 'int' },
    ],
  },
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

describe('manifest', () => {
  it('lists every problem of a bad manifest with its path', () => {
    expect(() =>
      parseManifest({
        name: 'Bad Name',
        version: '1',
        file: 'm.txt',
        inputTensor: 'x',
        input: { kind: 'tabular', features: [] },
        output: { kind: 'regression', tensor: 'y' },
      }),
    ).toThrow(
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
    expect(out.map((i) => ('values' in i ? Array.from(i.values) : i))).toEqual([
      [1.5, 2],
      [0.25, 3],
    ]);
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
    expect(
      codeOf(() =>
        validateInstances(
          tabular,
          {
            instances: [
              [1, 2],
              [1, 2],
            ],
          },
          { maxInstances: 1 },
        ),
      ).code,
    ).toBe('TOO_MANY_INSTANCES');
  });

  it('accepts S3 keys under datasets/ only where allowed, and refuses traversal', () => {
    expect(validateInstances(image, { instances: [{ s3Key: 'datasets/x/1.png' }] }, { allowS3Keys: true })).toEqual([
      { s3Key: 'datasets/x/1.png' },
    ]);
    expect(codeOf(() => validateInstances(image, { instances: [{ s3Key: 'models/x' }] }, { allowS3Keys: true })).code).toBe(
      'INVALID_S3_KEY',
    );
    expect(codeOf(() => validateInstances(image, { instances: [{ s3Key: 'datasets/../models/x' }] }, { allowS3Keys: true })).code).toBe(
      'INVALID_S3_KEY',
    );
  });

  it('accepts images as base64 or pixel arrays', () => {
    expect(validateInstances(image, { instances: ['iVBORw0KGgo=', { b64: 'AAAA' }] })).toEqual([
      { image: 'iVBORw0KGgo=' },
      { image: 'AAAA' },
    ]);
    const [px] = validateInstances(image, {
      instances: [
        [
          [0, 1],
          [2, 3],
        ],
      ],
    });
    expect('values' in px && Array.from(px.values)).toEqual([0, 1, 2, 3]);
    expect(codeOf(() => validateInstances(image, { instances: ['not base64!'] })).code).toBe('INVALID_IMAGE');
    expect(codeOf(() => validateInstances(image, { instances: [[1, 2, 3]] })).code).toBe('WRONG_FEATURE_COUNT');
  });
});

describe('parseCsvRows', () => {
  it('parses rows, skipping blank lines and CRLF', () => {
    expect(parseCsvRows(tabular, '1,2\r\n\n3.5e0, 4\n').map((r) => Array.from(r))).toEqual([
      [1, 2],
      [3.5, 4],
    ]);
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

describe('CSV rules (contract/csv.ts)', () => {
  it('takes a header row matched by feature names, in any order', () => {
    expect(parseCsvRows(tabular, 'b,a\n2,1\n4,3.5\n').map((r) => Array.from(r))).toEqual([
      [1, 2],
      [3.5, 4],
    ]);
    expect(parseCsvRows(tabular, '"a", "b"\r\n1,2').map((r) => Array.from(r))).toEqual([[1, 2]]);
  });

  it.each([
    ['a,c\n1,2', 'INVALID_HEADER', 'header[1]'],
    ['a,a\n1,2', 'INVALID_HEADER', 'header[1]'],
    ['a\n1', 'INVALID_HEADER', 'header'],
    ['a,b\n', 'EMPTY_INSTANCES', 'rows'],
    ['a,b\n1,2,3', 'WRONG_FEATURE_COUNT', 'rows[1]'],
    ['"1,2', 'INVALID_CSV', 'rows[0]'],
    ['"1"x,2', 'INVALID_CSV', 'rows[0][0]'],
  ])('rejects %j', (text, code, field) => {
    expect(codeOf(() => parseCsvRows(tabular, text))).toEqual({ code, field });
  });

  it('refuses a row longer than the features can fill before splitting it, so one huge row costs no more than a legitimate one', () => {
    // GIVEN a 5.9 MB row of one-character cells for a two-feature model WHEN parsed THEN INVALID_CSV names the row
    const huge = '1,'.repeat(2_950_000);
    expect(codeOf(() => parseCsvRows(tabular, `1,2\n${huge}\n`))).toEqual({ code: 'INVALID_CSV', field: 'rows[1]' });
    // AND one huge cell too; the splitter refuses at the bound it is given, rows within it pass
    expect(codeOf(() => parseCsvRows(tabular, `1,${'9'.repeat(5_000_000)}\n`))).toEqual({ code: 'INVALID_CSV', field: 'rows[0]' });
    expect(() => parseCsv('1,2,3,4\n', 10, 6)).toThrow(/longer than 6 characters/);
    expect(parseCsv('1,2,3\r\n4,5,6\n', 10, 5).map((r) => r.cells)).toEqual([
      ['1', '2', '3'],
      ['4', '5', '6'],
    ]);
  });

  it('reads RFC 4180 quoting: commas, quotes and line breaks inside quotes are data', () => {
    expect(parseCsv('"x,1","say ""hi"""\n"two\nlines",3\r\n', 10).map((r) => r.cells)).toEqual([
      ['x,1', 'say "hi"'],
      ['two\nlines', '3'],
    ]);
    // Errors name the line a record starts on, counting line breaks inside quotes.
    expect(parseCsv('"a\nb",1\n\n2,3', 10).map((r) => r.line)).toEqual([0, 3]);
  });

  it("skips a leading byte order mark (Excel's UTF-8 CSV), so a quoted first cell stays quoted", () => {
    expect(parseCsv('\ufeff"a, b",c\n1,2\n', 10).map((r) => r.cells)).toEqual([
      ['a, b', 'c'],
      ['1', '2'],
    ]);
  });

  it('stops reading at the row limit instead of parsing the whole body', () => {
    // GIVEN 100,000 rows and a limit of 100, with a malformed row far past the limit
    const text = `${'1,2\n'.repeat(100_000)}"never closed`;
    // THEN the limit is reported, not the malformed row: the parser never got there
    expect(codeOf(() => parseCsvRows(tabular, text, 100))).toEqual({ code: 'TOO_MANY_INSTANCES', field: 'rows' });
    expect(codeOf(() => parseCsv(text, 100))).toEqual({ code: 'TOO_MANY_INSTANCES', field: 'rows' });
    // AND a header does not count as a row
    expect(parseCsvRows(tabular, `a,b\n${'1,2\n'.repeat(100)}`, 100)).toHaveLength(100);
  });
});

describe('JSON depth', () => {
  it('refuses 2.5 million nesting levels in the scan, before JSON.parse', () => {
    const depth = 2_500_000;
    const text = `{"instances":${'['.repeat(depth)}1${']'.repeat(depth)}}`;
    const parse = jest.spyOn(JSON, 'parse');
    try {
      expect(codeOf(() => parseJsonBounded(text))).toEqual({ code: 'INVALID_JSON', field: undefined });
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });

  it('ignores a leading byte order mark (RFC 8259 8.1), and only a leading one', () => {
    expect(parseJsonBounded('\ufeff{"instances":[[1]]}')).toEqual({ instances: [[1]] });
    expect(codeOf(() => parseJsonBounded('{"instances":\ufeff[[1]]}'))).toEqual({ code: 'INVALID_JSON', field: undefined });
  });

  it('counts brackets inside strings as text, and passes real bodies', () => {
    expect(parseJsonBounded(JSON.stringify({ instances: [{ b64: '['.repeat(100) }] }))).toEqual({ instances: [{ b64: '['.repeat(100) }] });
    expect(() => checkJsonDepth(`${'['.repeat(33)}${']'.repeat(33)}`)).toThrow(/deeper than 32/);
    expect(() => checkJsonDepth(`"\\\\"${'['.repeat(33)}`)).toThrow(/deeper than 32/);
    expect(() => checkJsonDepth(`${'['.repeat(32)}${']'.repeat(32)}`)).not.toThrow();
  });
});

describe('the s3Key form', () => {
  it('names the expected shape when the key is sent at the top level', () => {
    expect(() => validateInstances(tabular, { s3Key: 'datasets/x.json' }, { allowS3Keys: true })).toThrow(
      '{"instances": [{"s3Key": "datasets/..."}]}',
    );
  });
});

describe('nullable features (missing values)', () => {
  const withMissing = (float32: boolean) =>
    parseManifest({
      name: 'imputed',
      version: '1',
      file: 'model.onnx',
      ...(float32 ? { inputTensor: 'input' } : {}),
      input: {
        kind: 'tabular',
        features: [
          { name: 'a', type: 'float', nullable: true },
          { name: 'b', type: float32 ? 'float' : 'double' },
        ],
      },
      output: { kind: 'regression', tensor: 'y' },
    });
  const values = (rows: ReturnType<typeof parseCsvRows>) => rows.map((r) => Array.from(r));

  it.each([
    ['float32 rows', true],
    ['typed rows', false],
  ])('takes null and "NaN" as NaN for a nullable feature (%s), in arrays and objects', (_what, float32) => {
    const m = withMissing(float32);
    const out = validateInstances(m, { instances: [[null, 1], ['NaN', 2], { a: null, b: 3 }, [0.5, 4]] });
    expect(out.map((i) => ('values' in i ? Array.from(i.values) : i))).toEqual([
      [Number.NaN, 1],
      [Number.NaN, 2],
      [Number.NaN, 3],
      [0.5, 4],
    ]);
  });

  it.each([
    ['null', [1, null], 'INVALID_FEATURE_TYPE'],
    ['"NaN"', [1, 'NaN'], 'INVALID_FEATURE_TYPE'],
    ['"nan" (only "NaN" is a missing value in JSON)', ['nan', 1], 'INVALID_FEATURE_TYPE'],
  ])('keeps refusing %s where the feature is not nullable, with today’s code', (_what, row, code) => {
    for (const float32 of [true, false]) {
      const field = row[0] === 'nan' ? 'instances[0][0]' : 'instances[0][1]';
      expect(codeOf(() => validateInstances(withMissing(float32), { instances: [row] }))).toEqual({ code, field });
    }
  });

  it('reads an empty CSV cell and NaN in any case as a missing value, only for the nullable feature', () => {
    for (const float32 of [true, false]) {
      const m = withMissing(float32);
      expect(values(parseCsvRows(m, ',1\n nan ,2\nNaN,3\n"",4\n'))).toEqual([
        [Number.NaN, 1],
        [Number.NaN, 2],
        [Number.NaN, 3],
        [Number.NaN, 4],
      ]);
      expect(codeOf(() => parseCsvRows(m, '1,\n'))).toEqual({ code: 'INVALID_FEATURE_TYPE', field: 'rows[0][1]' });
      expect(codeOf(() => parseCsvRows(m, '1,NaN\n'))).toEqual({ code: 'NON_FINITE_NUMBER', field: 'rows[0][1]' });
    }
  });

  it('is for float and double features only', () => {
    expect(() =>
      parseManifest({
        name: 'm',
        version: '1',
        file: 'model.onnx',
        input: { kind: 'tabular', features: [{ name: 'n', type: 'int', nullable: true }] },
        output: { kind: 'regression', tensor: 'y' },
      }),
    ).toThrow(/input\.features\.0\.nullable: only float and double features can be missing/);
  });
});

describe('the float32 range', () => {
  // FLT_MAX is 3.4028234663852886e38; numbers below FLT_MAX + half an ulp round to it, the rest to Infinity.
  const FLT_MAX = 3.4028234663852886e38;
  const HALF_ULP_ABOVE = 2 ** 128 - 2 ** 103;

  it.each([3.4028235e38, -3.4028235e38, FLT_MAX, 3.4028235677973362e38])('accepts %d, which rounds to a finite float32', (v) => {
    expect(Number.isFinite(Math.fround(v))).toBe(true);
    const [json] = validateInstances(tabular, { instances: [[v, 1]] });
    expect(json && 'values' in json && json.values[0]).toBe(Math.fround(v));
    expect(Array.from(parseCsvRows(tabular, `${v},1\n`)[0] ?? [])).toEqual([Math.fround(v), 1]);
  });

  it.each([HALF_ULP_ABOVE, -HALF_ULP_ABOVE, 3.5e38, 1e39])('refuses %d, which rounds to Infinity, as NON_FINITE_NUMBER', (v) => {
    expect(Math.fround(v)).toBe(v > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY);
    expect(codeOf(() => validateInstances(tabular, { instances: [[v, 1]] }))).toEqual({
      code: 'NON_FINITE_NUMBER',
      field: 'instances[0][0]',
    });
    expect(codeOf(() => parseCsvRows(tabular, `${v},1\n`))).toEqual({ code: 'NON_FINITE_NUMBER', field: 'rows[0][0]' });
  });
});
