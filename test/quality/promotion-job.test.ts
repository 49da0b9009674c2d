/**
 * The automatic promotion policy in the scheduled quality job, run as its EventBridge rule runs it (the
 * handler built from the environment its function gets) against a real dynalite table holding logged
 * split or shadow predictions with feedback and the routing item, and a real SNS client publishing to a
 * local stand-in of the alarm topic: a challenger as good as the champion steps up, a worse one is
 * rolled back, a shadow is left alone, and without the policy nothing is read or written.
 */
import { join } from 'node:path';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { ScheduledEvent } from 'aws-lambda';
import { ENV } from '../../contract/env';
import { encodeRecord, type PredictionRecord, shadowRecordsOf } from '../../contract/prediction-log';
import { NO_PROMOTION } from '../../contract/promotion';
import type { RoutingState } from '../../contract/versions';
import { withShadow } from '../../lambda/log/record-builder';
import { createQualityHandler, qualityDepsFromEnv } from '../../lambda/quality/job';
import { setLineSink } from '../../lambda/runtime/log-output';
import { basisOf, TableRoutingStore } from '../../lambda/versions/routing-store';
import { dynamoClient, type EmbeddedDynamoDb, ensureTable, startDynamoDb } from '../../local/dynamodb';
import { LOCAL_NAMES, PROJECT_ROOT, S3RVER_CREDENTIALS } from '../../local/paths';
import { quietHandlerLogs } from '../support/quiet-logs';
import { type PublishedMessage, startSnsStandIn } from '../support/sns-stand-in';

const MODEL = join(PROJECT_ROOT, 'models', 'breast-cancer');
const NOW = new Date('2024-05-01T12:00:00.000Z');
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:mlship-alarms';
const LABELS = ['benign', 'malignant'];

let db: EmbeddedDynamoDb;
let ddb: DynamoDBClient;
let sns: Awaited<ReturnType<typeof startSnsStandIn>>;
const savedEnv = { ...process.env };
const quiet = quietHandlerLogs();

beforeAll(async () => {
  [db, sns] = await Promise.all([startDynamoDb({}), startSnsStandIn()]);
  ddb = dynamoClient(db.url);
  // What the function's role and the SDK's endpoint variable give it on AWS; here the stand-ins.
  Object.assign(process.env, {
    AWS_REGION: LOCAL_NAMES.region,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_SNS: sns.url,
  });
});

afterAll(async () => {
  quiet.restore();
  process.env = savedEnv;
  ddb.destroy();
  await Promise.all([db.close(), sns.close()]);
});

let tables = 0;

/** A fresh table holding the routing item in `state` (updated 50 minutes ago) and the given records. */
async function tableWith(state: Omit<RoutingState, 'updatedAt' | 'updatedBy'>, records: PredictionRecord[]): Promise<string> {
  const table = `promotion-job-${++tables}`;
  await ensureTable(ddb, table);
  const stored: RoutingState = { ...state, updatedAt: new Date(NOW.getTime() - 50 * 60_000).toISOString(), updatedBy: 'deploy' };
  await new TableRoutingStore(ddb, table, 'breast-cancer').write(stored, basisOf(stored), 0);
  await Promise.all(records.map((r) => ddb.send(new PutItemCommand({ TableName: table, Item: encodeRecord(r) }))));
  return table;
}

/** `n` answered predictions of `version`, each fed back; `right` says whether its label was the true one. */
function answered(version: string, n: number, right: boolean, from: number): PredictionRecord[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const truth = LABELS[i % 2] ?? 'benign';
    const createdAt = new Date(NOW.getTime() - (1 + (i % 40)) * 60_000).toISOString();
    return {
      id: `ID${String(i).padStart(24, '0')}`,
      model: 'breast-cancer',
      modelVersion: version,
      createdAt,
      inputValues: Array.from({ length: 30 }, () => 1),
      label: right ? truth : (LABELS[(i + 1) % 2] ?? 'malignant'),
      probabilities: {},
      latencyMs: 3,
      requestId: `req-${i}`,
      feedback: { label: truth, givenAt: createdAt },
    };
  });
}

