/**
 * `POST /predictions/{id}/feedback` `{"label": …, "replace"?: true}`: records the ground truth of a
 * logged prediction. The label must be one the model knows (a finite number for regression); an unknown
 * id — or another caller's prediction, for a client key — is 404. A prediction keeps its first feedback:
 * a second one is 409 with the label in force, unless the caller sends `"replace": true`; the replaced
 * feedback moves to `feedbackHistory`, so every label given stays in the log.
 */
import { type AttributeValue, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ENV } from '../contract/env';
import { ApiError } from '../contract/errors';
import { readManifestFile } from '../contract/model-files';
import { decodeRecord, type Feedback, LOG_TABLE, toAttributeValue } from '../contract/prediction-log';
import { apiHandler, bodyBytes, json, mediaType, parseJsonBody } from './http/api-handler';
import { callerOf, maySee, operatorKeyIds } from './http/tenancy';
import { isPredictionId } from './log/ids';
import { storageUnavailable } from './log/storage-errors';
import { dynamoOptions } from './runtime/clients';
import { readConfig, required } from './runtime/config';
import { createLogger } from './runtime/logger';

const config = readConfig('feedback');
const manifest = readManifestFile(required(config, ENV.MODEL_MANIFEST_PATH), __dirname);
const table = required(config, ENV.PREDICTION_TABLE);
const operators = operatorKeyIds(required(config, ENV.OPERATOR_KEY_IDS));
const ddb = new DynamoDBClient(dynamoOptions());
const log = createLogger('feedback', { model: manifest.name });
const labels = manifest.output.kind === 'classification' ? new Set(manifest.output.labels) : undefined;
/** Feedback bodies are one small object. */
const MAX_BODY_BYTES = 4096;

export const handler = apiHandler('feedback', log, { postFeedback });

async function postFeedback(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const caller = callerOf(event, operators);
  const id = event.pathParameters?.id ?? '';
  if (!isPredictionId(id)) throw new ApiError('INVALID_ID', 'Not a prediction id (26 characters of Crockford base32).', 'id');
  const type = mediaType(event) ?? 'application/json';
  if (type !== 'application/json')
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type} is not accepted; send application/json.`, 'Content-Type');
  const bytes = bodyBytes(event);
  if (bytes.length > MAX_BODY_BYTES) throw new ApiError('PAYLOAD_TOO_LARGE', `Feedback bodies are at most ${MAX_BODY_BYTES} bytes.`);
  const { label, replace } = parseBody(parseJsonBody(bytes));

  const key = { [LOG_TABLE.partitionKey]: { S: id } };
  const current = await ddb.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true })).catch((e: unknown) => {
    throw storageUnavailable(e) ?? e;
  });
  const item = current.Item;
  // Only logged predictions (which carry the index key) take feedback, never idempotency records.
  if (item === undefined || item[LOG_TABLE.byModelIndex.partitionKey] === undefined || !maySee(caller, item.apiKeyId?.S)) {
    throw new ApiError('NOT_FOUND', `No prediction ${id}.`, 'id');
  }
  const existing = item.feedback;
  if (existing !== undefined && !replace) throw alreadyGiven(id, decodeRecord(item).feedback);

  const feedback: Feedback = { label, givenAt: new Date().toISOString(), apiKeyId: caller.apiKeyId };
  const values: Record<string, AttributeValue> = { ':fb': toAttributeValue(feedback, 'feedback') };
  let update = 'SET feedback = :fb';
  // The write applies only to the state just read, so two concurrent replacements cannot lose a label.
  let condition = 'attribute_exists(id) AND attribute_not_exists(feedback)';
  if (existing !== undefined) {
    update += ', feedbackHistory = list_append(if_not_exists(feedbackHistory, :none), :old)';
    condition = 'feedback.givenAt = :currentAt AND feedback.label = :currentLabel';
    Object.assign(values, {
      ':none': { L: [] },
      ':old': { L: [existing] },
      ':currentAt': existing.M?.givenAt ?? { NULL: true },
      ':currentLabel': existing.M?.label ?? { NULL: true },
    });
  }
  try {
    const out = await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    log.info('feedback recorded', { id, replaced: existing !== undefined });
    return json(200, decodeRecord(out.Attributes ?? {}));
  } catch (e) {
    if ((e as { name?: string }).name === 'ConditionalCheckFailedException') {
      throw new ApiError(
        'FEEDBACK_EXISTS',
        `The feedback of prediction ${id} changed while this one was recorded; read it and send again.`,
        'label',
      );
    }
    throw storageUnavailable(e) ?? e;
  }
}

function alreadyGiven(id: string, existing: Feedback | undefined): ApiError {
  const label = existing?.label ?? '';
  return new ApiError(
    'FEEDBACK_EXISTS',
    `Prediction ${id} already has feedback "${label}"; send {"label": …, "replace": true} to replace it.`,
    'label',
    { feedback: existing },
  );
}

/** The ground truth as stored (a label of the manifest, or a regression value written as a string) and whether to replace. */
function parseBody(body: unknown): { label: string; replace: boolean } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError('INVALID_BODY', 'Send {"label": …}.');
  const extra = Object.keys(body).find((k) => k !== 'label' && k !== 'replace');
  if (extra !== undefined) throw new ApiError('INVALID_BODY', `Unknown field "${extra}"; send {"label": …, "replace"?: true}.`, extra);
  const replace = (body as { replace?: unknown }).replace;
  if (replace !== undefined && typeof replace !== 'boolean')
    throw new ApiError('INVALID_BODY', '"replace" must be true or false.', 'replace');
  return { label: labelOf((body as { label?: unknown }).label), replace: replace === true };
}

function labelOf(label: unknown): string {
  if (label === undefined) throw new ApiError('INVALID_BODY', 'Missing "label".', 'label');
  if (labels !== undefined) {
    if (typeof label !== 'string' || !labels.has(label)) {
      const known = [...labels].slice(0, 20).join(', ');
      throw new ApiError('INVALID_LABEL', `"label" must be one of the model's labels: ${known}${labels.size > 20 ? ', …' : ''}.`, 'label');
    }
    return label;
  }
  if (typeof label !== 'number' || !Number.isFinite(label))
    throw new ApiError('INVALID_LABEL', '"label" must be a finite number for a regression model.', 'label');
  return String(label);
}
