/**
 * `mlship export`: backfills the analytics store from the prediction log table, for logs that predate
 * the stream (or a store rebuilt from scratch). It scans the table and writes the rows through the same
 * writer as the stream function. Rows the stream already wrote are written again under other keys; the
 * queries count each prediction id once, so a backfill over days the stream covered changes no answer.
 */
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { FeedbackRow, PredictionRow, ShadowRow } from '../../contract/analytics';
import type { ModelManifest } from '../../contract/manifest';
import { decodeRecord, isPredictionItem, shadowLogModel } from '../../contract/prediction-log';
import { feedbackRow, predictionRow, shadowRowsOf } from '../../lambda/analytics/log-rows';
import { writeRows } from '../../lambda/analytics/store';

export interface ExportResult {
  scanned: number;
  predictions: number;
  feedback: number;
  /** Shadow predictions (docs/versions.md). */
  shadows: number;
  objects: number;
}

export interface ExportOptions {
  /** Rows written per batch of objects (bounds memory). @default 100000 */
  chunkRows?: number;
  onProgress?: (r: ExportResult) => void;
}

export async function exportLog(
  ddb: DynamoDBClient,
  table: string,
  s3: S3Client,
  bucket: string,
  manifest: ModelManifest,
  opts: ExportOptions = {},
): Promise<ExportResult> {
  const chunk = opts.chunkRows ?? 100_000;
  const result: ExportResult = { scanned: 0, predictions: 0, feedback: 0, shadows: 0, objects: 0 };
  let predictions: PredictionRow[] = [];
  let feedback: FeedbackRow[] = [];
  let shadows: ShadowRow[] = [];
  const write = async () => {
    if (predictions.length > 0) result.objects += (await writeRows(s3, bucket, 'predictions', predictions, manifest)).length;
    if (feedback.length > 0) result.objects += (await writeRows(s3, bucket, 'feedback', feedback, manifest)).length;
    if (shadows.length > 0) result.objects += (await writeRows(s3, bucket, 'shadow_predictions', shadows, manifest)).length;
    result.predictions += predictions.length;
    result.feedback += feedback.length;
    result.shadows += shadows.length;
    predictions = [];
    feedback = [];
    shadows = [];
    opts.onProgress?.({ ...result });
  };
  const shadowModel = shadowLogModel(manifest.name);
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: startKey }));
    for (const raw of page.Items ?? []) {
      result.scanned++;
      // Only this model's predictions and its shadow predictions: the writer decodes inputs with its manifest.
      if (!isPredictionItem(raw) || (raw.model?.S !== manifest.name && raw.model?.S !== shadowModel)) continue;
      const r = decodeRecord(raw);
      shadows.push(...shadowRowsOf(r));
      if (r.shadowOf !== undefined) continue;
      predictions.push(predictionRow(manifest, r));
      const fb = feedbackRow(r);
      if (fb !== undefined) feedback.push(fb);
    }
    if (predictions.length + shadows.length >= chunk) await write();
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  await write();
  return result;
}
