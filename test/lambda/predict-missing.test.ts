/**
 * Missing values through `POST /predict` against the real parts (dynalite, s3rver, the local SQS and the
 * model server) with an imputing pipeline: bmi and bp are nullable, age and s5 are not. A missing value
 * sent as JSON null, "NaN", an empty CSV cell or NaN gets scikit-learn's own answer for that row, is
 * logged as null and stays null in the analytics row and its Parquet file; elsewhere it is today's 400.
 */

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { parquetReadObjects } from 'hyparquet';
import { parseManifest } from '../../contract/manifest';
import type { PredictResponse } from '../../contract/prediction';
import { decodeRecord, type PredictionRecord } from '../../contract/prediction-log';
import { predictionRow } from '../../lambda/analytics/log-rows';
import { parquetDecompressors, toParquet } from '../../lambda/analytics/parquet';
import { jsonBody, proxyEvent } from './events';
import { dynamoClient, type Harness, loadHandler, predictEnv, startHarness, TABLE } from './harness';

const MODEL_DIR = resolve(__dirname, '../fixtures/byom/diabetes-imputer');
const manifest = parseManifest(JSON.parse(readFileSync(join(MODEL_DIR, 'model.json'), 'utf8')));
type ParityRow = { input: (number | null)[]; value: number };
const parity = (JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: ParityRow[] }).rows;
/** A parity row with bmi missing and bp present, and one with both present: scikit-learn's answers. */
const missingBmi = parity.find((r) => r.input[1] === null && r.input[2] !== null) as ParityRow;
const complete = parity.find((r) => !r.input.includes(null)) as ParityRow;

let h: Harness;
let predict: ReturnType<typeof loadHandler>;

beforeAll(async () => {
  h = await startHarness({ modelDir: MODEL_DIR });
  predict = loadHandler('predict', predictEnv(h, 'fargate'));
});
afterAll(async () => h.close());

const post = (body: string, contentType = 'application/json') =>
  predict(proxyEvent({ method: 'POST', resource: '/predict', headers: { 'content-type': contentType }, body }));

async function getRecord(id: string): Promise<PredictionRecord> {
  const out = await dynamoClient(h.ddb.url).send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true }));
  if (out.Item === undefined) throw new Error(`${id} was not logged`);
  return decodeRecord(out.Item);
}

const cell = (v: number | null) => (v === null ? '' : String(v));

describe('missing values of nullable features', () => {
  it('JSON null, "NaN", an empty CSV cell and a NaN cell all get the parity row’s answer for the missing value', async () => {
    const [age, , bp, s5] = missingBmi.input;
    const json = await post(JSON.stringify({ instances: [missingBmi.input, [age, 'NaN', bp, s5], { age, bmi: null, bp, s5 }] }));
    const csv = await post(
      `age,bmi,bp,s5\n${missingBmi.input.map(cell).join(',')}\n${cell(age)},NaN,${cell(bp)},${cell(s5)}\n`,
      'text/csv',
    );
    for (const res of [json, csv]) {
      expect(res.statusCode).toBe(200);
      for (const p of jsonBody<PredictResponse>(res).predictions) expect('value' in p && p.value).toBeCloseTo(missingBmi.value, 3);
    }
    // A complete row beside them is unaffected.
    const both = await post(`${complete.input.map(cell).join(',')}\n${missingBmi.input.map(cell).join(',')}\n`, 'text/csv');
    expect(jsonBody<PredictResponse>(both).predictions.map((p) => ('value' in p ? Math.round(p.value * 1e3) : p))).toEqual(
      [complete.value, missingBmi.value].map((v) => Math.round(v * 1e3)),
    );
  });

  it('logs a missing value as null, and the analytics row and its Parquet file keep it null', async () => {
    const res = await post(`${missingBmi.input.map(cell).join(',')}\n`, 'text/csv');
    const [p] = jsonBody<PredictResponse>(res).predictions;
    const rec = await getRecord(p?.id ?? '');
    expect(rec.inputValues?.[1]).toBeNull();
    expect(rec.inputValues?.filter((v) => v === null)).toHaveLength(1);
    const row = predictionRow(manifest, rec);
    expect(row.features).toEqual(rec.inputValues);
    const file = await toParquet('predictions', [row], manifest);
    const [read] = await parquetReadObjects({
      file: file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer,
      compressors: await parquetDecompressors(),
    });
    expect(read).toMatchObject({ f_bmi: null, f_age: Math.fround(rec.inputValues?.[0] as number) });
  });
});

describe('features that are not nullable keep today’s answers', () => {
  it.each([
    [
      'JSON null',
      JSON.stringify({ instances: [[null, 0.01, 0.02, 0.03]] }),
      'application/json',
      'INVALID_FEATURE_TYPE',
      'instances[0][0]',
      'Expected a number (float), got null.',
    ],
    [
      '"NaN" in JSON',
      JSON.stringify({ instances: [{ age: 0.01, bmi: 0.01, bp: 0.02, s5: 'NaN' }] }),
      'application/json',
      'INVALID_FEATURE_TYPE',
      'instances[0].s5',
      'Expected a number (float), got a string.',
    ],
    ['an empty CSV cell', ',0.01,0.02,0.03\n', 'text/csv', 'INVALID_FEATURE_TYPE', 'rows[0][0]', '"" is not a number.'],
    ['NaN in CSV', '0.01,0.01,0.02,NaN\n', 'text/csv', 'NON_FINITE_NUMBER', 'rows[0][3]', '"NaN" is not a number.'],
  ])('%s → 400', async (_what, body, type, code, field, message) => {
    const res = await post(body, type);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error).toMatchObject({ code, field, message });
  });
});
