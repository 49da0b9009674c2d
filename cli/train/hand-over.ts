/**
 * `mlship train --shadow`: an accepted version put in the shadow of the running system. The routing
 * state (an item of the prediction table) is given the registered version as its challenger, in one
 * conditional write: the predict function reads it on the next request, and the model server loads the
 * version from the registry when that request names it. No restart; the same step the Training stack's
 * hand-over function takes on AWS (lambda/versions/hand-over.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../contract/env';
import { type HandOverResult, handOverInShadow } from '../../lambda/versions/hand-over';
import { TableRoutingStore } from '../../lambda/versions/routing-store';
import type { Target } from '../target';

/** Hands `version` of `model` over to the running system's shadow; the answer says whether, or why not. */
export async function handOverToShadow(target: Target, opts: { model: string; version: string }): Promise<HandOverResult> {
  const ddb = new DynamoDBClient({
    endpoint: target.awsEnv[ENV.DYNAMODB_URL],
    region: target.awsEnv.AWS_REGION,
    credentials: target.s3.credentials,
  });
  try {
    return await handOverInShadow(new TableRoutingStore(ddb, target.tableName, opts.model), { version: opts.version, by: 'training' });
  } finally {
    ddb.destroy();
  }
}

/** The run's last lines for `--shadow`. */
export function describeHandOver(version: string, r: HandOverResult): string {
  if (!r.handedOver) return `  --shadow: ${version} is registered but not handed over: ${r.reason}`;
  return `  --shadow: ${version} is the challenger in shadow of ${r.after.champion} from the next request on (the model server loads it from the registry); see mlship versions.`;
}
