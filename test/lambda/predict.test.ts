/**
 * `POST /predict` against the real parts: dynalite, s3rver, the local SQS and the container's model
 * server with the breast-cancer model, through the fargate (HTTP) path.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { PREFIX } from '../../contract/bucket';
import { LIMITS } from '../../contract/limits';
import type { PredictResponse } from '../../contract/prediction';
import { decodeRecord, float32Decimal, type PredictionRecord } from '../../contract/prediction-log';
import { newPredictionId } from '../../lambda/log/ids';
import { s3ReadError } from '../../lambda/model/inputs';
import { drainQueue } from '../../local/replay-loop';
import { defined } from '../support/defined';
import { until } from '../support/poll';
import { jsonBody, proxyEvent } from './events';
import {
  BUCKET,
  dynamoClient,
  type Harness,
  loadHandler,
  loadReplay,
  MODEL_DIR,
  predictEnv,
  replayEnv,
  s3Client,
  startHarness,
  TABLE,
} from './harness';

const parity = JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[]; label: string }[] };
const rows = parity.rows.map((r) => r.input);

let h: Harness;
let predict: ReturnType<typeof loadHandler>;

beforeAll(async () => {
  h = await startHarness();
  predict = loadHandler('predict', predictEnv(h, 'fargate'));
});
afterAll(async () => h.close());

const post = (body: unknown, headers: Record<string, string> = {}, raw?: string) =>
  predict(
    proxyEvent({
      method: 'POST',
      resource: '/predict',
      headers: { 'content-type': 'application/json', ...headers },
      body: raw ?? JSON.stringify(body),
    }),
  );

async function getRecord(id: string): Promise<PredictionRecord | undefined> {
  const out = await dynamoClient(h.ddb.url).send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true }));
  return out.Item === undefined ? undefined : decodeRecord(out.Item);
}

/** Numbers as the model's float32 input tensor holds them, in the log's shortest decimal form. */
const f32 = (values: number[]) => Array.from(new Float32Array(values), float32Decimal);

async function countLogged(): Promise<number> {
  const out = await dynamoClient(h.ddb.url).send(
    new ScanCommand({ TableName: TABLE, Select: 'COUNT', FilterExpression: 'attribute_exists(model)' }),
  );
  return out.Count ?? 0;
}

