/** A small model, baseline and hand-made log for the analytics tests, with the answers worked out by hand. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AnalyticsTable } from '../../contract/analytics';
import { parseBaseline } from '../../contract/baseline';
import { parseManifest } from '../../contract/manifest';
import { decodeRecord, encodeRecord, type Feedback, type PredictionRecord } from '../../contract/prediction-log';
import { feedbackRow, predictionRow, shadowRowsOf } from '../../lambda/analytics/log-rows';
import { objectsOf } from '../../lambda/analytics/store';

export const MANIFEST = parseManifest({
  name: 'toy',
  version: '1',
  file: 'toy.onnx',
  inputTensor: 'x',
  input: {
    kind: 'tabular',
    features: [
      { name: 'a', type: 'float' },
      { name: 'b', type: 'int' },
      { name: 'c', type: 'string' },
      { name: 'd', type: 'bool' },
    ],
  },
  output: { kind: 'classification', labels: ['no', 'yes'], tensor: 'p' },
});

/**
 * Feature a: bins (-inf, 1], (1, 2], (2, inf) with training shares 0.25/0.5/0.25; b: (-inf, 10], (10, 20],
 * (20, inf) at 0.5/0.25/0.25; c: "red", "o'k", any other value at 0.5/0.3/0.2; d: true, false, any
 * other at 0.75/0.25/0.
 */
export const BASELINE = parseBaseline({
  rows: 100,
  bins: 3,
  features: [
    { name: 'a', mean: 1.5, std: 1, min: 0, max: 3, edges: [1, 2], proportions: [0.25, 0.5, 0.25] },
    { name: 'b', mean: 15, std: 5, min: 0, max: 30, edges: [10, 20], proportions: [0.5, 0.25, 0.25] },
    { name: 'c', kind: 'categorical', categories: ['red', "o'k"], proportions: [0.5, 0.3, 0.2] },
    { name: 'd', kind: 'categorical', categories: ['true', 'false'], proportions: [0.75, 0.25, 0] },
  ],
  classPriors: { no: 0.5, yes: 0.5 },
});

let seq = 0;
function record(
  over: Partial<PredictionRecord> & { id: string; createdAt: string; label: string; inputValues: PredictionRecord['inputValues'] },
): PredictionRecord {
  seq++;
  return {
    model: 'toy',
    modelVersion: '1',
    probabilities: { [over.label]: 0.75, [over.label === 'yes' ? 'no' : 'yes']: 0.25 },
    latencyMs: 1,
    requestId: `req-${seq}`,
    ...over,
  };
}

const DAY1 = '2026-01-01T10:00:00.000Z';
const DAY2 = '2026-01-02T10:00:00.000Z';
const fb = (label: string, givenAt = '2026-01-03T00:00:00.000Z'): Feedback => ({ label, givenAt });

/** The log: four predictions of version 1 on day 1, one of version 2 on day 2. p4's feedback was corrected from yes to no. */
export const RECORDS: PredictionRecord[] = [
  record({
    id: 'p1',
    createdAt: DAY1,
    label: 'yes',
    inputValues: [0.5, 5, 'red', true],
    latencyMs: 10,
    apiKeyId: 'k1',
    feedback: fb('yes'),
  }),
  // 1 and 10 sit on a bin edge: they belong to the lower bin.
  record({ id: 'p2', createdAt: DAY1, label: 'yes', inputValues: [1, 15, 'red', true], latencyMs: 20, apiKeyId: 'k1', feedback: fb('no') }),
  record({ id: 'p3', createdAt: DAY1, label: 'no', inputValues: [1.5, 25, 'red', false], latencyMs: 30, apiKeyId: 'k2' }),
  // "blue" is no training category: it counts as any other value.
  record({
    id: 'p4',
    createdAt: DAY1,
    label: 'no',
    inputValues: [3, 10, 'blue', true],
    latencyMs: 40,
    feedback: fb('no', '2026-01-04T00:00:00.000Z'),
  }),
  record({
    id: 'p5',
    createdAt: DAY2,
    modelVersion: '2',
    label: 'yes',
    inputValues: [2.5, 5, "o'k", false],
    latencyMs: 5,
    apiKeyId: 'k1',
    feedback: fb('yes'),
  }),
];
/** p4's first, superseded feedback. */
export const EARLIER_FEEDBACK: PredictionRecord = { ...RECORDS[3], feedback: fb('yes', '2026-01-03T00:00:00.000Z') };

/**
 * The same log under another model's name, every prediction and label the other way round, and inputs
 * moved: a store shared by two models, whose answers for "toy" must not change.
 */
