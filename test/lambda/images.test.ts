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
import { BUCKET, dynamoClient, type Harness, loadHandler, OPERATOR_KEY_ID, predictEnv, s3Client, startHarness, TABLE } from './harness';

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

const post = (instances: unknown[], apiKeyId?: string) =>
  predict(
    proxyEvent({
      method: 'POST',
      resource: '/predict',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances }),
      apiKeyId,
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

it("sends a stored input back as an s3Key for its owner and the operators only, never for another tenant's key", async () => {
  // GIVEN an input the client key key-1 sent, stored under predictions/
  const res = await post([{ b64: noisePng(48).toString('base64') }]);
  const stored = defined((await record(jsonBody<PredictResponse>(res).predictions[0].id)).inputKey, 'the stored input key');
  expect(stored.startsWith('predictions/')).toBe(true);
  // AND one kept before stored inputs named their owner
  const unowned = stored.replace(/[^/]+\.png$/, 'from-before.png');
  await s3Client(h.s3.url).send(new PutObjectCommand({ Bucket: BUCKET, Key: unowned, Body: noisePng(16), ContentType: 'image/png' }));
  const statusFor = async (key: string, apiKeyId: string) => {
    const r = await post([{ s3Key: key }], apiKeyId);
    return r.statusCode === 200 ? '200' : `${r.statusCode} ${jsonBody<{ error: { code: string } }>(r).error.code}`;
  };
  // WHEN each key sends them back THEN the owner and the operator run the model, another client key is refused as if missing
  expect({
    owner: await statusFor(stored, 'key-1'),
    operator: await statusFor(stored, OPERATOR_KEY_ID),
    otherTenant: await statusFor(stored, 'key-2'),
    unownedByClient: await statusFor(unowned, 'key-1'),
    unownedByOperator: await statusFor(unowned, OPERATOR_KEY_ID),
    // AND keys outside predictions/ keep the bucket's own rules
    datasetByOtherTenant: await statusFor('datasets/digits/7.png', 'key-2'),
  }).toEqual({
    owner: '200',
    operator: '200',
    otherTenant: '403 S3_ACCESS_DENIED',
    unownedByClient: '403 S3_ACCESS_DENIED',
    unownedByOperator: '200',
    datasetByOtherTenant: '200',
  });
});

it('answers INVALID_IMAGE for bytes that are not an image', async () => {
  const res = await post([{ b64: Buffer.from('definitely not a png').toString('base64') }]);
  expect(res.statusCode).toBe(400);
  expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'INVALID_IMAGE' }) });
});
