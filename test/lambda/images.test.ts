/**
 * Image inputs with the digits model: images given as S3 keys are fetched and sent to the model as
 * base64 (the log keeps the key), and inline images larger than the log's inline limit are stored
 * under `predictions/` with only their key in the log item.
 */

import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PNG } from 'pngjs';
import { LIMITS } from '../../contract/limits';
import type { PredictResponse } from '../../contract/prediction';
import { decodeRecord, type PredictionRecord } from '../../contract/prediction-log';
import { defined } from '../support/defined';
import { jsonBody, proxyEvent } from './events';
import { BUCKET, dynamoClient, type Harness, loadHandler, predictEnv, s3Client, startHarness, TABLE } from './harness';

const DIGITS_DIR = resolve(__dirname, '../../models/digits');
let h: Harness;
let predict: ReturnType<typeof loadHandler>;

beforeAll(async () => {
  h = await startHarness({ modelDir: DIGITS_DIR });
  predict = loadHandler('predict', predictEnv(h, 'fargate'));
});
afterAll(async () => h.close());

/** A grayscale-noise PNG: noise does not compress, so the size follows the dimensions. */
function noisePng(side: number): Buffer {
  const png = new PNG({ width: side, height: side });
  randomBytes(side * side * 4).copy(png.data);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  return PNG.sync.write(png);
}

async function record(id: string): Promise<PredictionRecord> {
  const out = await dynamoClient(h.ddb.url).send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true }));
  return decodeRecord(defined(out.Item, `the record ${id}`));
}

const post = (instances: unknown[]) =>
  predict(
    proxyEvent({
      method: 'POST',
      resource: '/predict',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances }),
    }),
  );

it('fetches an image given as an S3 key; the log keeps the key', async () => {
  await s3Client(h.s3.url).send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'datasets/digits/7.png', Body: noisePng(16), ContentType: 'image/png' }),
  );
  const res = await post([{ s3Key: 'datasets/digits/7.png' }]);
  expect(res.statusCode).toBe(200);
  const p = jsonBody<PredictResponse>(res).predictions[0];
  expect('label' in p && /^[0-9]$/.test(p.label)).toBe(true);
  const rec = await record(p.id);
  expect(rec.inputKey).toBe('datasets/digits/7.png');
  expect(rec.inputImage).toBeUndefined();
});

it('stores an inline image above the inline limit under predictions/ and logs its key', async () => {
  const b64 = noisePng(48).toString('base64');
  expect(b64.length).toBeGreaterThan(LIMITS.maxInlineInputBytes);
  const small = noisePng(8).toString('base64');
  expect(small.length).toBeLessThan(LIMITS.maxInlineInputBytes);
  const res = await post([{ b64 }, small]);
  expect(res.statusCode).toBe(200);
  const [big, inline] = jsonBody<PredictResponse>(res).predictions;
  const bigRec = await record(big.id);
  expect(bigRec.inputImage).toBeUndefined();
  // Stored as the image itself, so it can be sent back as an s3Key.
  expect(bigRec.inputKey).toBe(`predictions/digits/${bigRec.createdAt.slice(0, 10)}/${big.id}.png`);
  const obj = await s3Client(h.s3.url).send(new GetObjectCommand({ Bucket: BUCKET, Key: bigRec.inputKey }));
  expect(obj.ContentType).toBe('image/png');
  expect(Buffer.from(await defined(obj.Body, 'the stored image body').transformToByteArray()).toString('base64')).toBe(b64);
  const again = await post([{ s3Key: bigRec.inputKey }]);
  expect(again.statusCode).toBe(200);
  const resent = jsonBody<PredictResponse>(again).predictions[0];
  expect('label' in resent && 'label' in big && resent.label).toBe('label' in big && big.label);
  const inlineRec = await record(inline.id);
  expect(inlineRec.inputImage).toBe(small);
  expect(inlineRec.inputKey).toBeUndefined();
});

it('answers INVALID_IMAGE for bytes that are not an image', async () => {
  const res = await post([{ b64: Buffer.from('definitely not a png').toString('base64') }]);
  expect(res.statusCode).toBe(400);
  expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'INVALID_IMAGE' }) });
});
