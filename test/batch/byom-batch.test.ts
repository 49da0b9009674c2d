/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * The batch mode with brought models: a CSV with a categorical column through the diabetes-risk
 * pipeline (one input per column, ZipMap), and rows a model answers NaN for rejected one by one with
 * NON_FINITE_OUTPUT while the rest of their chunk is predicted.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBatch } from '../../container/src/batch/run-batch';
import { csvToParquet } from '../support/dataset-parquet';

const ROOT = path.join(__dirname, '../..');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-byom-batch-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a CSV with a categorical column and multi-line quoted cells, by header name, equals scikit-learn on the parity rows; unknown categories are rejected', async () => {
  // GIVEN the parity rows of diabetes-risk as a CSV with an id column and the columns in another order
  const model = path.join(ROOT, 'models/diabetes-risk');
  const manifest = JSON.parse(readFileSync(path.join(model, 'model.json'), 'utf8'));
  const names: string[] = manifest.input.features.map((f: { name: string }) => f.name);
  const parity = JSON.parse(readFileSync(path.join(model, 'parity.json'), 'utf8')) as {
    rows: { input: (number | string)[]; label: string }[];
  };
  // and a free-text column whose quoted cells hold line breaks (each row spans two lines of the file)
  const header = ['id', 'note', ...[...names].reverse()];
  const note = (i: number) => `"seen ${i},\nby ""clinic"""`;
  const lines = parity.rows.map((r, i) => [`p${i}`, note(i), ...[...r.input].reverse()].join(','));
  lines.push(['bad', 'none', ...[...parity.rows[0].input].reverse().map((v, j) => (j === 0 ? '3' : v))].join(','));
  const input = path.join(dir, 'diabetes.csv');
  writeFileSync(input, `${header.join(',')}\n${lines.join('\n')}\n`);
  const output = path.join(dir, 'diabetes.out.jsonl');
  // WHEN the batch mode runs it
  const s = await runBatch({ model, input, output, workers: 1, progress: false });
  // THEN every parity row has scikit-learn's label and the unknown sex code is rejected by name
  expect(s).toMatchObject({ rows: parity.rows.length + 1, predicted: parity.rows.length, rejected: 1 });
  const out = readFileSync(output, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; label: string });
  expect(out.map((o) => o.label)).toEqual(parity.rows.map((r) => r.label));
  const reject = JSON.parse(readFileSync(`${output}.rejects.jsonl`, 'utf8').trim());
  expect(reject).toMatchObject({ id: 'bad', line: 2 + 2 * parity.rows.length, code: 'UNKNOWN_CATEGORY', field: 'sex' });
});

// The rows as CSV (the fast row reader), CSV with a quoted cell (the cell reader), JSON Lines and Parquet;
// the NaN row is the fifth data row, named by its line (row of a Parquet file).
test.each([
  { format: 'csv', nanLine: 6 },
  { format: 'quoted csv', nanLine: 6 },
  { format: 'jsonl', nanLine: 5 },
  { format: 'parquet', nanLine: 5 },
])(
  'rows the model answers NaN for are rejected with NON_FINITE_OUTPUT and their line; the rest of the chunk is predicted ($format)',
  async ({ format, nanLine }) => {
    // GIVEN ten parity rows of breast-cancer and, fifth, a row the model answers NaN for
    const model = path.join(ROOT, 'models/breast-cancer');
    const manifest = JSON.parse(readFileSync(path.join(model, 'model.json'), 'utf8'));
    const names: string[] = manifest.input.features.map((f: { name: string }) => f.name);
    const parity = JSON.parse(readFileSync(path.join(model, 'parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] };
    const rows: { id: string; values: number[] }[] = parity.rows.slice(0, 10).map((r, i) => ({ id: `r${i}`, values: r.input }));
    rows.splice(4, 0, { id: 'nan', values: new Array(30).fill(1e36) });
    const csv = path.join(dir, `nan-${format}.csv`);
    const quote = format === 'quoted csv' ? '"' : '';
    writeFileSync(csv, `id,${names.join(',')}\n${rows.map((r) => `${quote}${r.id}${quote},${r.values.join(',')}`).join('\n')}\n`);
    let input = csv;
    if (format === 'jsonl') {
      input = path.join(dir, 'nan.jsonl');
      writeFileSync(
        input,
        `${rows.map((r) => JSON.stringify({ id: r.id, ...Object.fromEntries(names.map((n, j) => [n, r.values[j]])) })).join('\n')}\n`,
      );
    } else if (format === 'parquet') {
      input = path.join(dir, 'nan.parquet');
      csvToParquet(csv, input);
    }
    // WHEN the batch mode scores them in one chunk
    const output = path.join(dir, `nan-${format}.out.jsonl`);
    const s = await runBatch({ model, input, output, workers: 1, progress: false });
    // THEN the NaN row is rejected by its id and line, and the other ten are predicted
    expect(s).toMatchObject({ rows: 11, predicted: 10, rejected: 1 });
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string | number; label: string });
    expect(out.map((o) => o.label)).toEqual(parity.rows.slice(0, 10).map((r) => r.label));
    expect(JSON.parse(readFileSync(`${output}.rejects.jsonl`, 'utf8').trim())).toMatchObject({
      id: 'nan',
      line: nanLine,
      code: 'NON_FINITE_OUTPUT',
    });
  },
);
