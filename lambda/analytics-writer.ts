/**
 * The analytics writer: takes a batch of the prediction log's DynamoDB stream and writes it to the
 * Parquet store. New items become `predictions` rows; items that gain feedback become `feedback` rows.
 * A failed write throws, and Lambda retries the same batch; the objects' keys come from their rows, so
 * the retry overwrites what the failed attempt already wrote. Locally the same handler is fed by the
 * embedded DynamoDB's change tap (`local/log-stream.ts`).
 */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { FeedbackRow, PredictionRow } from '../contract/analytics';
import { ENV } from '../contract/env';
import { readManifestFile } from '../contract/model-files';
import { decodeRecord, isPredictionItem } from '../contract/prediction-log';
import { feedbackRow, predictionRow } from './analytics/log-rows';
import { writeRows } from './analytics/store';
import { s3Options } from './runtime/clients';
import { readConfig, required } from './runtime/config';
import { createLogger } from './runtime/logger';

const config = readConfig('analytics-writer');
const manifest = readManifestFile(required(config, ENV.MODEL_MANIFEST_PATH), __dirname);
const bucket = required(config, ENV.DATA_BUCKET);
const s3 = new S3Client(s3Options());
const log = createLogger('analytics-writer', { model: manifest.name });

export interface StreamRows {
  predictions: PredictionRow[];
  feedback: FeedbackRow[];
}

/** The rows a stream batch carries. Removals (TTL expiry) and non-prediction items are skipped. */
export function rowsOfStream(event: DynamoDBStreamEvent): StreamRows {
  const out: StreamRows = { predictions: [], feedback: [] };
  for (const record of event.Records) {
    const image = record.dynamodb?.NewImage;
    if (image === undefined || (record.eventName !== 'INSERT' && record.eventName !== 'MODIFY')) continue;
    // The log's own decoder: numbers are read as written (the SDK's unmarshall refuses those beyond 2^53).
    const item = image as Record<string, AttributeValue>;
    if (!isPredictionItem(item)) continue;
    const r = decodeRecord(item);
    if (record.eventName === 'INSERT') out.predictions.push(predictionRow(manifest, r));
    // Feedback is the one update a logged prediction gets; a repeated one is a correction (queries keep the latest).
    const fb = feedbackRow(r);
    if (fb !== undefined) out.feedback.push(fb);
  }
  return out;
}

export async function handler(event: DynamoDBStreamEvent): Promise<void> {
  const rows = rowsOfStream(event);
  const written = [
    ...(rows.predictions.length > 0 ? await writeRows(s3, bucket, 'predictions', rows.predictions, manifest) : []),
    ...(rows.feedback.length > 0 ? await writeRows(s3, bucket, 'feedback', rows.feedback, manifest) : []),
  ];
  log.info('written', {
    records: event.Records.length,
    predictions: rows.predictions.length,
    feedback: rows.feedback.length,
    objects: written.length,
  });
}
