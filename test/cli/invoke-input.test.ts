import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { predictBody } from '../../cli/invoke-input';

describe('mlship invoke input', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlship-invoke-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes JSON as a body, a list of instances or one instance', () => {
    expect(predictBody(['{"instances": [[1, 2]]}'])).toEqual({ instances: [[1, 2]] });
    expect(predictBody(['[1, 2, 3]'])).toEqual({ instances: [[1, 2, 3]] });
    expect(predictBody(['[[1], [2]]'])).toEqual({ instances: [[1], [2]] });
    expect(predictBody(['{"a": 1}'])).toEqual({ instances: [{ a: 1 }] });
    expect(predictBody(['-'], () => '{"instances": [[5]]}')).toEqual({ instances: [[5]] });
    expect(() => predictBody(['{nope'])).toThrow(/not valid JSON/);
  });

  it('turns CSV rows into instances, keyed by a header when there is one', () => {
    const plain = join(dir, 'rows.csv');
    writeFileSync(plain, '1,2.5,-3e2\r\n\r\n4,5,6\n');
    expect(predictBody([plain])).toEqual({
      instances: [
        [1, 2.5, -300],
        [4, 5, 6],
      ],
    });
    const named = join(dir, 'named.csv');
    writeFileSync(named, 'b,a\n2,1\n');
    expect(predictBody([named])).toEqual({ instances: [{ b: 2, a: 1 }] });
    const ragged = join(dir, 'ragged.csv');
    writeFileSync(ragged, 'a,b\n1\n');
    expect(() => predictBody([ragged])).toThrow(/row 2 has 1 values for 2 columns/);
    // RFC 4180 quoting, as spreadsheets export it
    const quoted = join(dir, 'quoted.csv');
    writeFileSync(quoted, '"mean radius","a, b"\r\n1,"2"\r\n');
    expect(predictBody([quoted])).toEqual({ instances: [{ 'mean radius': 1, 'a, b': 2 }] });
  });

  it('sends an empty CSV cell as null (a missing value), and reads a first row with one as data, not a header', () => {
    const file = join(dir, 'missing.csv');
    writeFileSync(file, '1,,3\n,5,6\n');
    expect(predictBody([file])).toEqual({
      instances: [
        [1, null, 3],
        [null, 5, 6],
      ],
    });
    const named = join(dir, 'named-missing.csv');
    writeFileSync(named, 'a,b\n1,\n');
    expect(predictBody([named])).toEqual({ instances: [{ a: 1, b: null }] });
  });

  it('sends image files base64-encoded, one instance each', () => {
    const png = join(dir, 'a.png');
    const jpg = join(dir, 'b.JPG');
    writeFileSync(png, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    writeFileSync(jpg, Buffer.from([0xff, 0xd8, 0xff]));
    expect(predictBody([png, jpg])).toEqual({ instances: [{ b64: 'iVBORw==' }, { b64: '/9j/' }] });
    expect(() => predictBody([png, join(dir, 'rows.csv')])).toThrow(/image files only/);
    expect(() => predictBody([join(dir, 'model.bin')])).toThrow(/Cannot tell what/);
  });
});
