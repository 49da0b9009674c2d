/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Parquet in and out of the batch mode: a Parquet file of the same rows as a CSV file gives the same
 * answers byte for byte, read a row group at a time (several groups, optional and required columns,
 * compressed pages); bad values are rejected as the API rejects them in JSON; a Parquet output holds
 * the CSV output's columns and numbers; S3 in and out work through ranged reads against s3rver.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { runBatch } from '../../container/src/batch/run-batch';
import { ENV } from '../../contract/env';
import { S3RVER_CREDENTIALS } from '../../local/paths';
import { type EmbeddedS3, startS3 } from '../../local/s3';
import { writeDataset } from '../support/dataset';

const MODEL_DIR = path.join(__dirname, '../../models/breast-cancer');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-parquet-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ToParquet {
  /** Feature columns OPTIONAL (nullable, as pandas writes them) or REQUIRED. @default true */
  readonly optional?: boolean;
  readonly rowGroupSize?: number;
  readonly codec?: 'SNAPPY' | 'UNCOMPRESSED';
  /** Cells to replace: row index (0-based) → column name → value. */
  readonly edits?: ReadonlyMap<number, Record<string, number | null>>;
  /** Leave these columns out. */
  readonly drop?: readonly string[];
}

/** The rows of a CSV dataset (id first, then numbers) as a Parquet file: ids as text, features as doubles. */
function toParquet(csvFile: string, out: string, opts: ToParquet = {}): void {
  const [head, ...lines] = readFileSync(csvFile, 'utf8').trimEnd().split('\n');
  const names = (head as string).split(',');
  const columns = names.map(() => [] as (string | number | null)[]);
  lines.forEach((l, r) => {
    const edit = opts.edits?.get(r);
    l.split(',').forEach((cell, c) => {
      const name = names[c] as string;
      (columns[c] as (string | number | null)[]).push(edit && name in edit ? (edit[name] ?? null) : c === 0 ? cell : Number(cell));
    });
  });
  const optional = opts.optional ?? true;
  const kept = names.map((n, c) => ({ n, c })).filter(({ n }) => !opts.drop?.includes(n));
  const schema = [
    { name: 'root', num_children: kept.length },
    ...kept.map(({ n, c }) =>
      c === 0
        ? { name: n, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' }
        : { name: n, type: 'DOUBLE', repetition_type: optional ? 'OPTIONAL' : 'REQUIRED' },
    ),
  ];
  const buffer = parquetWriteBuffer({
    columnData: kept.map(({ n, c }) => ({ name: n, data: columns[c] as unknown[] })),
    schema,
    codec: opts.codec ?? 'SNAPPY',
    rowGroupSize: opts.rowGroupSize ?? 1000,
  } as unknown as Parameters<typeof parquetWriteBuffer>[0]);
  writeFileSync(out, new Uint8Array(buffer));
}

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

describe('Parquet on S3 (s3rver)', () => {
  const BUCKET = 'mlship-parquet-test';
  let s3: EmbeddedS3;
  let client: S3Client;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

  beforeAll(async () => {
    s3 = await startS3({ dir: path.join(dir, 's3'), bucket: BUCKET });
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    client = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  });
  afterAll(async () => {
    client.destroy();
    await s3.close();
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  });

  it('reads the row groups by range and uploads a Parquet output named after the input', async () => {
    const csv = path.join(dir, 's3-data.csv');
    await writeDataset(csv, { modelDir: MODEL_DIR, rows: 3000, format: 'csv', seed: 5 });
    const file = path.join(dir, 's3-data.parquet');
    toParquet(csv, file, { rowGroupSize: 1000 });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'batch/input/day1/data.parquet', Body: readFileSync(file) }));
    const s = await runBatch({
      model: MODEL_DIR,
      input: `s3://${BUCKET}/batch/input/day1/data.parquet`,
      output: `s3://${BUCKET}/batch/output/run-1/`,
      workers: 2,
      progress: false,
      env: { [ENV.S3_URL]: s3.url, AWS_REGION: 'us-east-1' },
    });
    expect(s).toMatchObject({ rows: 3000, rejected: 0, output: `s3://${BUCKET}/batch/output/run-1/data.parquet.out` });
    const obj = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'batch/output/run-1/data.parquet.out' }));
    expect(obj.ContentType).toBe('application/vnd.apache.parquet');
    const bytes = await (obj.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    const rows = (await parquetReadObjects({ file: bytes.slice().buffer as ArrayBuffer })) as { id: string }[];
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 3000 }, (_, i) => `r${i + 1}`));
  });
});