function envFor(table: string, policy: string): NodeJS.ProcessEnv {
  return {
    [ENV.PREDICTION_TABLE]: table,
    [ENV.MODEL_MANIFEST_PATH]: join(MODEL, 'model.json'),
    [ENV.MODEL_BASELINE_PATH]: join(MODEL, 'baseline.json'),
    [ENV.QUALITY_WINDOW_MINUTES]: '60',
    [ENV.QUALITY_THRESHOLDS]: '{}',
    [ENV.PROMOTION_POLICY]: policy,
    [ENV.ALARM_TOPIC_ARN]: TOPIC,
    [ENV.DYNAMODB_URL]: db.url,
  };
}

/** One scheduled run of the job; returns its result, the routing item after it, and what it published. */
async function runJob(table: string, policy = JSON.stringify({ minLabeled: 20 })) {
  const before = sns.published.length;
  const handler = createQualityHandler(qualityDepsFromEnv(envFor(table, policy), __dirname));
  const result = await handler({ time: NOW.toISOString() } as ScheduledEvent);
  const stored = await new TableRoutingStore(ddb, table, 'breast-cancer').read();
  return { result, stored, published: sns.published.slice(before) as PublishedMessage[] };
}

const split = { champion: '1.0.0', challenger: '2.0.0', mode: 'split', percent: 25 } as const;

