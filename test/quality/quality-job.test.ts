import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../contract/env';
import { DEFAULT_QUALITY_THRESHOLDS, qualityThresholds } from '../../contract/metrics/thresholds';
import { encodeRecord, type PredictionRecord } from '../../contract/prediction-log';
import { NO_PROMOTION } from '../../contract/promotion';
import { QUALITY_METRICS } from '../../contract/quality';
import { PredictionLogStore } from '../../lambda/log/prediction-log-store';
import { readQualityConfig } from '../../lambda/quality/config';
import { runQuality } from '../../lambda/quality/job';
import { dynamoClient, type EmbeddedDynamoDb, ensureTable, startDynamoDb } from '../../local/dynamodb';

const MODELS = join(__dirname, '../../models');
const TABLE = 'quality-job-test';
const NOW = new Date('2024-05-01T12:00:00.000Z');

interface ParityRow {
  input: number[];
  label: string;
}
const parity = (JSON.parse(readFileSync(join(MODELS, 'breast-cancer/parity.json'), 'utf8')) as { rows: ParityRow[] }).rows;

function envFor(model: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    [ENV.PREDICTION_TABLE]: TABLE,
    [ENV.MODEL_MANIFEST_PATH]: join(MODELS, model, 'model.json'),
    [ENV.MODEL_BASELINE_PATH]: join(MODELS, model, 'baseline.json'),
    [ENV.QUALITY_WINDOW_MINUTES]: '60',
    [ENV.QUALITY_THRESHOLDS]: '{}',
    [ENV.PROMOTION_POLICY]: NO_PROMOTION,
    [ENV.ALARM_TOPIC_ARN]: 'arn:aws:sns:us-east-1:123456789012:alarms',
    ...extra,
  };
}

function record(i: number, minutesAgo: number, version: string, input: unknown, label: string, feedback?: string): PredictionRecord {
  const timestamp = new Date(NOW.getTime() - minutesAgo * 60_000).toISOString();
  const id = `ID${String(i).padStart(24, '0')}`;
  return {
    id,
    model: 'breast-cancer',
    modelVersion: version,
    createdAt: timestamp,
    ...(input as Partial<PredictionRecord>),
    label,
    probabilities: {},
    latencyMs: 2,
    requestId: `req-${i}`,
    ...(feedback !== undefined ? { feedback: { label: feedback, givenAt: timestamp } } : {}),
  };
}

let db: EmbeddedDynamoDb;
let ddb: DynamoDBClient;

beforeAll(async () => {
  db = await startDynamoDb({});
  ddb = dynamoClient(db.url);
  await ensureTable(ddb, TABLE);
  const put = (r: PredictionRecord) => ddb.send(new PutItemCommand({ TableName: TABLE, Item: encodeRecord(r) }));
  const records: PredictionRecord[] = [];
  // Version 1.0.0: the 50 held-out rows; 40 fed back, 30 correctly.
  parity.forEach((row, i) => {
    const input = { inputValues: row.input };
    const feedback = i < 30 ? row.label : i < 40 ? (row.label === 'benign' ? 'malignant' : 'benign') : undefined;
    records.push(record(i, 1 + (i % 50), '1.0.0', input, row.label, feedback));
  });
  // Version 2.0.0: every input shifted far off the training range, all predicted malignant, no feedback.
  for (let i = 0; i < 20; i++)
    records.push(record(100 + i, 5, '2.0.0', { inputValues: parity[i].input.map((v) => v * 10 + 1000) }, 'malignant'));
  // Outside the window: older than 60 minutes, and one with an encoded input the job cannot read.
  records.push(record(200, 61, '1.0.0', { inputValues: parity[0].input }, 'benign', 'malignant'));
  records.push(record(201, 3, '1.0.0', { inputKey: 'datasets/x.json' }, 'benign'));
  await Promise.all(records.map(put));
});

afterAll(async () => {
  ddb.destroy();
  await db.close();
});