describe('POST /predict (fargate backend)', () => {
  it('answers each instance with its prediction id and logs one item per instance', async () => {
    const res = await post({ instances: rows.slice(0, 3) }, {}, undefined);
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['content-type']).toBe('application/json');
    const body = jsonBody<PredictResponse>(res);
    expect(body.model).toEqual({ name: 'breast-cancer', version: '1.0.0' });
    expect(body.predictions.map((p) => ('label' in p ? p.label : undefined))).toEqual(parity.rows.slice(0, 3).map((r) => r.label));
    for (const [i, p] of body.predictions.entries()) {
      const rec = await getRecord(p.id);
      // The log holds the values the model saw: float32, as the input tensor reads them.
      expect(rec).toMatchObject({
        id: p.id,
        model: 'breast-cancer',
        modelVersion: '1.0.0',
        inputValues: f32(rows[i]),
        apiKeyId: 'key-1',
        label: parity.rows[i].label,
      });
      expect(rec?.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(rec?.expiresAt).toBeGreaterThan(Date.now() / 1000 + 29 * 86400);
      expect(typeof rec?.requestId).toBe('string');
    }
    // EMF metrics with the model dimensions, and no instance values or API key in any log line.
    const emf = h.stdout.filter((l) => l._aws !== undefined && l.Predictions !== undefined);
    expect(emf.some((l) => l.Model === 'breast-cancer' && l.ModelVersion === '1.0.0' && l.BackendLatency !== undefined)).toBe(true);
    expect(emf.some((l) => l.Label === parity.rows[0].label)).toBe(true);
    const logged = JSON.stringify(h.stdout);
    expect(logged).not.toContain('secret-key-value');
    expect(logged).not.toContain(String(rows[0][3]));
  });

  it('accepts text/csv rows for the tabular model', async () => {
    const csv = rows
      .slice(0, 2)
      .map((r) => `${r.join(',')}\r\n`)
      .join('');
    const res = await predict(proxyEvent({ method: 'POST', resource: '/predict', headers: { 'Content-Type': 'text/csv' }, body: csv }));
    expect(res.statusCode).toBe(200);
    const body = jsonBody<PredictResponse>(res);
    expect(body.predictions).toHaveLength(2);
    expect((await getRecord(body.predictions[1].id))?.inputValues).toEqual(f32(rows[1]));
  });

  it('accepts a CSV header row matched by feature names (columns in any order) and logs rows in feature order', async () => {
    const names = (
      JSON.parse(readFileSync(join(__dirname, '../../models/breast-cancer/model.json'), 'utf8')) as {
        input: { features: { name: string }[] };
      }
    ).input.features.map((f) => f.name);
    const order = names.map((_, j) => j).reverse();
    const csv = [order.map((j) => `"${names[j]}"`).join(','), ...rows.slice(0, 2).map((r) => order.map((j) => r[j]).join(','))].join('\n');
    const res = await predict(proxyEvent({ method: 'POST', resource: '/predict', headers: { 'Content-Type': 'text/csv' }, body: csv }));
    expect(res.statusCode).toBe(200);
    const body = jsonBody<PredictResponse>(res);
    expect(body.predictions.map((p) => ('label' in p ? p.label : undefined))).toEqual(parity.rows.slice(0, 2).map((r) => r.label));
    expect((await getRecord(body.predictions[0].id))?.inputValues).toEqual(f32(rows[0]));
  });

  it('stops reading a CSV body at the request row limit', async () => {
    // 100,000 short rows (the body stays under the payload limit): refused after row 101, not after parsing all
    const csv = '1\n'.repeat(100_000);
    const res = await predict(proxyEvent({ method: 'POST', resource: '/predict', headers: { 'Content-Type': 'text/csv' }, body: csv }));
    expect(res.statusCode).toBe(400);
    expect(jsonBody<{ error: { code: string; message: string } }>(res).error).toMatchObject({
      code: 'TOO_MANY_INSTANCES',
      message: 'More than 100 rows in one request.',
    });
  });

  it('names the expected shape for a top-level s3Key', async () => {
    const res = await post({ s3Key: 'datasets/x.json' });
    expect(res.statusCode).toBe(400);
    expect(jsonBody<{ error: { message: string } }>(res).error.message).toContain('{"instances": [{"s3Key": "datasets/..."}]}');
  });

  it('fetches instances given as S3 keys and logs the key', async () => {
    await s3Client(h.s3.url).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'datasets/rows/one.json', Body: JSON.stringify(rows[0]) }));
    const res = await post({ instances: [{ s3Key: 'datasets/rows/one.json' }, rows[1]] });
    expect(res.statusCode).toBe(200);
    const body = jsonBody<PredictResponse>(res);
    expect('label' in body.predictions[0] && body.predictions[0].label).toBe(parity.rows[0].label);
    const rec = await getRecord(body.predictions[0].id);
    expect(rec?.inputKey).toBe('datasets/rows/one.json');
    expect(rec?.inputValues).toEqual(f32(rows[0]));

    const missing = await post({ instances: [{ s3Key: 'datasets/rows/none.json' }] });
    expect(missing.statusCode).toBe(404);
    expect(jsonBody(missing)).toEqual({ error: expect.objectContaining({ code: 'S3_OBJECT_NOT_FOUND', field: 'instances[0].s3Key' }) });
  });

  it('answers 400 for keys S3 or a file system cannot hold, 404 for a missing object, and maps S3 errors by cause', async () => {
    for (const key of [
      'datasets//ok.json',
      `datasets/${'a'.repeat(1000)}.json`,
      `datasets/${'a/'.repeat(600)}x.json`,
      'datasets/./x.json',
      'datasets/',
    ]) {
      const res = await post({ instances: [{ s3Key: key }] });
      expect({ key: key.slice(0, 30), status: res.statusCode, body: jsonBody(res) }).toEqual({
        key: key.slice(0, 30),
        status: 400,
        body: { error: expect.objectContaining({ code: 'INVALID_S3_KEY' }) },
      });
    }
    // A long key of legal segments is S3's to answer: not found, not an outage.
    const long = `datasets/${Array.from({ length: 5 }, () => 'b'.repeat(200)).join('/')}.json`;
    expect(long.length).toBeGreaterThan(1000);
    const res = await post({ instances: [{ s3Key: long }] });
    expect({ status: res.statusCode, code: jsonBody<{ error: { code: string } }>(res).error.code }).toEqual({
      status: 404,
      code: 'S3_OBJECT_NOT_FOUND',
    });
    // What a real S3 answers but the local one cannot be made to (no IAM there): mapped by name and status.
    const err = (name: string, httpStatusCode?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });
    expect(s3ReadError(err('AccessDenied', 403), 'k', 'f')).toMatchObject({ code: 'S3_ACCESS_DENIED', status: 403 });
    expect(s3ReadError(err('KeyTooLongError', 400), 'k', 'f')).toMatchObject({ code: 'INVALID_S3_KEY', status: 400 });
    expect(s3ReadError(err('SlowDown', 503), 'k', 'f')).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503 });
    expect(s3ReadError(err('InternalError', 500), 'k', 'f')).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503 });
    expect(s3ReadError(err('ECONNREFUSED'), 'k', 'f')).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503 });
  });

  it.each([
    ['INVALID_JSON', 400, '{"instances": [', 'application/json'],
    ['INVALID_BODY', 400, '[]', 'application/json'],
    ['EMPTY_INSTANCES', 400, '{"instances": []}', 'application/json'],
    ['TOO_MANY_INSTANCES', 400, JSON.stringify({ instances: Array(101).fill([1]) }), 'application/json'],
    ['WRONG_FEATURE_COUNT', 400, '{"instances": [[1, 2, 3]]}', 'application/json'],
    ['INVALID_FEATURE_TYPE', 400, JSON.stringify({ instances: [[...Array(29).fill(1), 'x']] }), 'application/json'],
    ['MISSING_FEATURE', 400, '{"instances": [{"mean_radius": 1}]}', 'application/json'],
    ['INVALID_S3_KEY', 400, '{"instances": [{"s3Key": "../etc/passwd"}]}', 'application/json'],
    ['INVALID_CSV_ROW', 400, '1,2,3\n', 'text/csv'],
    ['UNSUPPORTED_MEDIA_TYPE', 415, '<x/>', 'application/xml'],
  ])('answers %s with %i naming the field', async (code, status, body, type) => {
    const res = await predict(proxyEvent({ method: 'POST', resource: '/predict', headers: { 'content-type': type }, body }));
    expect(res.statusCode).toBe(status);
    const err = jsonBody<{ error: { code: string; message: string } }>(res).error;
    expect(err.code).toBe(code === 'INVALID_CSV_ROW' ? 'WRONG_FEATURE_COUNT' : code);
    expect(err.message.length).toBeGreaterThan(5);
  });

  it('answers 413 before calling the model when the body is over the limit', async () => {
    const before = await countLogged();
    const res = await post(undefined, {}, `{"instances": [], "pad": "${'x'.repeat(6 * 1024 * 1024)}"}`);
    expect(res.statusCode).toBe(413);
    expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }) });
    expect(await countLogged()).toBe(before);
  });

  describe('Idempotency-Key', () => {
    it('returns the first answer to a repeat and logs nothing new', async () => {
      const first = await post({ instances: [rows[2]] }, { 'Idempotency-Key': 'order-42' });
      expect(first.statusCode).toBe(200);
      const logged = await countLogged();
      const again = await post({ instances: [rows[2]] }, { 'Idempotency-Key': 'order-42' });
      expect(again.statusCode).toBe(200);
      expect(again.body).toBe(first.body);
      expect(await countLogged()).toBe(logged);
    });

    it('answers 409 when the key comes back with another body, and 400 for a malformed key', async () => {
      await post({ instances: [rows[3]] }, { 'Idempotency-Key': 'order-43' });
      const conflict = await post({ instances: [rows[4]] }, { 'Idempotency-Key': 'order-43' });
      expect(conflict.statusCode).toBe(409);
      expect(jsonBody(conflict)).toEqual({ error: expect.objectContaining({ code: 'IDEMPOTENCY_CONFLICT' }) });
      const bad = await post({ instances: [rows[3]] }, { 'Idempotency-Key': 'has space' });
      expect(bad.statusCode).toBe(400);
      expect(jsonBody(bad)).toEqual({ error: expect.objectContaining({ code: 'INVALID_HEADER' }) });
    });

    it('keys are per API key: another caller with the same key gets its own prediction', async () => {
      const a = await post({ instances: [rows[5]] }, { 'Idempotency-Key': 'shared' });
      const b = await predict(
        proxyEvent({
          method: 'POST',
          resource: '/predict',
          apiKeyId: 'key-2',
          headers: { 'content-type': 'application/json', 'Idempotency-Key': 'shared' },
          body: JSON.stringify({ instances: [rows[5]] }),
        }),
      );
      expect(b.statusCode).toBe(200);
      expect(jsonBody<PredictResponse>(b).predictions[0].id).not.toBe(jsonBody<PredictResponse>(a).predictions[0].id);
    });
  });

  it('answers 503 BACKEND_UNAVAILABLE when the model server is down, and logs nothing', async () => {
    const down = loadHandler('predict', predictEnv(h, 'fargate', 'http://127.0.0.1:1'));
    const before = await countLogged();
    const res = await down(
      proxyEvent({
        method: 'POST',
        resource: '/predict',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [rows[0]] }),
      }),
    );
    expect(res.statusCode).toBe(503);
    expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'BACKEND_UNAVAILABLE' }) });
    expect(await countLogged()).toBe(before);
  });

  it('with DynamoDB down, dead-letters the records; the replay writes each exactly once', async () => {
    const sqs = new SQSClient({ endpoint: h.sqs.url });
    const queueUrl = predictEnv(h, 'fargate').MLSHIP_LOG_DLQ_URL;
    const visibleMessages = async () =>
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes
        ?.ApproximateNumberOfMessages;
    // GIVEN DynamoDB is down
    await h.ddb.stop();
    let ids: string[];
    try {
      // WHEN three instances are predicted
      const res = await post({ instances: rows.slice(0, 3) });
      expect(res.statusCode).toBe(200);
      ids = jsonBody<PredictResponse>(res).predictions.map((p) => p.id);
    } finally {
      await h.ddb.start();
    }
    // THEN they are answered, not logged, and their records wait in the dead-letter queue
    expect(h.stdout.some((l) => l.DlqSends === 3)).toBe(true);
    expect(h.stdout.some((l) => l.LogWriteFailures === 3)).toBe(true);
    expect(await visibleMessages()).toBe('3');
    for (const id of ids) expect(await getRecord(id)).toBeUndefined();

    // WHEN DynamoDB is back, the three records are received (hidden for 1 s, not deleted) and the replay writes one
    const replay = loadReplay(replayEnv(h));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 1 }));
    expect(received.Messages).toHaveLength(3);
    const first = defined(received.Messages?.[0], 'the first received message');
    const before = await countLogged();
    const once = await replay({
      Records: [
        sqsRecord(defined(first.MessageId, 'its id'), defined(first.ReceiptHandle, 'its receipt handle'), defined(first.Body, 'its body')),
      ],
    });
    expect(once).toEqual({ batchItemFailures: [] });
    expect(await countLogged()).toBe(before + 1);
    // AND, once the visibility timeout passes, all three come back and are replayed
    // (SQS delivers at least once: replaying a record already written must not double it)
    await until('the received record to be visible again', async () => (await visibleMessages()) === '3');

    const drained = await drainQueue(sqs, queueUrl, replay);
    // THEN each record is logged exactly once and the queue is empty
    expect(drained).toEqual({ received: 3, replayed: 3, failed: 0 });
    expect(await countLogged()).toBe(before + 3);
    for (const id of ids) expect((await getRecord(id))?.id).toBe(id);
    expect(await visibleMessages()).toBe('0');
  });

  it("logs numbers beyond 2^53 and below DynamoDB's range as the float32 values the model saw", async () => {
    const row = [...rows[0]];
    row[0] = 1e16;
    row[1] = 1e-140;
    row[2] = 3.4e38;
    const res = await post({ instances: [row] });
    expect(res.statusCode).toBe(200);
    const rec = await getRecord(jsonBody<PredictResponse>(res).predictions[0].id);
    expect(rec?.inputValues).toEqual(f32(row));
    expect(rec?.inputValues?.slice(0, 3)).toEqual([1e16, 0, 3.4e38]);
    // Bit for bit what the model saw.
    expect(rec?.inputValues?.map((v) => Math.fround(v as number))).toEqual(Array.from(new Float32Array(row)));
  });

  it('accepts FLT_MAX (3.4028235e38, a valid float32) and logs it as the model saw it; refuses what rounds to Infinity', async () => {
    const row = [...rows[0]];
    row[2] = 3.4028235e38;
    const ok = await post({ instances: [row] });
    expect(ok.statusCode).toBe(200);
    const rec = await getRecord(jsonBody<PredictResponse>(ok).predictions[0].id);
    expect(rec?.inputValues?.[2]).toBe(3.4028235e38);
    row[2] = 3.4028236e38;
    const refused = await post({ instances: [row] });
    expect(refused.statusCode).toBe(400);
    expect(JSON.parse(refused.body).error).toMatchObject({ code: 'NON_FINITE_NUMBER', field: 'instances[0][2]' });
  });

  it('the replay parks what it can never write in the bucket, with the reason, and deletes it from the queue', async () => {
    const replay = loadReplay(replayEnv(h));
    h.stdout.length = 0;
    const unstorable = {
      id: newPredictionId(),
      model: 'breast-cancer',
      modelVersion: '1.0.0',
      createdAt: new Date().toISOString(),
      label: 'benign',
      probabilities: { benign: 1e200 },
      latencyMs: 1,
      requestId: 'r',
    };
    const out = await replay({
      Records: [
        sqsRecord('bad-1', 'r1', '{"not": "a record"}'),
        sqsRecord('bad-2', 'r2', 'not json'),
        sqsRecord('bad-3', 'r3', JSON.stringify(unstorable)),
      ],
    });
    expect(out.batchItemFailures).toEqual([]);
    const parked = await listParked();
    expect(parked.some((k) => k.endsWith(`/${unstorable.id}.json`))).toBe(true);
    expect(parked.filter((k) => k.includes('/message-bad-')).length).toBe(2);
    const obj = await s3Client(h.s3.url).send(
      new GetObjectCommand({
        Bucket: BUCKET,
        Key: defined(
          parked.find((k) => k.endsWith(`/${unstorable.id}.json`)),
          'the parked record',
        ),
      }),
    );
    const body = JSON.parse(await defined(obj.Body, 'the parked object body').transformToString()) as { reason: string; body: string };
    expect(body.reason).toMatch(/refuses the item.*outside DynamoDB's number range/);
    expect(JSON.parse(body.body)).toEqual(unstorable);
    expect(h.stdout.filter((l) => l.ParkedLogRecords !== undefined).reduce((n, l) => n + Number(l.ParkedLogRecords), 0)).toBe(3);
  });

  it('the replay retries a transient failure, then parks the record after a bounded number of deliveries', async () => {
    const replay = loadReplay(replayEnv(h));
    const record = {
      id: newPredictionId(),
      model: 'breast-cancer',
      modelVersion: '1.0.0',
      createdAt: new Date().toISOString(),
      label: 'benign',
      probabilities: { benign: 1 },
      latencyMs: 1,
      requestId: 'r',
    };
    await h.ddb.stop();
    try {
      const early = await replay({ Records: [sqsRecord('t-1', 'r1', JSON.stringify(record))] });
      expect(early.batchItemFailures).toEqual([{ itemIdentifier: 't-1' }]);
      const late = await replay({
        Records: [
          {
            ...sqsRecord('t-1', 'r1', JSON.stringify(record)),
            attributes: { ...sqsRecord('t-1', 'r1', '').attributes, ApproximateReceiveCount: String(LIMITS.replayMaxReceives) },
          },
        ],
      });
      expect(late.batchItemFailures).toEqual([]);
    } finally {
      await h.ddb.start();
    }
    expect((await listParked()).some((k) => k.endsWith(`/${record.id}.json`))).toBe(true);
  });

  it('answers 503 STORAGE_UNAVAILABLE when both the table and the queue refuse the record', async () => {
    const env = { ...predictEnv(h, 'fargate'), MLSHIP_LOG_DLQ_URL: h.sqs.queueUrl('no-such-queue') };
    const noQueue = loadHandler('predict', env);
    await h.ddb.stop();
    try {
      const res = await noQueue(
        proxyEvent({
          method: 'POST',
          resource: '/predict',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [rows[0]] }),
        }),
      );
      expect(res.statusCode).toBe(503);
      expect(jsonBody(res)).toEqual({ error: expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' }) });
    } finally {
      await h.ddb.start();
    }
  });

  it('answers ROUTE_NOT_FOUND for a route this function does not serve', async () => {
    const res = await predict(proxyEvent({ method: 'GET', resource: '/predictions' }));
    expect(res.statusCode).toBe(404);
  });
});

async function listParked(): Promise<string[]> {
  const out = await s3Client(h.s3.url).send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: PREFIX.parkedLogRecords }));
  return (out.Contents ?? []).map((o) => defined(o.Key, 'a listed object key'));
}

function sqsRecord(messageId: string, receiptHandle: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:log-dlq',
    awsRegion: 'us-east-1',
  };
}
