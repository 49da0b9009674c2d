/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * The batch mode end to end with the real model on worker threads: every row answered exactly once by
 * id, bad rows in the rejects file with the contract's codes, outputs equal to predicting each row on
 * its own, JSON Lines in and out, and S3 in and out against s3rver (CSV, and Parquet by ranged reads).
 */

import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parquetReadObjects } from 'hyparquet';
import { runBatch } from '../../container/src/batch/run-batch';
import { type LoadedModel, loadModel } from '../../container/src/model';
import { ENV } from '../../contract/env';
import { csvRow, type TabularInput } from '../../contract/manifest';
import type { Prediction } from '../../contract/prediction';
import { S3RVER_CREDENTIALS } from '../../local/paths';
import { type EmbeddedS3, startS3 } from '../../local/s3';
import { type DatasetInfo, writeDataset } from '../support/dataset';
import { csvToParquet as toParquet } from '../support/dataset-parquet';

const MODEL_DIR = path.join(__dirname, '../../models/breast-cancer');
const LABELS = ['malignant', 'benign'];

let dir: string;
let model: LoadedModel;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-batch-'));
  model = await loadModel(MODEL_DIR);
});
afterAll(async () => {
  await model.close();
  rmSync(dir, { recursive: true, force: true });
});

async function* lines(file: string): AsyncGenerator<string> {
  for await (const l of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (l !== '') yield l;
}

/** Input rows by id, read with the contract's own CSV parser (independent of the batch mode's fast path). */
function inputRows(info: DatasetInfo): Map<string, Float32Array> {
  const input = model.manifest.input as TabularInput;
  const rows = new Map<string, Float32Array>();
  for (const l of readFileSync(info.path, 'utf8').trimEnd().split('\n').slice(1)) {
    const id = l.slice(0, l.indexOf(','));
    if (!info.bad.has(id)) rows.set(id, csvRow(input.features, l.slice(id.length + 1).split(','), id) as Float32Array);
  }
  return rows;
}

describe('CSV, 100k rows with bad rows mixed in', () => {
  let info: DatasetInfo;
  let output: string;
  let summary: Awaited<ReturnType<typeof runBatch>>;

  beforeAll(async () => {
    // GIVEN a 100k-row dataset where every 997th row is broken in one of four ways
    info = await writeDataset(path.join(dir, 'data.csv'), { modelDir: MODEL_DIR, rows: 100_000, format: 'csv', badEvery: 997, seed: 7 });
    output = path.join(dir, 'preds.csv');
    // WHEN it is scored on two workers
    summary = await runBatch({ model: MODEL_DIR, input: info.path, output, workers: 2, chunkRows: 2048, progress: false });
  });

  it('summarises the run', () => {
    expect(summary).toMatchObject({
      rows: 100_000,
      rejected: info.bad.size,
      predicted: 100_000 - info.bad.size,
      output,
      rejects: `${output}.rejects.jsonl`,
    });
    expect(info.bad.size).toBe(100);
    expect(summary.rowsPerSecond).toBeGreaterThan(0);
    expect(summary.peakRssMiB).toBeGreaterThan(0);
  });

  it('answers every good row exactly once, in input order, with what predicting the row alone gives', async () => {
    const rows = inputRows(info);
    const [header, ...body] = readFileSync(output, 'utf8').trimEnd().split('\n');
    expect(header).toBe('id,label,p_malignant,p_benign');
    const got = new Map<string, number[]>();
    const order: string[] = [];
    for (const l of body) {
      const [id, label, ...probs] = l.split(',');
      got.set(id, [LABELS.indexOf(label), ...probs.map(Number)]);
      order.push(id);
    }
    expect(order.length).toBe(rows.size); // no id twice...
    expect(got.size).toBe(rows.size);
    expect(order).toEqual([...rows.keys()]); // ...every good id, in input order

    // Every row against the model on the contract-parsed values, 4096 at a time (mismatches collected,
    // then asserted once: 100k expect() calls would dominate the suite's time)...
    const ids = [...rows.keys()];
    const mismatches: string[] = [];
    for (let i = 0; i < ids.length; i += 4096) {
      const part = ids.slice(i, i + 4096);
      const want = await model.predict(part.map((id) => rows.get(id) as Float32Array));
      part.forEach((id, j) => {
        if (!same(got.get(id) as number[], want[j])) mismatches.push(id);
      });
    }
    // ...and a sample one row per call, as the API would answer them.
    for (const id of ids.filter((_, i) => i % 499 === 0)) {
      const [alone] = await model.predict([rows.get(id) as Float32Array]);
      if (!same(got.get(id) as number[], alone)) mismatches.push(`${id} (alone)`);
    }
    expect(mismatches).toEqual([]);
  });

  it('lists each bad row in the rejects file with its line, code, field and message', async () => {
    const rejects = new Map<string, { line: number; code: string; field?: string; message: string }>();
    for await (const l of lines(`${output}.rejects.jsonl`)) {
      const r = JSON.parse(l) as { id: string; line: number; code: string; field?: string; message: string };
      expect(rejects.has(r.id)).toBe(false);
      rejects.set(r.id, r);
    }
    expect(rejects.size).toBe(info.bad.size);
    for (const [id, code] of info.bad) {
      const r = rejects.get(id);
      expect(r?.code).toBe(code);
      expect(r?.line).toBe(Number(id.slice(1)) + 1); // row n is line n + 1 after the header
      expect(r?.message.length).toBeGreaterThan(5);
    }
    expect(rejects.get('r997')).toMatchObject({ code: 'INVALID_FEATURE_TYPE', field: 'mean_area', message: '"abc" is not a number.' });
    expect(rejects.get('r1994')).toMatchObject({
      code: 'WRONG_FEATURE_COUNT',
      message: "Expected 31 values (the header's columns), got 29.",
    });
  });
});

/** Same label and, written with nine significant digits, exactly the model's float32 probabilities. */
function same(got: number[], want: Prediction): boolean {
  if (!('label' in want)) throw new Error('the example model is a classifier');
  return (
    LABELS[got[0]] === want.label &&
    Math.fround(got[1]) === want.probabilities.malignant &&
    Math.fround(got[2]) === want.probabilities.benign
  );
}

describe('CSV layouts', () => {
  it('numbers rows without an id column, takes columns in any order and ignores extra ones', async () => {
    const input = path.join(dir, 'noid.csv');
    const names = (model.manifest.input as TabularInput).features.map((f) => f.name);
    const parity = JSON.parse(readFileSync(path.join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[] }[] };
    const reversed = [...names].reverse();
    const rows = parity.rows.slice(0, 5).map((r) => ['x', ...[...r.input].reverse()].join(','));
    writeFileSync(input, `target,${reversed.join(',')}\r\n${rows.join('\r\n')}\r\n\r\n`);
    const output = path.join(dir, 'noid.jsonl');
    const s = await runBatch({ model: MODEL_DIR, input, output, workers: 1, progress: false });
    expect(s).toMatchObject({ rows: 5, rejected: 0 });
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; label: string });
    const want = await model.predict(parity.rows.slice(0, 5).map((r) => Float32Array.from(r.input)));
    expect(out.map((o) => o.id)).toEqual([1, 2, 3, 4, 5]);
    expect(out.map((o) => o.label)).toEqual(want.map((p) => ('label' in p ? p.label : '')));
  });

  it('reads quoted cells holding line breaks as the API does, across chunk boundaries, and numbers lines by the file', async () => {
    const input = path.join(dir, 'notes.csv');
    const names = (model.manifest.input as TabularInput).features.map((f) => f.name);
    const parity = JSON.parse(readFileSync(path.join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[] }[] };
    const notes = ['"first line\nsecond, with a comma"', 'plain', '"say ""hi""\r\nthen\n\nbye"', '""', '"one"'];
    const rows = parity.rows.slice(0, 5).map((r, i) => [`"r${i}\n"`, notes[i], ...r.input].join(','));
    // A bad row after the multi-line ones: its reject names the line it starts on in the file.
    rows.push(['bad', '"x\ny"', 'oops', ...(parity.rows[0]?.input.slice(1) ?? [])].join(','));
    writeFileSync(input, `id,"note\n(free text)",${names.join(',')}\n${rows.join('\n')}\n`);
    const output = path.join(dir, 'notes.jsonl');
    const s = await runBatch({ model: MODEL_DIR, input, output, workers: 1, chunkRows: 2, progress: false });
    expect(s).toMatchObject({ rows: 6, rejected: 1 });
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; label: string });
    const want = await model.predict(parity.rows.slice(0, 5).map((r) => Float32Array.from(r.input)));
    expect(out.map((o) => o.id)).toEqual(['r0\n', 'r1\n', 'r2\n', 'r3\n', 'r4\n']);
    expect(out.map((o) => o.label)).toEqual(want.map((p) => ('label' in p ? p.label : '')));
    const rejects = readFileSync(`${output}.rejects.jsonl`, 'utf8').trim().split('\n');
    // Header: lines 1-2; r0: 3-5; r1: 6-7; r2: 8-12; r3: 13-14; r4: 15-16; bad: 17.
    expect(rejects.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ id: 'bad', line: 17, code: 'INVALID_FEATURE_TYPE' })]);
    // Without an id column, rows are numbered from the line after the header, however many lines it spans.
    const numbered = path.join(dir, 'notes-noid.csv');
    const plain = parity.rows.slice(0, 3).map((r) => ['x', ...r.input].join(','));
    writeFileSync(numbered, `"note\n(free text)",${names.join(',')}\n${plain.join('\n')}\n`);
    await runBatch({ model: MODEL_DIR, input: numbered, output, workers: 1, progress: false });
    expect(
      readFileSync(output, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual([1, 2, 3]);
  });

  it('stops before predicting when the header lacks features, naming them', async () => {
    const input = path.join(dir, 'bad-header.csv');
    writeFileSync(input, 'id,a,b\n1,2,3\n');
    await expect(runBatch({ model: MODEL_DIR, input, output: path.join(dir, 'x.csv'), workers: 1, progress: false })).rejects.toMatchObject(
      {
        code: 'INVALID_HEADER',
        message: expect.stringContaining('mean_radius'),
      },
    );
  });

  it('refuses to overwrite its input', async () => {
    const input = path.join(dir, 'same.csv');
    writeFileSync(input, 'id\n');
    await expect(runBatch({ model: MODEL_DIR, input, output: input, progress: false })).rejects.toThrow(/three different places/);
  });
});