describe('quality job', () => {
  test('reads the window per version and publishes accuracy and drift as EMF with Model and ModelVersion, and the model as served with Model alone', async () => {
    const config = readQualityConfig(envFor('breast-cancer'), __dirname);
    const lines: string[] = [];
    const result = await runQuality(config, new PredictionLogStore(ddb, TABLE), NOW, (l) => lines.push(l));

    expect(result).toMatchObject({ model: 'breast-cancer', from: '2024-05-01T11:00:00.000Z', to: NOW.toISOString(), truncated: false });
    const [v1, v2] = result.versions;
    expect(v1).toMatchObject({ modelVersion: '1.0.0', predictions: 51, comparableInputs: 50 });
    expect(v1.quality).toMatchObject({ kind: 'classification', count: 40, accuracy: 0.75 });
    // Macro F1 by hand: rows 0–29 fed back their own label, rows 30–39 the other one, so per label
    // TP = its rows among 0–29, predicted = its rows among 0–39, actual = TP + the other label's rows among 30–39.
    const f1 = (l: string) => {
      const tp = parity.slice(0, 30).filter((r) => r.label === l).length;
      const predicted = parity.slice(0, 40).filter((r) => r.label === l).length;
      const actual = tp + parity.slice(30, 40).filter((r) => r.label !== l).length;
      return (2 * tp) / (predicted + actual);
    };
    const macroF1 = (f1('malignant') + f1('benign')) / 2;
    expect(v1.quality.kind === 'classification' && v1.quality.macroF1).toBeCloseTo(macroF1, 12);
    // The held-out rows come from the training distribution; the shifted ones do not.
    expect(v1.maxFeaturePsi).toBeLessThan(2);
    expect(v2).toMatchObject({ modelVersion: '2.0.0', predictions: 20, comparableInputs: 20, quality: { count: 0 } });
    expect(v2.maxFeaturePsi).toBeGreaterThan(5);
    expect(v2.features.every((f) => f.ks > 0.5)).toBe(true);
    // Every prediction malignant against priors 0.37/0.63.
    expect(v2.predictionPsi).toBeGreaterThan(v1.predictionPsi as number);

    const docs = lines.map(
      (l) =>
        JSON.parse(l) as Record<string, unknown> & {
          _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
        },
    );
    const summary = docs.find((d) => d.ModelVersion === '1.0.0' && d.Feature === undefined);
    expect(summary).toMatchObject({
      Model: 'breast-cancer',
      [QUALITY_METRICS.accuracy]: 0.75,
      [QUALITY_METRICS.feedbackCount]: 40,
      [QUALITY_METRICS.windowPredictions]: 51,
    });
    expect(summary?.[QUALITY_METRICS.macroF1]).toBeCloseTo(macroF1, 12);
    // Feedback given at prediction time: no delay.
    expect(summary?.[QUALITY_METRICS.labelDelayP90]).toBe(0);
    expect(summary?._aws.Timestamp).toBe(NOW.getTime());
    expect(summary?._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Model', 'ModelVersion']]);
    // Every metric a document declares has its value in the document.
    for (const d of docs) for (const m of d._aws.CloudWatchMetrics[0].Metrics) expect(typeof d[m.Name]).toBe('number');
    // No feedback for 2.0.0: no accuracy data point rather than a made-up one.
    const summary2 = docs.find((d) => d.ModelVersion === '2.0.0' && d.Feature === undefined);
    expect(summary2?.[QUALITY_METRICS.accuracy]).toBeUndefined();
    expect(summary2?.[QUALITY_METRICS.maxFeaturePsi]).toBe(v2.maxFeaturePsi);
    // Per-feature documents: all 30 features, with the Feature dimension.
    const perFeature = docs.filter((d) => d.ModelVersion === '1.0.0' && d.Feature !== undefined);
    expect(perFeature).toHaveLength(30);
    expect(perFeature[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Model', 'ModelVersion', 'Feature']]);
    // Two versions answered in the window: the model as served, what the alarms watch, is both together,
    // under the Model dimension alone (one summary, no per-feature or per-class documents).
    const served = docs.filter((d) => d.ModelVersion === undefined);
    expect(served).toHaveLength(1);
    expect(served[0]?._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Model']]);
    expect(served[0]).toMatchObject({
      Model: 'breast-cancer',
      [QUALITY_METRICS.windowPredictions]: 71,
      [QUALITY_METRICS.feedbackCount]: 40,
      [QUALITY_METRICS.accuracy]: 0.75,
    });
    expect(result.served).toMatchObject({ modelVersion: '1.0.0+2.0.0', predictions: 71 });
    // 2.0.0's shifted inputs are a fifth of what was served: the model's drift lies between the two versions'.
    const servedPsi = served[0]?.[QUALITY_METRICS.maxFeaturePsi] as number;
    expect(servedPsi).toBeGreaterThan(v1.maxFeaturePsi as number);
    expect(servedPsi).toBeLessThan(v2.maxFeaturePsi as number);
  });

  test('reads at most the item bound, newest first, and says it left some out', async () => {
    const w = await new PredictionLogStore(ddb, TABLE).readWindow('breast-cancer', new Date(NOW.getTime() - 3_600_000), NOW, 10);
    expect(w.truncated).toBe(true);
    expect(w.records).toHaveLength(10);
    const times = w.records.map((r) => r.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
    const all = await new PredictionLogStore(ddb, TABLE).readWindow('breast-cancer', new Date(NOW.getTime() - 3_600_000), NOW, 71);
    expect(all).toMatchObject({ truncated: false });
    expect(all.records).toHaveLength(71);
  });

  test('an empty window publishes nothing and reports no versions', async () => {
    const config = readQualityConfig(envFor('breast-cancer'), __dirname);
    const lines: string[] = [];
    const result = await runQuality(config, new PredictionLogStore(ddb, TABLE), new Date('2020-01-01T00:00:00Z'), (l) => lines.push(l));
    expect(result.versions).toEqual([]);
    expect(lines).toEqual([]);
  });
});

describe('quality job of a regression model', () => {
  const at = (minutesAgo: number, plusSeconds = 0) => new Date(NOW.getTime() - minutesAgo * 60_000 + plusSeconds * 1000).toISOString();
  /** 20 predictions of diabetes-progression, every input far above the training range; the first has no bmi. */
  function regressionRecord(
    i: number,
    predictedValue: number,
    feedback?: { label: string | number; afterSeconds: number },
  ): PredictionRecord {
    const inputValues = new Array<number | null>(10).fill(1e6);
    if (i === 0) inputValues[2] = null;
    return {
      id: `RG${String(i).padStart(24, '0')}`,
      model: 'diabetes-progression',
      modelVersion: '1.0.0',
      createdAt: at(30),
      // A missing value is logged as null (the record type does not list it yet).
      inputValues: inputValues as number[],
      predictedValue,
      latencyMs: 2,
      requestId: `rg-${i}`,
      ...(feedback === undefined ? {} : { feedback: { label: feedback.label, givenAt: at(30, feedback.afterSeconds) } }),
    };
  }

  beforeAll(async () => {
    const records = [
      regressionRecord(0, 100, { label: 110, afterSeconds: 60 }),
      regressionRecord(1, 150, { label: 140, afterSeconds: 120 }),
      // Stored as text by an older release.
      regressionRecord(2, 200, { label: '230', afterSeconds: 600 }),
      ...Array.from({ length: 17 }, (_, k) => regressionRecord(3 + k, 150)),
    ];
    await Promise.all(records.map((r) => ddb.send(new PutItemCommand({ TableName: TABLE, Item: encodeRecord(r) }))));
  });

  test('publishes error, bias, R², drifted share, missing rates and label delay', async () => {
    const config = {
      ...readQualityConfig(envFor('diabetes-progression'), __dirname),
      thresholds: qualityThresholds({ minimumSample: 20 }),
    };
    const lines: string[] = [];
    const { versions } = await runQuality(config, new PredictionLogStore(ddb, TABLE), NOW, (l) => lines.push(l));
    const [v] = versions;

    // Errors (predicted − actual) −10, +10, −30; actuals 110, 140, 230 (mean 160, squares about it 7800).
    expect(v.quality).toMatchObject({ kind: 'regression', count: 3, invalid: 0 });
    const summary = JSON.parse(lines[0] as string) as Record<string, number> & {
      _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] };
    };
    // One version answered the whole window: its summary is the model's too, in the same line.
    expect(summary._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Model', 'ModelVersion'], ['Model']]);
    expect(summary[QUALITY_METRICS.mae]).toBeCloseTo(50 / 3, 12);
    expect(summary[QUALITY_METRICS.rmse]).toBeCloseTo(Math.sqrt(1100 / 3), 12);
    expect(summary[QUALITY_METRICS.meanError]).toBeCloseTo(-10, 12);
    expect(summary[QUALITY_METRICS.r2]).toBeCloseTo(1 - 1100 / 7800, 12);
    // Delays 60 s, 120 s, 600 s: nearest rank 2 of 3 is p50, rank 3 is p90.
    expect(summary[QUALITY_METRICS.labelDelayP50]).toBe(120_000);
    expect(summary[QUALITY_METRICS.labelDelayP90]).toBe(600_000);
    // Every value above the last training decile: each numeric feature drifts; bmi has 19 values, under
    // the minimum sample of 20, so it has no verdict and the share is 9 of 9 tested.
    expect(v.driftTests.find((t) => t.feature === 'bmi')?.result).toEqual({ status: 'insufficient-data', n: 19, minimum: 20 });
    expect(v.driftedShare).toEqual({ status: 'tested', tested: 9, drifted: 9, share: 1, alert: true });
    expect(summary[QUALITY_METRICS.driftedFeatureShare]).toBe(1);
    expect(v.predictionDrift?.status).toBe('tested');
    expect(summary[QUALITY_METRICS.predictionDriftPValue]).toBe(v.predictionDrift?.status === 'tested' ? v.predictionDrift.pValue : NaN);
    // No accuracy or F1 for a regression model.
    expect(summary[QUALITY_METRICS.accuracy]).toBeUndefined();
    expect(summary[QUALITY_METRICS.macroF1]).toBeUndefined();

    // Per feature: the missing rate (1 of 20 for bmi) and the drift test's p-value where there was one.
    const perFeature = lines.slice(1).map((l) => JSON.parse(l) as Record<string, number | string>);
    expect(perFeature).toHaveLength(10);
    const bmi = perFeature.find((d) => d.Feature === 'bmi');
    expect(bmi?.[QUALITY_METRICS.featureMissingRate]).toBe(0.05);
    expect(bmi?.[QUALITY_METRICS.featureDriftPValue]).toBeUndefined();
    const age = perFeature.find((d) => d.Feature === 'age');
    expect(age?.[QUALITY_METRICS.featureMissingRate]).toBe(0);
    expect(age?.[QUALITY_METRICS.featureDriftPValue]).toBeLessThan(0.05);
  });
});

describe('quality job configuration', () => {
  test('a missing variable stops the cold start naming it', () => {
    const env = envFor('breast-cancer');
    delete env[ENV.MODEL_BASELINE_PATH];
    expect(() => readQualityConfig(env, __dirname)).toThrow(/missing environment variable\(s\): MLSHIP_MODEL_BASELINE_PATH/);
  });

  test('a bad window is refused', () => {
    expect(() => readQualityConfig(envFor('breast-cancer', { [ENV.QUALITY_WINDOW_MINUTES]: '0' }), __dirname)).toThrow(/1 to 10080/);
    expect(() => readQualityConfig(envFor('breast-cancer', { [ENV.QUALITY_WINDOW_MINUTES]: '15m' }), __dirname)).toThrow(/whole number/);
  });

  test('reads its thresholds from the environment: the defaults with the configured overrides', () => {
    expect(readQualityConfig(envFor('breast-cancer'), __dirname).thresholds).toEqual(DEFAULT_QUALITY_THRESHOLDS);
    const env = envFor('breast-cancer', { [ENV.QUALITY_THRESHOLDS]: '{"driftedFeatureShare":0.5,"minimumSample":300}' });
    expect(readQualityConfig(env, __dirname).thresholds).toEqual({
      ...DEFAULT_QUALITY_THRESHOLDS,
      driftedFeatureShare: 0.5,
      minimumSample: 300,
    });
  });

  test('bad thresholds stop the cold start', () => {
    const withThresholds = (raw: string) => envFor('breast-cancer', { [ENV.QUALITY_THRESHOLDS]: raw });
    expect(() => readQualityConfig(withThresholds('0.3'), __dirname)).toThrow(/MLSHIP_QUALITY_THRESHOLDS must be a JSON object/);
    expect(() => readQualityConfig(withThresholds('{oops'), __dirname)).toThrow(/MLSHIP_QUALITY_THRESHOLDS must be a JSON object/);
    expect(() => readQualityConfig(withThresholds('{"maeRatio":0.5}'), __dirname)).toThrow(/maeRatio must be greater than 1, got 0.5/);
    const env = envFor('breast-cancer');
    delete env[ENV.QUALITY_THRESHOLDS];
    expect(() => readQualityConfig(env, __dirname)).toThrow(/missing environment variable\(s\): MLSHIP_QUALITY_THRESHOLDS/);
  });

  test("another model's baseline is refused", () => {
    const env = envFor('breast-cancer', { [ENV.MODEL_BASELINE_PATH]: join(MODELS, 'digits/baseline.json') });
    expect(() => readQualityConfig(env, __dirname)).toThrow(/64 features but model breast-cancer takes 30/);
  });

  test('a malformed baseline is refused with the path of the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlship-baseline-'));
    try {
      const raw = JSON.parse(readFileSync(join(MODELS, 'breast-cancer/baseline.json'), 'utf8'));
      raw.features[3].edges = raw.features[3].edges.slice(1);
      writeFileSync(join(dir, 'baseline.json'), JSON.stringify(raw));
      expect(() =>
        readQualityConfig(envFor('breast-cancer', { [ENV.MODEL_BASELINE_PATH]: join(dir, 'baseline.json') }), __dirname),
      ).toThrow(/features\.3\.edges: expected 9 edges/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('image models take the pixel baseline', () => {
    expect(readQualityConfig(envFor('digits'), __dirname).baseline.features).toHaveLength(64);
  });
});
