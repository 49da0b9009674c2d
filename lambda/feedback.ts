/**
 * `POST /predictions/{id}/feedback` `{"label": …}`: records the ground truth of a logged prediction.
 * The label must be one the model knows (a finite number for regression); an unknown id is 404.
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ENV } from '../contract/env';
import { ApiError } from '../contract/errors';
import { LOG_TABLE } from '../contract/prediction-log';
import { dynamoOptions } from './commons/clients';
import { readConfig, required } from './commons/config';
import { apiHandler, bodyBytes, json, mediaType, parseJsonBody } from './commons/http';
import { isPredictionId } from './commons/ids';
import { createLogger } from './commons/logger';
import { loadManifest } from './commons/manifest';
import { storageUnavailable } from './commons/storage-errors';

const config = readConfig('feedback');
const manifest = loadManifest(required(config, ENV.MODEL_MANIFEST_PATH), __dirname);
const table = required(config, ENV.PREDICTION_TABLE);
const ddb = new DynamoDBClient(dynamoOptions());
const log = createLogger('feedback', { model: manifest.name });
const labels = manifest.output.kind === 'classification' ? new Set(manifest.output.labels) : undefined;
/** Feedback bodies are one small object. */
const MAX_BODY_BYTES = 4096;

export const handler = apiHandler('feedback', log, { postFeedback });

async function postFeedback(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const id = event.pathParameters?.id ?? '';
  if (!isPredictionId(id)) throw new ApiError('INVALID_ID', 'Not a prediction id (26 characters of Crockford base32).', 'id');
  const type = mediaType(event) ?? 'application/json';
  if (type !== 'application/json') throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type} is not accepted; send application/json.`, 'Content-Type');
  const bytes = bodyBytes(event);
  if (bytes.length > MAX_BODY_BYTES) throw new ApiError('PAYLOAD_TOO_LARGE', `Feedback bodies are at most ${MAX_BODY_BYTES} bytes.`);
  const label = labelOf(parseJsonBody(bytes));

  const feedback = { label, at: new Date().toISOString() };
  try {
    const out = await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { [LOG_TABLE.partitionKey]: { S: id } },
        UpdateExpression: 'SET #fb = :fb',
        // Only logged predictions (which carry the index key) take feedback, never idempotency records.
        ConditionExpression: 'attribute_exists(#id) AND attribute_exists(#m)',
        ExpressionAttributeNames: { '#fb': 'feedback', '#id': LOG_TABLE.partitionKey, '#m': LOG_TABLE.byModelIndex.partitionKey },
        ExpressionAttributeValues: { ':fb': { M: { label: { S: feedback.label }, at: { S: feedback.at } } } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return json(200, unmarshall(out.Attributes ?? {}));
  } catch (e) {
    if ((e as { name?: string }).name === 'ConditionalCheckFailedException') throw new ApiError('NOT_FOUND', `No prediction ${id}.`, 'id');
    throw storageUnavailable(e) ?? e;
  }
}

/** The ground truth as stored: a label of the manifest, or a regression value written as a string. */
function labelOf(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError('INVALID_BODY', 'Send {"label": …}.');
  const keys = Object.keys(body);
  const extra = keys.find((k) => k !== 'label');
  if (extra !== undefined) throw new ApiError('INVALID_BODY', `Unknown field "${extra}"; send {"label": …}.`, extra);
  const label = (body as { label?: unknown }).label;
  if (label === undefined) throw new ApiError('INVALID_BODY', 'Missing "label".', 'label');
  if (labels !== undefined) {
    if (typeof label !== 'string' || !labels.has(label)) {
      const known = [...labels].slice(0, 20).join(', ');
      throw new ApiError('INVALID_LABEL', `"label" must be one of the model's labels: ${known}${labels.size > 20 ? ', …' : ''}.`, 'label');
    }
    return label;
  }
  if (typeof label !== 'number' || !Number.isFinite(label)) throw new ApiError('INVALID_LABEL', '"label" must be a finite number for a regression model.', 'label');
  return String(label);
}
