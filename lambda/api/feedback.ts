/**
 * `POST /predictions/{id}/feedback` `{"label": …, "replace"?: true}`: records the ground truth of a
 * logged prediction. The label must be one the model knows (a finite number for regression); an unknown
 * id — or another caller's prediction, for a client key — is 404. A prediction keeps its first feedback:
 * a second one is 409 with the label in force, unless the caller sends `"replace": true`; the replaced
 * feedback moves to `feedbackHistory`, so every label given stays in the log.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ENV } from '../../contract/env';
import { ApiError } from '../../contract/errors';
import type { ModelManifest } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { decodeRecord, type Feedback } from '../../contract/prediction-log';
import { apiHandler, bodyBytes, json, mediaType, parseJsonBody } from '../http/api-handler';
import { callerOf, maySee, operatorKeyIds } from '../http/tenancy';
import { isPredictionId } from '../log/ids';
import { PredictionLogStore } from '../log/prediction-log-store';
import { dynamoOptions } from '../runtime/clients';
import { readConfig, required } from '../runtime/config';
import { createLogger, type Logger } from '../runtime/logger';

export interface FeedbackDeps {
  readonly manifest: ModelManifest;
  readonly log: PredictionLogStore;
  /** Ids of the operator keys (feedback on every caller's predictions). */
  readonly operatorKeyIds: ReadonlySet<string>;
  /** @default - a logger of the feedback function */
  readonly logger?: Logger;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

/** The feedback function's dependencies as the CDK configures it: config from `env`, a DynamoDB client. */
export function feedbackDepsFromEnv(env: NodeJS.ProcessEnv, baseDir: string): FeedbackDeps {
  const config = readConfig('feedback', env);
  return {
    manifest: readManifestFile(required(config, ENV.MODEL_MANIFEST_PATH), baseDir),
    log: new PredictionLogStore(new DynamoDBClient(dynamoOptions(env)), required(config, ENV.PREDICTION_TABLE)),
    operatorKeyIds: operatorKeyIds(required(config, ENV.OPERATOR_KEY_IDS)),
  };
}

/** Feedback bodies are one small object. */
const MAX_BODY_BYTES = 4096;

export function createFeedbackHandler(deps: FeedbackDeps) {
  const { manifest, log: store, operatorKeyIds: operators } = deps;
  const clock = deps.clock ?? (() => new Date());
  const logger = deps.logger ?? createLogger('feedback', { model: manifest.name });
  const labels = manifest.output.kind === 'classification' ? new Set(manifest.output.labels) : undefined;

  async function postFeedback(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const caller = callerOf(event, operators);
    const id = event.pathParameters?.id ?? '';
    if (!isPredictionId(id)) throw new ApiError('INVALID_ID', 'Not a prediction id (26 characters of Crockford base32).', 'id');
    const type = mediaType(event) ?? 'application/json';
    if (type !== 'application/json')
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type} is not accepted; send application/json.`, 'Content-Type');
    const bytes = bodyBytes(event);
    if (bytes.length > MAX_BODY_BYTES) throw new ApiError('PAYLOAD_TOO_LARGE', `Feedback bodies are at most ${MAX_BODY_BYTES} bytes.`);
    const { label, replace } = parseBody(parseJsonBody(bytes), labels);

    // Only logged predictions take feedback, never idempotency records.
    const item = await store.getPrediction(id, { consistent: true });
    if (item === undefined || !maySee(caller, item.apiKeyId?.S)) throw new ApiError('NOT_FOUND', `No prediction ${id}.`, 'id');
    const replaced = item.feedback !== undefined;
    if (replaced && !replace) throw alreadyGiven(id, decodeRecord(item).feedback);

    const feedback: Feedback = { label, givenAt: clock().toISOString(), apiKeyId: caller.apiKeyId };
    const updated = await store.setFeedback(id, feedback, item);
    if (updated === 'changed') {
      throw new ApiError(
        'FEEDBACK_EXISTS',
        `The feedback of prediction ${id} changed while this one was recorded; read it and send again.`,
        'label',
      );
    }
    logger.info('feedback recorded', { id, replaced });
    return json(200, updated);
  }

  return apiHandler('feedback', logger, { postFeedback });
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
function parseBody(body: unknown, labels: ReadonlySet<string> | undefined): { label: string; replace: boolean } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError('INVALID_BODY', 'Send {"label": …}.');
  const extra = Object.keys(body).find((k) => k !== 'label' && k !== 'replace');
  if (extra !== undefined) throw new ApiError('INVALID_BODY', `Unknown field "${extra}"; send {"label": …, "replace"?: true}.`, extra);
  const replace = (body as { replace?: unknown }).replace;
  if (replace !== undefined && typeof replace !== 'boolean')
    throw new ApiError('INVALID_BODY', '"replace" must be true or false.', 'replace');
  return { label: labelOf((body as { label?: unknown }).label, labels), replace: replace === true };
}

function labelOf(label: unknown, labels: ReadonlySet<string> | undefined): string {
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
