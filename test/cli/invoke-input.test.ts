import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { predictRequest } from '../../cli/invoke-input';

/** The JSON body `mlship invoke` sends for the inputs. */
function jsonBody(inputs: string[], stdin?: string): unknown {
  const req = predictRequest(inputs, stdin === undefined ? undefined : () => stdin);
  expect(req.contentType).toBe('application/json');
  return JSON.parse(req.body);
}

describe('mlship invoke input', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlship-invoke-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes JSON as a body, a list of instances or one instance', () => {
    expect(jsonBody(['{"instances": [[1, 2]]}'])).toEqual({ instances: [[1, 2]] });
    expect(jsonBody(['[1, 2, 3]'])).toEqual({ instances: [[1, 2, 3]] });
    expect(jsonBody(['[[1], [2]]'])).toEqual({ instances: [[1], [2]] });
    expect(jsonBody(['{"a": 1}'])).toEqual({ instances: [{ a: 1 }] });
    expect(jsonBody(['-'], '{"instances": [[5]]}')).toEqual({ instances: [[5]] });
    expect(() => predictRequest(['{nope'])).toThrow(/not valid JSON/);
  });

  it('sends a CSV file as it is, as text/csv: the API reads it by the manifest', () => {
    // Cells stay text ("2" may be a string feature), quoting and header as the file has them.
    const text = '"mean radius",sex\r\n1.5,"2"\r\n\r\n';
    const file = join(dir, 'rows.CSV');
    writeFileSync(file, text);
    expect(predictRequest([file])).toEqual({ contentType: 'text/csv', body: text });
    expect(() => predictRequest([file, file])).toThrow(/image files only/);
  });

  it('sends image files base64-encoded, one instance each', () => {
    const png = join(dir, 'a.png');
    const jpg = join(dir, 'b.JPG');
    writeFileSync(png, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    writeFileSync(jpg, Buffer.from([0xff, 0xd8, 0xff]));
    expect(jsonBody([png, jpg])).toEqual({ instances: [{ b64: 'iVBORw==' }, { b64: '/9j/' }] });
    expect(() => predictRequest([png, join(dir, 'rows.CSV')])).toThrow(/image files only/);
    expect(() => predictRequest([join(dir, 'model.bin')])).toThrow(/Cannot tell what/);
  });
});