export const OTHER_MODEL_RECORDS: PredictionRecord[] = RECORDS.map((r) => {
  const flip = (l: string) => (l === 'yes' ? 'no' : 'yes');
  return {
    ...r,
    id: `other-${r.id}`,
    model: 'other',
    label: flip(r.label as string),
    inputValues: [9, 99, 'blue', false],
    ...(r.feedback === undefined ? {} : { feedback: { ...r.feedback, label: flip(String(r.feedback.label)) } }),
  };
});

/** A regression model with the same inputs, and its log. */
export const REGRESSION_MANIFEST = parseManifest({ ...MANIFEST, name: 'toy-reg', output: { kind: 'regression', tensor: 'y' } });

function valueRecord(id: string, createdAt: string, modelVersion: string, predictedValue: number, feedback?: string): PredictionRecord {
  seq++;
  return {
    id,
    model: 'toy-reg',
    modelVersion,
    createdAt,
    predictedValue,
    inputValues: [1, 10, 'red', true],
    latencyMs: 1,
    requestId: `req-${seq}`,
    ...(feedback === undefined ? {} : { feedback: fb(feedback, '2026-01-04T00:00:00.000Z') }),
  };
}

/**
 * Version 1 on day 1: predicted 3, 5, 7, 1 against 2, 6, 7, 3 (errors +1, −1, 0, −2), one label that is no
 * number and one prediction without feedback. Version 2 on day 2: 10 against 10.5, corrected from 12.
 */
export const REGRESSION_RECORDS: PredictionRecord[] = [
  valueRecord('r1', DAY1, '1', 3, '2'),
  valueRecord('r2', DAY1, '1', 5, '6'),
  valueRecord('r3', DAY1, '1', 7, '7'),
  valueRecord('r4', DAY1, '1', 1, '3'),
  valueRecord('r5', DAY1, '1', 4, 'abc'),
  valueRecord('r6', DAY1, '1', 2),
  valueRecord('r7', DAY2, '2', 10, '10.5'),
];
/** r7's first, superseded feedback. */
export const EARLIER_REGRESSION_FEEDBACK: PredictionRecord = { ...REGRESSION_RECORDS[6], feedback: fb('12', '2026-01-03T00:00:00.000Z') };

/** A record as the analytics writer reads it: encoded into a log item and decoded back, as the stream delivers it. */
export const throughLog = (r: PredictionRecord): PredictionRecord => decodeRecord(encodeRecord(r));

export const predictionRows = (records: PredictionRecord[], manifest = MANIFEST) =>
  records.map((r) => predictionRow(manifest, throughLog(r)));
export const feedbackRows = (records: PredictionRecord[]) => records.flatMap((r) => feedbackRow(throughLog(r)) ?? []);
export const shadowRows = (records: PredictionRecord[]) =>
  records.flatMap((r) => {
    const logged = throughLog(r);
    if (logged.shadowOf === undefined && logged.shadow === undefined) throw new Error(`${r.id} holds no shadow prediction`);
    return shadowRowsOf(logged);
  });

/** Writes rows as the store does (same keys, same Parquet) into a folder laid out like the bucket. */
export async function writeStore(
  root: string,
  table: AnalyticsTable,
  rows: ReturnType<typeof predictionRows> | ReturnType<typeof feedbackRows> | ReturnType<typeof shadowRows>,
  manifest = MANIFEST,
): Promise<string[]> {
  return (await objectsOf(table, rows, manifest)).map((o) => {
    const file = join(root, o.key);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, o.body);
    return o.key;
  });
}

export function tempStore(): string {
  return mkdtempSync(join(tmpdir(), 'mlship-analytics-'));
}

/** DuckDB answers counts as BIGINT (JSON strings) and sums of them as HUGEINT: compare as numbers. */
export function normalize(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) && k !== 'version' && k !== 'day' ? Number(v) : v]),
    ),
  );
}

export function expectRows(got: Record<string, unknown>[], want: Record<string, unknown>[]): void {
  const g = normalize(got);
  expect(g.map((r) => Object.keys(r))).toEqual(want.map((r) => Object.keys(r)));
  g.forEach((row, i) => {
    for (const [k, v] of Object.entries(want[i])) {
      if (typeof v === 'number' && !Number.isInteger(v)) expect({ row: i, [k]: row[k] }).toEqual({ row: i, [k]: expect.closeTo(v, 9) });
      else expect({ row: i, [k]: row[k] }).toEqual({ row: i, [k]: v });
    }
  });
}

/** The toy model with two float features, the first nullable: its missing values are logged as null. */
export const NULLABLE_MANIFEST = parseManifest({
  ...MANIFEST,
  input: {
    kind: 'tabular',
    features: [
      { name: 'a', type: 'float', nullable: true },
      { name: 'b', type: 'float' },
    ],
  },
});
