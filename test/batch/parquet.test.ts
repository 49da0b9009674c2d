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
import { parseLocation } from '../../container/src/batch/locations';
import { openParquet } from '../../container/src/batch/parquet';
import { runBatch } from '../../container/src/batch/run-batch';
import { parseManifest } from '../../contract/manifest';
import { writeDataset } from '../support/dataset';
import { csvToParquet as toParquet } from '../support/dataset-parquet';
import { duckdbForTests } from '../support/duckdb';

const MODEL_DIR = path.join(__dirname, '../../models/breast-cancer');
const noS3 = () => {
  throw new Error('no S3 here');
};

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

describe('Parquet input of one large row group', () => {
  const ROWS = 150_000;
  const duckdb = duckdbForTests();
  let csv: string;
  let csvOut: string;

  beforeAll(async () => {
    // GIVEN 150,000 rows as CSV, and the CSV mode's answers for them
    csv = path.join(dir, 'large.csv');
    await writeDataset(csv, { modelDir: MODEL_DIR, rows: ROWS, format: 'csv', seed: 5 });
    csvOut = path.join(dir, 'large-from-csv.csv');
    await runBatch({ model: MODEL_DIR, input: csv, output: csvOut, workers: 2, progress: false });
  }, 60_000);

  /** The units of work the batch mode makes of `file`: more than one is a group cut into slices. */
  async function units(file: string): Promise<{ groups: number; units: number[] }> {
    const manifest = parseManifest(JSON.parse(readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8')));
    const src = await openParquet(parseLocation(file), noS3, manifest, 'id');
    try {
      const rows: number[] = [];
      for await (const u of src.units()) rows.push(u.rows);
      return { groups: src.groups.length, units: rows };
    } finally {
      await src.close();
    }
  }

  it.each([
    { optional: true, codec: 'SNAPPY' as const, pageSize: 64 * 1024 },
    { optional: false, codec: 'UNCOMPRESSED' as const, pageSize: 256 * 1024 },
  ])(
    'is cut into slices at page starts and answers as the CSV mode does, byte for byte (hyparquet-writer, %o)',
    async (opts) => {
      const file = path.join(dir, `large-${opts.codec}.parquet`);
      toParquet(csv, file, { ...opts, rowGroupSize: ROWS });
      const { groups, units: cut } = await units(file);
      expect(groups).toBe(1);
      expect(cut).toHaveLength(3);
      expect(cut.reduce((a, b) => a + b, 0)).toBe(ROWS);
      const output = path.join(dir, `large-${opts.codec}.csv`);
      const s = await runBatch({ model: MODEL_DIR, input: file, output, workers: 2, progress: false });
      expect(s).toMatchObject({ rows: ROWS, predicted: ROWS, rejected: 0 });
      expect(readFileSync(output, 'utf8')).toBe(readFileSync(csvOut, 'utf8'));
    },
    60_000,
  );

  it.each([
    { version: 'V1', compression: 'snappy' },
    { version: 'V1', compression: 'gzip' },
    { version: 'V2', compression: 'zstd' },
    { version: 'V2', compression: 'uncompressed' },
  ])(
    'reads a group DuckDB writes (one page a column chunk: not cut, each page decoded once) in order, nulls rejected on their lines (DuckDB, %o)',
    async ({ version, compression }) => {
      // GIVEN the rows as DuckDB writes them in one row group, columns in another order, mean_radius null
      // on lines 1, 50,000, 50,001, 100,000, 100,001, 150,000 and every 9,973rd
      const file = path.join(dir, `large-duckdb-${version}-${compression}.parquet`);
      const bad = [1, 50_000, 50_001, 100_000, 100_001, ROWS, ...Array.from({ length: 15 }, (_v, i) => (i + 1) * 9973)].sort(
        (a, b) => a - b,
      );
      await duckdb().run(
        `COPY (SELECT * EXCLUDE (mean_radius, line), CASE WHEN line IN (${bad.join(',')}) THEN NULL ELSE mean_radius END AS mean_radius
         FROM (SELECT *, substr(id, 2)::INTEGER AS line FROM read_csv('${csv}', header = true, types = {'id': 'VARCHAR'}))
         ORDER BY line)
       TO '${file}' (FORMAT parquet, PARQUET_VERSION ${version}, COMPRESSION ${compression}, ROW_GROUP_SIZE 200000)`,
      );
      expect((await units(file)).units).toEqual([ROWS]);

      // WHEN it runs on two workers
      const output = path.join(dir, `large-duckdb-${version}-${compression}.csv`);
      const s = await runBatch({ model: MODEL_DIR, input: file, output, workers: 2, progress: false });

      // THEN the rejects name their lines, and the other rows are answered as the CSV mode answers them, in order
      expect(s).toMatchObject({ rows: ROWS, predicted: ROWS - bad.length, rejected: bad.length });
      const rejects = readFileSync(`${output}.rejects.jsonl`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; line: number; code: string; field?: string });
      expect(rejects.map((r) => [r.id, r.line, r.code, r.field])).toEqual(
        bad.map((n) => [`r${n}`, n, 'INVALID_FEATURE_TYPE', 'mean_radius']),
      );
      const dropped = new Set(bad.map((n) => `r${n}`));
      const kept = readFileSync(csvOut, 'utf8')
        .split('\n')
        .filter((l) => !dropped.has(l.slice(0, l.indexOf(','))));
      expect(readFileSync(output, 'utf8')).toBe(kept.join('\n'));
    },
    60_000,
  );

  it('numbers rows without an id column by their place in the file, across slices', async () => {
    const file = path.join(dir, 'large-no-id.parquet');
    toParquet(csv, file, { drop: ['id'], rowGroupSize: ROWS, pageSize: 100_000, edits: new Map([[65_536, { mean_area: null }]]) });
    expect((await units(file)).units.length).toBe(3);
    const output = path.join(dir, 'large-no-id.jsonl');
    const s = await runBatch({ model: MODEL_DIR, input: file, output, workers: 2, progress: false });
    expect(s).toMatchObject({ rows: ROWS, predicted: ROWS - 1, rejected: 1 });
    const ids = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).toEqual(Array.from({ length: ROWS }, (_v, i) => i + 1).filter((n) => n !== 65_537));
    expect(JSON.parse(readFileSync(`${output}.rejects.jsonl`, 'utf8'))).toMatchObject({ id: 65_537, line: 65_537, field: 'mean_area' });
  }, 60_000);
});
