/**
 * The analytics store of the local system end to end: predictions made through the local API reach
 * the Parquet store exactly once, with their feedback joined, through the same writer the stream
 * function runs; a stream batch delivered twice counts once; `mlship export` backfills the same rows.
 */

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { BASELINE_FILE } from '../../contract/baseline';
import { PREFIX } from '../../contract/bucket';
import { featureBinSpecs, featureBinsFingerprint, featureBinsKey } from '../../contract/feature-bins';
import { readBaselineFile } from '../../contract/model-files';
import { decodeRecord, encodeRecord, type MetricsSummary, shadowRecordsOf } from '../../contract/prediction-log';
import { createAnalyticsWriter } from '../../lambda/analytics/writer';
import { withShadow } from '../../lambda/log/record-builder';
import { openAnalyticsDb } from '../../local/analytics/duckdb';
import { exportLog } from '../../local/analytics/export';
import { mirrorAnalytics } from '../../local/analytics/mirror';
import { dynamoClient } from '../../local/dynamodb';
import { LOCAL_NAMES, PROJECT_ROOT, S3RVER_CREDENTIALS } from '../../local/paths';
import { type LocalSystem, startLocal } from '../../local/system';
import { tempStore } from './fixtures';

const MODEL_DIR = join(PROJECT_ROOT, 'models', 'breast-cancer');
const parity = require(join(MODEL_DIR, 'parity.json')) as { rows: { input: number[]; label: string }[] };
const today = () => new Date().toISOString().slice(0, 10);

