/**
 * The analytics writer: takes a batch of the prediction log's DynamoDB stream and writes it to the
 * Parquet store. New items become `predictions` rows, and the shadow prediction inside one (or an item
 * of the `#shadow` partition earlier releases wrote) a `shadow_predictions` row; items that gain
 * feedback become `feedback` rows.
 * A failed write throws, and Lambda retries the same batch; the objects' keys come from their rows, so
 * the retry overwrites what the failed attempt already wrote. Locally the same handler is fed by the
 * embedded DynamoDB's change tap (`local/log-stream.ts`).
 */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { FeedbackRow, PredictionRow, ShadowRow } from '../../contract/analytics';
import type { ModelManifest } from '../../contract/manifest';
import { decodeRecord, isPredictionItem } from '../../contract/prediction-log';
import { createLogger } from '../runtime/logger';
import { type AnalyticsStoreDeps, analyticsStoreDepsFromEnv } from './deps';
import { feedbackRow, predictionRow, shadowRowsOf } from './log-rows';
import { writeRows } from './store';

export type AnalyticsWriterDeps = AnalyticsStoreDeps;

/** The writer's dependencies as the CDK configures it: config from `env`, an S3 client. */
export function analyticsWriterDepsFromEnv(env: NodeJS.ProcessEnv, baseDir: string): AnalyticsWriterDeps {
  return analyticsStoreDepsFromEnv('analytics-writer', env, baseDir);
}

export interface StreamRows {
  predictions: PredictionRow[];
  feedback: FeedbackRow[];
  /** Shadow predictions, apart from the answered ones (docs/versions.md). */
  shadows: ShadowRow[];
}

/** The rows a stream batch carries. Removals (TTL expiry) and non-prediction items are skipped. */
export function rowsOfStream(event: DynamoDBStreamEvent, manifest: ModelManifest): StreamRows {
  const out: StreamRows = { predictions: [], feedback: [], shadows: [] };
  for (const record of event.Records) {
    const image = record.dynamodb?.NewImage;
    if (image === undefined || (record.eventName !== 'INSERT' && record.eventName !== 'MODIFY')) continue;
    // The log's own decoder: numbers are read as written (the SDK's unmarshall refuses those beyond 2^53).
    const item = image as Record<string, AttributeValue>;
    if (!isPredictionItem(item)) continue;
    const r = decodeRecord(item);
    // Shadow predictions answered nobody: their own table, so no query of answered predictions counts them.
    if (record.eventName === 'INSERT') out.shadows.push(...shadowRowsOf(r));
    if (r.shadowOf !== undefined) continue;
    if (record.eventName === 'INSERT') out.predictions.push(predictionRow(manifest, r));
    // Feedback is the one update a logged prediction gets; a repeated one is a correction (queries keep the latest).
    const fb = feedbackRow(r);
    if (fb !== undefined) out.feedback.push(fb);
  }
  return out;
}

export function createAnalyticsWriter(deps: AnalyticsWriterDeps): (event: DynamoDBStreamEvent) => Promise<void> {
  const { manifest, s3, bucket } = deps;
  const log = deps.logger ?? createLogger('analytics-writer', { model: manifest.name });
  return async (event: DynamoDBStreamEvent): Promise<void> => {
    const rows = rowsOfStream(event, manifest);
    const written = [
      ...(rows.predictions.length > 0 ? await writeRows(s3, bucket, 'predictions', rows.predictions, manifest) : []),
      ...(rows.feedback.length > 0 ? await writeRows(s3, bucket, 'feedback', rows.feedback, manifest) : []),
      ...(rows.shadows.length > 0 ? await writeRows(s3, bucket, 'shadow_predictions', rows.shadows, manifest) : []),
    ];
    log.info('written', {
      records: event.Records.length,
      predictions: rows.predictions.length,
      feedback: rows.feedback.length,
      shadows: rows.shadows.length,
      objects: written.length,
    });
  };
}