describe('the quality job with the promotion policy', () => {
  test('steps a split challenger as good as the champion up, and publishes the decision with its figures', async () => {
    // GIVEN a 25 % split in which both versions were right on every fed-back request
    const table = await tableWith(split, [...answered('1.0.0', 40, true, 0), ...answered('2.0.0', 30, true, 100)]);
    // WHEN the job runs
    const { result, stored, published } = await runJob(table);
    // THEN it measured both versions as always, and moved the challenger to the next step
    expect(result.versions.map((v) => v.modelVersion).sort()).toEqual(['1.0.0', '2.0.0']);
    expect(result.promotion).toMatchObject({ action: 'step', state: { percent: 50, updatedBy: 'policy' } });
    expect(stored).toMatchObject({ revision: 2, state: { champion: '1.0.0', challenger: '2.0.0', percent: 50, updatedBy: 'policy' } });
    expect(stored?.basis).toBe(basisOf({ ...split, updatedAt: '', updatedBy: '' }));
    // AND the alarm topic was told, with the figures the step rests on
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ topicArn: TOPIC, subject: 'mlship breast-cancer: challenger 2.0.0 now answers 50 %' });
    const notice = JSON.parse(published[0]?.message ?? '{}');
    expect(notice).toMatchObject({ model: 'breast-cancer', action: 'step', reason: 'held at 25 %' });
    expect(notice.challenger).toMatchObject({ version: '2.0.0', answered: 30, graded: 30, accuracy: 1 });
    expect(notice.champion).toMatchObject({ version: '1.0.0', answered: 40, graded: 40, accuracy: 1 });
  });

  test('rolls a worse split challenger back at once', async () => {
    // GIVEN a challenger wrong on every fed-back request
    const table = await tableWith(split, [...answered('1.0.0', 40, true, 0), ...answered('2.0.0', 25, false, 100)]);
    const { result, stored, published } = await runJob(table);
    expect(result.promotion).toMatchObject({ action: 'rollback', state: { percent: 0, updatedBy: 'policy' } });
    expect(result.promotion?.reason).toMatch(/^accuracy 0\.000 below the champion's 1\.000/);
    expect(stored).toMatchObject({ revision: 2, state: { challenger: '2.0.0', percent: 0 } });
    expect(stored?.history.map((h) => h.percent)).toEqual([25]);
    expect(published.map((p) => p.subject)).toEqual(['mlship breast-cancer: challenger 2.0.0 rolled back']);
  });

  test('promotes a challenger that held through the last step', async () => {
    const table = await tableWith({ ...split, percent: 50 }, [...answered('1.0.0', 30, true, 0), ...answered('2.0.0', 30, true, 100)]);
    const { result, stored, published } = await runJob(table);
    expect(result.promotion?.action).toBe('promote');
    expect(stored?.state).toMatchObject({ champion: '2.0.0', challenger: '1.0.0', percent: 0 });
    expect(published.map((p) => p.subject)).toEqual(['mlship breast-cancer: 2.0.0 promoted to champion']);
  });

  test('leaves a shadow challenger alone: nothing written, nothing published', async () => {
    // GIVEN a shadow with its shadow predictions logged inside the answered items, and (as an earlier
    // release logged them) a third of them as items of their own
    const shadowed = answered('1.0.0', 30, true, 0).map((r) =>
      withShadow(r, '2.0.0', { prediction: { label: r.label ?? '', probabilities: {} } }, new Date(NOW.getTime() - 60_000), 4),
    );
    const earlier = shadowed.slice(0, 10);
    const items = [...earlier.map((r) => ({ ...r, shadow: undefined })), ...shadowRecordsOf(earlier), ...shadowed.slice(10)];
    const table = await tableWith({ ...split, mode: 'shadow', percent: 100 }, items);
    const { result, stored, published } = await runJob(table);
    expect(result.promotion).toMatchObject({ action: 'hold', reason: 'no split challenger with traffic' });
    expect(result.promotion?.challenger).toMatchObject({ version: '2.0.0', shadow: 30, agreement: 1, graded: 30 });
    expect(stored?.revision).toBe(1);
    expect(published).toEqual([]);
  });

  test('without the policy, neither reads nor writes the routing item', async () => {
    const table = await tableWith(split, [...answered('1.0.0', 40, true, 0), ...answered('2.0.0', 25, false, 100)]);
    const { result, stored, published } = await runJob(table, NO_PROMOTION);
    expect(result.promotion).toBeUndefined();
    expect(result.versions).toHaveLength(2);
    expect(stored).toMatchObject({ revision: 1, state: { percent: 25, updatedBy: 'deploy' } });
    expect(published).toEqual([]);
  });

  test('a topic it cannot reach: the change is made and logged all the same, and the run does not fail', async () => {
    const table = await tableWith(split, [...answered('1.0.0', 40, true, 0), ...answered('2.0.0', 25, false, 100)]);
    // GIVEN an SNS endpoint that refuses connections (the client is built at cold start, from the environment)
    process.env.AWS_ENDPOINT_URL_SNS = 'http://127.0.0.1:1';
    const logged: Record<string, unknown>[] = [];
    setLineSink((line, kind) => kind !== 'METRIC' && logged.push(JSON.parse(line)));
    try {
      const { result, stored, published } = await runJob(table);
      // THEN the rollback stands, and the failed notice is logged as an error
      expect(result.promotion?.action).toBe('rollback');
      expect(stored?.state.percent).toBe(0);
      expect(published).toEqual([]);
    } finally {
      setLineSink();
      process.env.AWS_ENDPOINT_URL_SNS = sns.url;
    }
    expect(logged.find((l) => l.message === 'promotion policy')).toMatchObject({
      level: 'INFO',
      action: 'rollback',
      state: { percent: 0 },
    });
    expect(logged.find((l) => l.message === 'promotion decision not published')).toMatchObject({ level: 'ERROR', action: 'rollback' });
  });

  test('refuses a policy it cannot read at cold start, naming the variable', () => {
    expect(() => qualityDepsFromEnv(envFor('t-x', '{"steps":[50,25]}'), __dirname)).toThrow(
      `${ENV.PROMOTION_POLICY}: the promotion policy is invalid: steps must ascend, got [50,25]`,
    );
    expect(() => qualityDepsFromEnv(envFor('t-x', '{"minLabeled":0}'), __dirname)).toThrow(/minLabeled/);
  });
});