describe('the local analytics store', () => {
  let local: LocalSystem;
  let s3: S3Client;
  const roots: string[] = [];
  const call = (path: string, body: unknown) =>
    fetch(local.url + path, {
      method: 'POST',
      headers: { 'x-api-key': local.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** Mirrors the bucket's store and opens DuckDB over it. */
  const open = async () => {
    const root = tempStore();
    roots.push(root);
    await mirrorAnalytics(s3, local.bucketName, root);
    return openAnalyticsDb(root, local.manifest, { threads: 1 });
  };
  const objectCount = async () =>
    (await s3.send(new ListObjectsV2Command({ Bucket: local.bucketName, Prefix: PREFIX.analytics }))).KeyCount ?? 0;

  beforeAll(async () => {
    local = await startLocal({
      port: 0,
      inMemory: true,
      modelDir: MODEL_DIR,
      apiKey: 'analytics-key-0123456789ab',
      replayIntervalMs: 0,
      analyticsIntervalMs: 0,
    });
    s3 = new S3Client({ endpoint: local.s3Url, forcePathStyle: true, region: LOCAL_NAMES.region, credentials: S3RVER_CREDENTIALS });
  });
  afterAll(async () => {
    s3?.destroy();
    await local?.stop();
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  let ids: string[] = [];
  it('writes each prediction made through the API once, with its feedback joined', async () => {
    // GIVEN five predictions in two requests, and feedback on two of them (one right, one wrong)
    const rows = parity.rows.slice(0, 5);
    const answers = await Promise.all([
      call('/predict', { instances: rows.slice(0, 2).map((r) => r.input) }),
      call('/predict', { instances: rows.slice(2).map((r) => r.input) }),
    ]);
    const bodies = (await Promise.all(answers.map((a) => a.json()))) as { predictions: { id: string; label: string }[] }[];
    const predictions = bodies.flatMap((b) => b.predictions);
    ids = predictions.map((p) => p.id);
    const wrong = predictions[1].label === 'malignant' ? 'benign' : 'malignant';
    expect((await call(`/predictions/${ids[0]}/feedback`, { label: predictions[0].label })).status).toBe(200);
    expect((await call(`/predictions/${ids[1]}/feedback`, { label: wrong })).status).toBe(200);

    // WHEN the stream stand-in hands the writes to the analytics writer
    await local.flushAnalytics();

    // THEN the store holds each id once, its input values, and the feedback joined by id
    const db = await open();
    try {
      const stored = await db.query(
        'SELECT id, model, version, dt, predicted_label, api_key_id, f_mean_radius, f_worst_fractal_dimension FROM predictions ORDER BY id',
      );
      expect(stored.rows).toEqual(
        predictions
          .map((p, i) => ({ p, input: rows[i].input }))
          .sort((a, b) => a.p.id.localeCompare(b.p.id))
          .map(({ p, input }) => ({
            id: p.id,
            model: 'breast-cancer',
            version: '1.0.0',
            dt: today(),
            predicted_label: p.label,
            api_key_id: local.apiKeyId,
            // float32, as the model reads them
            f_mean_radius: Math.fround(input[0]),
            f_worst_fractal_dimension: Math.fround(input[29]),
          })),
      );
      const joined = await db.query(
        'SELECT p.id, p.predicted_label, f.label FROM predictions p JOIN feedback f ON f.id = p.id ORDER BY p.id',
      );
      expect(joined.rows).toEqual(
        [
          { id: ids[0], predicted_label: predictions[0].label, label: predictions[0].label },
          { id: ids[1], predicted_label: predictions[1].label, label: wrong },
        ].sort((a, b) => a.id.localeCompare(b.id)),
      );
      const accuracy = await db.named('accuracy-by-day', undefined, today());
      expect(accuracy.rows).toEqual([
        { day: today(), version: '1.0.0', predictions: '5', with_feedback: '2', correct: '1', accuracy: 0.5 },
      ]);
    } finally {
      db.close();
    }
  });

  it('counts a stream batch delivered twice once, whether it lands on the same keys or not', async () => {
    // GIVEN three more predictions written through the stream stand-in
    const res = await call('/predict', { instances: parity.rows.slice(5, 8).map((r) => r.input) });
    expect(res.status).toBe(200);
    await local.flushAnalytics();
    const db0 = await open();
    const stored = (await db0.query('SELECT count(*) AS n FROM predictions')).rows[0].n;
    db0.close();

    // WHEN the writer (the handler the stream function runs, built for this system's bucket) gets the log's records again: the whole
    // batch twice (the second lands on the first's keys) and a part of it (new keys)
    const writer = { handler: createAnalyticsWriter({ manifest: local.manifest, s3, bucket: local.bucketName }) };
    const ddb = dynamoClient(local.dynamodbUrl);
    const items = ((await ddb.send(new ScanCommand({ TableName: local.tableName }))).Items ?? []).filter((i) => i.model !== undefined);
    ddb.destroy();
    const event = (records: typeof items): DynamoDBStreamEvent => ({
      Records: records.map((NewImage, n) => ({
        eventName: 'INSERT',
        eventSource: 'aws:dynamodb',
        dynamodb: { NewImage: NewImage as never, SequenceNumber: String(n), StreamViewType: 'NEW_IMAGE' },
      })),
    });
    await writer.handler(event(items));
    const afterFull = await objectCount();
    await writer.handler(event(items));
    expect(await objectCount()).toBe(afterFull);
    await writer.handler(event(items.slice(0, 2)));

    // THEN every query still counts each prediction once
    const db = await open();
    try {
      expect(Number((await db.query('SELECT count(*) AS n FROM predictions')).rows[0].n)).toBeGreaterThan(Number(stored));
      const distinct = await db.query('SELECT count(DISTINCT id) AS n FROM predictions');
      const accuracy = await db.named('accuracy-by-day', undefined, today());
      expect(accuracy.rows.map((r) => r.predictions)).toEqual([distinct.rows[0].n]);
      expect(Number(distinct.rows[0].n)).toBe(items.length);
      expect(items.length).toBe(8);
    } finally {
      db.close();
    }
  });

  it('mlship export backfills the same rows from the table, shadow predictions in their own table', async () => {
    // GIVEN a challenger's shadow prediction of one of the logged predictions, inside its item as the predict
    // function logs it, and one of another, as an item of its own as an earlier release logged it
    const ddb = dynamoClient(local.dynamodbUrl);
    const items = (await ddb.send(new ScanCommand({ TableName: local.tableName }))).Items ?? [];
    const [of, ofEarlier] = items
      .filter((i) => i.model?.S === local.manifest.name && i.feedback === undefined)
      .map(decodeRecord)
      .sort((a, b) => a.id.localeCompare(b.id));
    if (of === undefined || ofEarlier === undefined) throw new Error('two predictions without feedback expected');
    const benign = { prediction: { label: 'benign', probabilities: { benign: 1, malignant: 0 } } };
    const shadowed = withShadow(of, '2.0.0', benign, new Date(), 3);
    const [earlier] = shadowRecordsOf([withShadow(ofEarlier, '2.0.0', benign, new Date(), 3)]);
    for (const r of [shadowed, earlier]) await ddb.send(new PutItemCommand({ TableName: local.tableName, Item: encodeRecord(r) }));
    // WHEN the export writes every row again, beside what the stream wrote
    const result = await exportLog(ddb, local.tableName, s3, local.bucketName, local.manifest);
    ddb.destroy();
    // THEN the queries count each id once, and the shadow predictions only beside their version's figures
    expect(result).toMatchObject({ predictions: 8, feedback: 2, shadows: 2 });
    const db = await open();
    try {
      const accuracy = await db.named('accuracy-by-day', undefined, today());
      expect(accuracy.rows).toEqual([
        { day: today(), version: '1.0.0', predictions: '8', with_feedback: '2', correct: '1', accuracy: 0.5 },
      ]);
      const versions = await db.named('versions-side-by-side', undefined, today());
      expect(versions.rows.map((r) => [r.version, r.answered, r.shadow, r.agreement])).toEqual([
        ['1.0.0', '8', '0', null],
        ['2.0.0', '0', '2', [of, ofEarlier].filter((r) => r.label === 'benign').length / 2],
      ]);
    } finally {
      db.close();
    }
  });

  it('answers the dashboard windows over 24 h from the store: the same figures the log gives for the day, each prediction once', async () => {
    // GIVEN today's eight predictions, written to the store more than once (above), two with feedback
    const summary = async (window: string) => {
      const res = await fetch(`${local.url}/metrics/summary?window=${window}`, { headers: { 'x-api-key': local.apiKey } });
      expect(res.status).toBe(200);
      return (await res.json()) as MetricsSummary;
    };
    // WHEN the same predictions are summarized from the log (24 h) and from the store (7, 30 and 90 days)
    const fromLog = await summary('24h');
    // THEN the long windows come from the store, from the first UTC day of the window, with the log's figures
    const figures = (s: MetricsSummary) => ({
      count: s.count,
      countsByLabel: s.countsByLabel,
      latencyMs: s.latencyMs,
      feedbackCount: s.feedbackCount,
      accuracy: s.accuracy,
    });
    expect(fromLog).toMatchObject({ source: 'log', count: 8, feedbackCount: 2, accuracy: 0.5 });
    for (const [window, days] of [
      ['7d', 7],
      ['30d', 30],
      ['90d', 90],
    ] as const) {
      const fromStore = await summary(window);
      expect(fromStore).toMatchObject({ source: 'analytics', window, truncated: false });
      expect(fromStore.from.slice(0, 10)).toBe(new Date(Date.parse(fromStore.to) - days * 86_400_000).toISOString().slice(0, 10));
      expect(figures(fromStore)).toEqual(figures(fromLog));
    }
  });

  it('compacts the day through the bucket once it is closed, and still counts a batch delivered after that once', async () => {
    const accuracy = async () => {
      const db = await open();
      try {
        return (await db.named('accuracy-by-day', undefined, today())).rows;
      } finally {
        db.close();
      }
    };
    const before = await accuracy();
    // WHEN the compactor runs as if the day had closed (a run two days on)
    const run = await local.compactAnalytics(new Date(Date.now() + 2 * 86_400_000));
    // THEN today's files of each table are one compacted object each, holding the eight predictions (and the two shadow ones) once,
    // beside the day's binned feature counts (the model has a baseline)
    expect(run.partitions.map((p) => [p.table, p.rowsOut])).toEqual([
      ['predictions', 8],
      ['feedback', 2],
      ['shadow_predictions', 2],
    ]);
    expect(run.featureBins.map((b) => [b.dt, b.rowsIn, b.backfill])).toEqual([[today(), 8, false]]);
    const fingerprint = featureBinsFingerprint(featureBinSpecs(local.manifest, readBaselineFile(join(MODEL_DIR, BASELINE_FILE))));
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: local.bucketName, Prefix: PREFIX.analytics }))).Contents ?? []).map(
      (o) => o.Key,
    );
    expect(keys.sort()).toEqual([
      featureBinsKey('breast-cancer', today(), fingerprint),
      ...[
        ...['feedback', 'predictions'].map((t) => `${t}/model=breast-cancer/dt=${today()}/1.0.0~compacted.parquet`),
        `shadow_predictions/model=breast-cancer/dt=${today()}/2.0.0~compacted.parquet`,
      ].map((k) => `${PREFIX.analytics}${k}`),
    ]);
    expect(await accuracy()).toEqual(before);

    // AND a stream batch redelivered after compaction is counted once
    const writer = { handler: createAnalyticsWriter({ manifest: local.manifest, s3, bucket: local.bucketName }) };
    const ddb = dynamoClient(local.dynamodbUrl);
    const items = ((await ddb.send(new ScanCommand({ TableName: local.tableName }))).Items ?? []).filter((i) => i.model !== undefined);
    ddb.destroy();
    await writer.handler({
      Records: items.slice(0, 3).map((NewImage, n) => ({
        eventName: 'INSERT',
        eventSource: 'aws:dynamodb',
        dynamodb: { NewImage: NewImage as never, SequenceNumber: String(n), StreamViewType: 'NEW_IMAGE' },
      })),
    });
    // (a raw predictions object beside the compacted ones, and a feedback one when the batch carried feedback)
    expect(await objectCount()).toBeGreaterThanOrEqual(3);
    expect(await accuracy()).toEqual(before);
  });
});