describe('JSON Lines in and out', () => {
  it('answers objects and arrays by id and rejects what the API would reject', async () => {
    const info = await writeDataset(path.join(dir, 'data.jsonl'), {
      modelDir: MODEL_DIR,
      rows: 3000,
      format: 'jsonl',
      badEvery: 50,
      seed: 3,
    });
    writeFileSync(info.path, `${readFileSync(info.path, 'utf8')}not json\n[1,2]\n{"id":"arr","x":1}\n`);
    const output = path.join(dir, 'out.jsonl');
    const s = await runBatch({ model: MODEL_DIR, input: info.path, output, chunkRows: 256, workers: 2, progress: false });
    expect(s).toMatchObject({ rows: 3003, rejected: info.bad.size + 3 });

    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; label: string; probabilities: Record<string, number> });
    expect(out).toHaveLength(3000 - info.bad.size);
    expect(new Set(out.map((o) => o.id)).size).toBe(out.length);
    expect(out.some((o) => info.bad.has(o.id))).toBe(false);
    const first = JSON.parse(readFileSync(info.path, 'utf8').split('\n')[0]) as Record<string, number | string>;
    const names = (model.manifest.input as TabularInput).features.map((f) => f.name);
    const [want] = await model.predict([Float32Array.from(names.map((n) => first[n] as number))]);
    expect(out[0].id).toBe('r1');
    expect(same([LABELS.indexOf(out[0].label), out[0].probabilities.malignant, out[0].probabilities.benign], want)).toBe(true);

    const rejects = readFileSync(`${output}.rejects.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string | number; code: string; field?: string });
    for (const [id, code] of info.bad) expect(rejects.find((r) => r.id === id)?.code).toBe(code);
    expect(rejects.slice(-3).map((r) => r.code)).toEqual(['INVALID_JSON', 'WRONG_FEATURE_COUNT', 'MISSING_FEATURE']);
    expect(rejects.slice(-3).map((r) => r.id)).toEqual([3001, 3002, 'arr']);
  });
});

describe('S3 in and out (s3rver)', () => {
  const BUCKET = 'mlship-batch-test';
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

  it('streams the input object and uploads the predictions and rejects under the output prefix', async () => {
    // GIVEN 20k rows (about 4.5 MB of output) under batch/input/
    const info = await writeDataset(path.join(dir, 's3-data.csv'), { modelDir: MODEL_DIR, rows: 20_000, format: 'csv', badEvery: 1000 });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'batch/input/day1/data.csv', Body: readFileSync(info.path) }));

    // WHEN the run reads and writes S3
    const s = await runBatch({
      model: MODEL_DIR,
      input: `s3://${BUCKET}/batch/input/day1/data.csv`,
      output: `s3://${BUCKET}/batch/output/run-1/`,
      workers: 2,
      progress: false,
      env: { [ENV.S3_URL]: s3.url, AWS_REGION: 'us-east-1' },
    });

    // THEN the object is named after the input, like a Batch Transform output
    expect(s).toMatchObject({
      rows: 20_000,
      rejected: 20,
      output: `s3://${BUCKET}/batch/output/run-1/data.csv.out`,
      rejects: `s3://${BUCKET}/batch/output/run-1/data.csv.out.rejects.jsonl`,
    });
    const text = async (Key: string) => (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body?.transformToString() ?? '';
    const out = (await text('batch/output/run-1/data.csv.out')).trim().split('\n');
    expect(out[0]).toBe('id,label,p_malignant,p_benign');
    expect(out).toHaveLength(1 + 20_000 - 20);
    expect(out[1].startsWith('r1,')).toBe(true);
    const rejects = (await text('batch/output/run-1/data.csv.out.rejects.jsonl')).trim().split('\n');
    expect(rejects.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([...info.bad.keys()]);
  });

  it('reads the row groups of a Parquet input by range and uploads a Parquet output named after the input', async () => {
    const csv = path.join(dir, 's3-pq.csv');
    await writeDataset(csv, { modelDir: MODEL_DIR, rows: 3000, format: 'csv', seed: 5 });
    const file = path.join(dir, 's3-pq.parquet');
    toParquet(csv, file, { rowGroupSize: 1000 });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'batch/input/day1/data.parquet', Body: readFileSync(file) }));
    const s = await runBatch({
      model: MODEL_DIR,
      input: `s3://${BUCKET}/batch/input/day1/data.parquet`,
      output: `s3://${BUCKET}/batch/output/run-pq/`,
      workers: 2,
      progress: false,
      env: { [ENV.S3_URL]: s3.url, AWS_REGION: 'us-east-1' },
    });
    expect(s).toMatchObject({ rows: 3000, rejected: 0, output: `s3://${BUCKET}/batch/output/run-pq/data.parquet.out` });
    const obj = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'batch/output/run-pq/data.parquet.out' }));
    expect(obj.ContentType).toBe('application/vnd.apache.parquet');
    const bytes = await (obj.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    const rows = (await parquetReadObjects({ file: bytes.slice().buffer as ArrayBuffer })) as { id: string }[];
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 3000 }, (_, i) => `r${i + 1}`));
  });

  it('fails with the S3 error when the input object is missing, leaving no output behind', async () => {
    await expect(
      runBatch({
        model: MODEL_DIR,
        input: `s3://${BUCKET}/batch/input/missing.csv`,
        output: path.join(dir, 'never.csv'),
        progress: false,
        env: { [ENV.S3_URL]: s3.url },
      }),
    ).rejects.toThrow(/key does not exist/i);
    expect(existsSync(path.join(dir, 'never.csv'))).toBe(false);
  });
});
