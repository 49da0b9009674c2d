/**
 * `POST /predictions/{id}/feedback` `{"label": …, "replace"?: true}`: records the ground truth of a
 * logged prediction. The label must be one the model knows (a finite number for regression); an unknown
 * id — or another caller's prediction, for a client key — is 404. A prediction keeps its first feedback:
 * a second one is 409 with the label in force, unless the caller sends `"replace": true`; the replaced
 * feedback moves to `feedbackHistory`, so every label given stays in the log.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ENV } from '../../contract/env';
import { ApiError } from '../../contract/errors';
import type { ModelManifest } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { decodeRecord, type Feedback } from '../../contract/prediction-log';
import { apiHandler, json, type RequestContext } from '../http/api-handler';
import { callerOf, maySee, operatorKeyIds } from '../http/tenancy';
import { logTableClient, PredictionLogStore } from '../log/prediction-log-store';
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
    log: new PredictionLogStore(logTableClient(dynamoOptions(env)), required(config, ENV.PREDICTION_TABLE)),
    operatorKeyIds: operatorKeyIds(required(config, ENV.OPERATOR_KEY_IDS)),
  };
}

export function createFeedbackHandler(deps: FeedbackDeps) {
  const { manifest, log: store, operatorKeyIds: operators } = deps;
  const clock = deps.clock ?? (() => new Date());
  const logger = deps.logger ?? createLogger('feedback', { model: manifest.name });

  async function postFeedback(event: APIGatewayProxyEvent, ctx: RequestContext<'postFeedback'>): Promise<APIGatewayProxyResult> {
    const caller = callerOf(event, operators);
    const { id } = ctx.params;
    const { replace = false } = ctx.body;
    // A classifier's label as text; a regression model's true value as a number, so it reads back as one.
    const label = manifest.output.kind === 'regression' ? Number(ctx.body.label) : String(ctx.body.label);

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

  return apiHandler('feedback', logger, { postFeedback }, manifest);
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
