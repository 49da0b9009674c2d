/**
 * Shadow predictions (a challenger run beside the champion) answered nobody: the analytics writer keeps
 * them in their own table, under the model they shadow, linked to the answered prediction, so the
 * answered predictions' counts agree with the log's summary. They are logged inside the answered item;
 * items of earlier releases hold them apart, and both give the same rows.
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { ShadowRow } from '../../contract/analytics';
import { readManifestFile } from '../../contract/model-files';
import { encodeRecord, type PredictionRecord, shadowRecordsOf } from '../../contract/prediction-log';
import { rowsOfStream } from '../../lambda/analytics/writer';

const manifest = readManifestFile(`${__dirname}/../../models/breast-cancer/model.json`);

const answered: PredictionRecord = {
  id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
  model: 'breast-cancer',
  modelVersion: '1.0.0',
  createdAt: '2026-12-07T10:00:00.000Z',
  label: 'benign',
  probabilities: { benign: 0.9, malignant: 0.1 },
  latencyMs: 4,
  requestId: 'r1',
  apiKeyId: 'k1',
};
/** Answered, with the challenger's prediction inside. */
const shadowed: PredictionRecord = {
  ...answered,
  shadow: {
    id: '01JABCDEFGHJKMNPQRSTVWXYZ1',
    modelVersion: '2.0.0',
    createdAt: '2026-12-07T10:00:00.002Z',
    label: 'malignant',
    probabilities: { benign: 0.4, malignant: 0.6 },
    latencyMs: 5,
  },
};
/** Answered, the challenger out of time. */
const timedOut: PredictionRecord = {
  ...answered,
  id: '01JABCDEFGHJKMNPQRSTVWXYZ2',
  requestId: 'r2',
  shadow: {
    id: '01JABCDEFGHJKMNPQRSTVWXYZ3',
    modelVersion: '2.0.0',
    createdAt: '2026-12-07T10:00:00.201Z',
    errorCode: 'SHADOW_TIMEOUT',
    latencyMs: 204,
  },
};

const rowsOf = (records: PredictionRecord[], eventName = 'INSERT') =>
  rowsOfStream(
    { Records: records.map((r) => ({ eventName, dynamodb: { NewImage: encodeRecord(r) } })) } as unknown as DynamoDBStreamEvent,
    manifest,
  );

const WANT: ShadowRow[] = [
  {
    id: '01JABCDEFGHJKMNPQRSTVWXYZ1',
    model: 'breast-cancer',
    shadow_of: answered.id,
    version: '2.0.0',
    ts: new Date('2026-12-07T10:00:00.002Z'),
    predicted_label: 'malignant',
    score: 0.6,
    predicted_value: null,
    latency_ms: 5,
    shadow_error: null,
  },
  {
    id: '01JABCDEFGHJKMNPQRSTVWXYZ3',
    model: 'breast-cancer',
    shadow_of: timedOut.id,
    version: '2.0.0',
    ts: new Date('2026-12-07T10:00:00.201Z'),
    predicted_label: null,
    score: null,
    predicted_value: null,
    latency_ms: 204,
    shadow_error: 'SHADOW_TIMEOUT',
  },
];

it('writes each answered prediction to predictions and the shadow inside it, made or failed, to shadow_predictions', () => {
  const rows = rowsOf([shadowed, timedOut]);
  expect(rows.predictions.map((r) => [r.id, r.version, r.predicted_label])).toEqual([
    [answered.id, '1.0.0', 'benign'],
    [timedOut.id, '1.0.0', 'benign'],
  ]);
  expect(rows.feedback).toEqual([]);
  expect(rows.shadows).toEqual(WANT);
});

it("gives the same rows for an earlier release's separate shadow items", () => {
  // An earlier release logged the answered item alone and each shadow prediction as an item of its own.
  const rows = rowsOf([{ ...shadowed, shadow: undefined }, { ...timedOut, shadow: undefined }, ...shadowRecordsOf([shadowed, timedOut])]);
  expect(rows.predictions.map((r) => r.id)).toEqual([answered.id, timedOut.id]);
  expect(rows.shadows).toEqual(WANT);
});

it('writes no shadow row again when a shadowed prediction gets feedback', () => {
  const rows = rowsOf([{ ...shadowed, feedback: { label: 'malignant', givenAt: '2026-12-07T11:00:00.000Z' } }], 'MODIFY');
  expect(rows.predictions).toEqual([]);
  expect(rows.shadows).toEqual([]);
  expect(rows.feedback.map((f) => [f.id, f.label])).toEqual([[answered.id, 'malignant']]);
});
