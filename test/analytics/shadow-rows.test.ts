/**
 * Shadow predictions (a challenger run beside the champion) answered nobody: the analytics writer keeps
 * them in their own table, under the model they shadow, linked to the answered prediction, so the
 * answered predictions' counts agree with the log's summary.
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { readManifestFile } from '../../contract/model-files';
import { encodeRecord, type PredictionRecord, shadowLogModel } from '../../contract/prediction-log';
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
};
const shadow: PredictionRecord = {
  ...answered,
  id: '01JABCDEFGHJKMNPQRSTVWXYZ1',
  model: shadowLogModel('breast-cancer'),
  modelVersion: '2.0.0',
  shadowOf: answered.id,
};

const failed: PredictionRecord = {
  ...shadow,
  id: '01JABCDEFGHJKMNPQRSTVWXYZ2',
  label: undefined,
  probabilities: undefined,
  shadowError: 'SHADOW_TIMEOUT',
};

it('writes the answered prediction to predictions and its shadows, made or failed, to shadow_predictions', () => {
  const event = {
    Records: [answered, shadow, failed].map((r) => ({ eventName: 'INSERT', dynamodb: { NewImage: encodeRecord(r) } })),
  } as unknown as DynamoDBStreamEvent;
  const rows = rowsOfStream(event, manifest);
  expect(rows.predictions.map((r) => [r.id, r.version])).toEqual([[answered.id, '1.0.0']]);
  expect(rows.feedback).toEqual([]);
  expect(rows.shadows).toEqual([
    {
      id: shadow.id,
      model: 'breast-cancer',
      shadow_of: answered.id,
      version: '2.0.0',
      ts: new Date(shadow.createdAt),
      predicted_label: 'benign',
      score: 0.9,
      predicted_value: null,
      latency_ms: 4,
      shadow_error: null,
    },
    {
      id: failed.id,
      model: 'breast-cancer',
      shadow_of: answered.id,
      version: '2.0.0',
      ts: new Date(shadow.createdAt),
      predicted_label: null,
      score: null,
      predicted_value: null,
      latency_ms: 4,
      shadow_error: 'SHADOW_TIMEOUT',
    },
  ]);
});
