/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Parquet in and out of the batch mode: a Parquet file of the same rows as a CSV file gives the same
 * answers byte for byte, read a row group at a time (several groups, optional and required columns,
 * compressed pages); bad values are rejected as the API rejects them in JSON; a Parquet output holds
 * the CSV output's columns and numbers. (S3 in and out: run-batch.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { runBatch } from '../../container/src/batch/run-batch';
import { writeDataset } from '../support/dataset';
import { csvToParquet as toParquet } from '../support/dataset-parquet';

const MODEL_DIR = path.join(__dirname, '../../models/breast-cancer');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-parquet-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Parquet input', () => {
  let csv: string;
  let csvOut: string;

  beforeAll(async () => {
    // GIVEN 5,000 rows as CSV, and the CSV mode's answers for them
    csv = path.join(dir, 'data.csv');
    await writeDataset(csv, { modelDir: MODEL_DIR, rows: 5000, format: 'csv', seed: 3 });
    csvOut = path.join(dir, 'from-csv.csv');
    await runBatch({ model: MODEL_DIR, input: csv, output: csvOut, workers: 2, progress: false });
  });

  it.each([
    { optional: true, rowGroupSize: 700, codec: 'SNAPPY' as const },
    { optional: false, rowGroupSize: 5000, codec: 'UNCOMPRESSED' as const },
  ])('answers the same rows with the same bytes as the CSV mode (%o)', async (opts) => {
    const file = path.join(dir, `data-${opts.rowGroupSize}.parquet`);
    toParquet(csv, file, opts);
    const output = path.join(dir, `from-parquet-${opts.rowGroupSize}.csv`);
    const s = await runBatch({ model: MODEL_DIR, input: file, output, workers: 2, progress: false });
    expect(s).toMatchObject({ rows: 5000, predicted: 5000, rejected: 0 });
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(csvOut, 'utf8'));
  });

  it('rejects missing, non-finite and out-of-range values as the API does, and answers the rest', async () => {
    const file = path.join(dir, 'bad.parquet');
    toParquet(csv, file, {
      edits: new Map<number, Record<string, number | null>>([
        [9, { mean_radius: null }],
        [19, { mean_area: Number.NaN }],
        [29, { worst_area: 1e39 }],
      ]),
    });
    const output = path.join(dir, 'bad.csv');
    const s = await runBatch({ model: MODEL_DIR, input: file, output, workers: 1, progress: false });
    expect(s).toMatchObject({ rows: 5000, predicted: 4997, rejected: 3 });
    const rejects = readFileSync(`${output}.rejects.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; line: number; code: string; field?: string });
    expect(rejects.map((r) => [r.id, r.line, r.code, r.field])).toEqual([
      ['r10', 10, 'INVALID_FEATURE_TYPE', 'mean_radius'],
      ['r20', 20, 'NON_FINITE_NUMBER', 'mean_area'],
      ['r30', 30, 'NON_FINITE_NUMBER', 'worst_area'],
    ]);
    const kept = readFileSync(csvOut, 'utf8')
      .split('\n')
      .filter((l) => !/^r(10|20|30),/.test(l));
    expect(readFileSync(output, 'utf8')).toBe(kept.join('\n'));
  });

  it('numbers rows by position when there is no id column', async () => {
    const file = path.join(dir, 'no-id.parquet');
    toParquet(csv, file, { drop: ['id'] });
    const output = path.join(dir, 'no-id.jsonl');
    await runBatch({ model: MODEL_DIR, input: file, output, workers: 2, progress: false });
    const ids = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
  });

  it('stops before predicting when columns lack features, naming them', async () => {
    const file = path.join(dir, 'lacking.parquet');
    toParquet(csv, file, { drop: ['mean_radius'] });
    await expect(runBatch({ model: MODEL_DIR, input: file, output: path.join(dir, 'never.csv'), progress: false })).rejects.toThrow(
      /The Parquet file lacks 1 of the model's features \(mean_radius\)/,
    );
  });

  it('writes a Parquet output with the CSV output columns and numbers', async () => {
    const output = path.join(dir, 'answers.parquet');
    await runBatch({ model: MODEL_DIR, input: csv, output, workers: 2, progress: false });
    const buf = readFileSync(output);
    const rows = (await parquetReadObjects({
      file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer,
    })) as Record<string, string | number>[];
    const expected = readFileSync(csvOut, 'utf8').trimEnd().split('\n');
    expect(Object.keys(rows[0] ?? {})).toEqual((expected[0] as string).split(','));
    expect(
      rows.map((r) => `${r.id},${r.label},${(r.p_malignant as number).toPrecision(9)},${(r.p_benign as number).toPrecision(9)}`),
    ).toEqual(expected.slice(1));
  });
});
