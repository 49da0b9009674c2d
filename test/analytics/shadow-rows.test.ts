/**
 * Shadow predictions (a challenger run beside the champion) answered nobody: the analytics export
 * writes rows for answered predictions only, so its counts agree with the log's summary.
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

it('writes a row for the answered prediction and none for its shadow', () => {
  const event = {
    Records: [answered, shadow].map((r) => ({ eventName: 'INSERT', dynamodb: { NewImage: encodeRecord(r) } })),
  } as unknown as DynamoDBStreamEvent;
  const rows = rowsOfStream(event, manifest);
  expect(rows.predictions.map((r) => [r.id, r.version])).toEqual([[answered.id, '1.0.0']]);
});
