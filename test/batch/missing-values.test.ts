/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Missing values in batch CSV files, with an imputing pipeline (bmi and bp nullable, age and s5 not):
 * the byte-level path takes a nullable feature's empty cell as NaN without leaving the fast loop, the
 * contract's rules take `NaN` and blank cells, a non-nullable feature's empty cell is rejected with the
 * API's code, and the answers equal scikit-learn's for the rows with missing values. Parquet nulls and
 * NaN doubles are missing values too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { csvLayout, parseCsvChunk } from '../../container/src/batch/rows';
import { runBatch } from '../../container/src/batch/run-batch';
import type { TabularInput } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { csvToParquet } from '../support/dataset-parquet';

const MODEL_DIR = path.join(__dirname, '../fixtures/byom/diabetes-imputer');
const manifest = readManifestFile(path.join(MODEL_DIR, 'model.json'));
const input = manifest.input as TabularInput;
type ParityRow = { input: (number | null)[]; value: number };
const parity = (JSON.parse(readFileSync(path.join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: ParityRow[] }).rows;
const cell = (v: number | null) => (v === null ? '' : String(v));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-missing-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseCsvChunk with nullable features', () => {
  const layout = csvLayout(manifest, 'id,age,bmi,bp,s5', 'id');
  const bytes = (s: string) => new TextEncoder().encode(s);

  it('reads empty cells of nullable features as NaN, on the fast path and the contract path alike', () => {
    const chunk = parseCsvChunk(
      input,
      layout,
      bytes(['a,0.5,,0.25,1', 'b,0.5,0.75,,1', 'c,0.5,NaN, nan ,1', 'd,0.5,"",   ,1', 'e,,0.75,0.25,1', 'f,0.5,0.75,0.25,'].join('\n')),
      2,
    );
    expect(chunk.ids).toEqual(['a', 'b', 'c', 'd']);
    const rows = Array.from({ length: 4 }, (_v, i) => Array.from(chunk.packed.subarray(i * 4, i * 4 + 4)));
    expect(rows).toEqual([
      [0.5, Number.NaN, 0.25, 1],
      [0.5, Math.fround(0.75), Number.NaN, 1],
      [0.5, Number.NaN, Number.NaN, 1],
      [0.5, Number.NaN, Number.NaN, 1],
    ]);
    // Not nullable: the API's code and message.
    expect(chunk.rejects).toEqual([
      { id: 'e', line: 6, code: 'INVALID_FEATURE_TYPE', field: 'age', message: '"" is not a number.' },
      { id: 'f', line: 7, code: 'INVALID_FEATURE_TYPE', field: 's5', message: '"" is not a number.' },
    ]);
  });
});

test("a batch CSV with empty cells gets scikit-learn's answers for its rows with missing values", async () => {
  const file = path.join(dir, 'with-missing.csv');
  writeFileSync(
    file,
    `id,${input.features.map((f) => f.name).join(',')}\n${parity.map((r, i) => `${i},${r.input.map(cell).join(',')}`).join('\n')}\n`,
  );
  expect(parity.filter((r) => r.input.includes(null)).length).toBeGreaterThan(2);
  const output = path.join(dir, 'with-missing.jsonl');
  const s = await runBatch({ model: MODEL_DIR, input: file, output, workers: 1, progress: false });
  expect(s).toMatchObject({ rows: parity.length, predicted: parity.length, rejected: 0 });
  const out = readFileSync(output, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; value: number });
  for (const o of out) expect(o.value).toBeCloseTo((parity[Number(o.id)] as ParityRow).value, 3);
});

test("a Parquet dataset's nulls and NaNs are missing values of nullable features, and rejected elsewhere", async () => {
  // GIVEN the parity rows as Parquet, missing values as nulls, plus a NaN in bmi and a null in age
  const names = input.features.map((f) => f.name);
  const csv = path.join(dir, 'for-parquet.csv');
  writeFileSync(csv, `id,${names.join(',')}\n${parity.map((r, i) => `${i},${r.input.map((v) => v ?? 0).join(',')}`).join('\n')}\n`);
  const edits = new Map<number, Record<string, number | null>>();
  parity.forEach((r, i) => {
    const nulls = Object.fromEntries(names.flatMap((n, j) => (r.input[j] === null ? [[n, null]] : [])));
    if (Object.keys(nulls).length > 0) edits.set(i, nulls);
  });
  const withNaN = parity.findIndex((r) => r.input[1] === null);
  edits.set(withNaN, { ...edits.get(withNaN), bmi: Number.NaN });
  const refused = parity.findIndex((r) => !r.input.includes(null));
  edits.set(refused, { age: null });
  const file = path.join(dir, 'with-missing.parquet');
  csvToParquet(csv, file, { edits });
  // WHEN the batch runs
  const output = path.join(dir, 'from-parquet.jsonl');
  const s = await runBatch({ model: MODEL_DIR, input: file, output, workers: 1, progress: false });
  // THEN every row but the one missing age is answered as scikit-learn answers it
  expect(s).toMatchObject({ rows: parity.length, predicted: parity.length - 1, rejected: 1 });
  const out = readFileSync(output, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; value: number });
  for (const o of out) expect(o.value).toBeCloseTo((parity[Number(o.id)] as ParityRow).value, 3);
  const [reject] = readFileSync(`${output}.rejects.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; code: string; field: string });
  expect(reject).toMatchObject({ id: String(refused), code: 'INVALID_FEATURE_TYPE', field: 'age' });
});
