/**
 * The golden-set check as the two deployment systems call it:
 * - a CloudFormation custom resource against a SageMaker check endpoint that serves the new model before
 *   the serving endpoint is updated: FAILED fails the stack update before any traffic moves;
 * - an ECS lifecycle hook at POST_TEST_TRAFFIC_SHIFT, against the load balancer's test listener (green
 *   tasks only): `hookStatus: FAILED` makes ECS roll back before production traffic moves.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { errorMessage } from '../../contract/errors';
import { describeVerdict, parseGoldenSet } from '../../contract/golden';
import type { GoldenSet } from '../../contract/rollout';
import type { Logger } from '../runtime/logger';
import { responseOf } from './cfn-response';
import { type Invoke, replayGoldenSet } from './replay';

export interface LoadedGoldenSet {
  set: GoldenSet;
  /** sha256 of the file: the stack passes the same hash, so a request meant for another version is recognised. */
  sha256: string;
}

export function loadGoldenSet(path: string, baseDir: string): LoadedGoldenSet {
  const text = readFileSync(isAbsolute(path) ? path : resolve(baseDir, path), 'utf8');
  return { set: parseGoldenSet(JSON.parse(text)), sha256: createHash('sha256').update(text).digest('hex') };
}

/** Properties the stack gives the custom resource. Any change (a new endpoint config) re-runs the check. */
export interface GoldenCheckProperties {
  EndpointName: string;
  /** sha256 of the golden set bundled with this function version. */
  GoldenSetSha256: string;
  /** `<name>/<version>` of the model the stack deploys. */
  Model: string;
  /** Changes with every endpoint update, so CloudFormation sends an Update for each rollout. */
  EndpointConfigName: string;
}

/**
 * Decides a CloudFormation request; never throws (a throw would leave CloudFormation waiting). With a
 * `deadline` (epoch ms) the check answers FAILED at that time whatever the endpoint does: the requests are
 * cancelled through the signal handed to `invokerFor`, and the answer does not wait for them.
 */
export async function decideCustomResource(
  event: CloudFormationCustomResourceEvent,
  golden: LoadedGoldenSet,
  invokerFor: (endpointName: string, signal: AbortSignal) => Invoke,
  log: Logger,
  deadline?: number,
): Promise<CloudFormationCustomResourceResponse> {
  const props = event.ResourceProperties as unknown as GoldenCheckProperties & { ServiceToken: string };
  const physicalId = event.RequestType === 'Create' ? `golden-check/${props.EndpointName}` : event.PhysicalResourceId;
  if (event.RequestType === 'Delete') return responseOf(event, 'SUCCESS', 'Nothing to delete.', physicalId);
  if (props.GoldenSetSha256 !== golden.sha256) {
    // CloudFormation rolling back to a version whose golden set this code does not carry: that version
    // passed its own check when it was deployed, and refusing here would leave the stack UPDATE_ROLLBACK_FAILED.
    const reason = `Golden set ${props.GoldenSetSha256.slice(0, 12)} is not the bundled one (${golden.sha256.slice(0, 12)}): a rollback, not checked again.`;
    log.warn(reason, { model: props.Model });
    return responseOf(event, 'SUCCESS', reason, physicalId);
  }
  const cancel = new AbortController();
  const timer = deadline === undefined ? undefined : setTimeout(() => cancel.abort(), Math.max(0, deadline - Date.now()));
  const deadlinePassed = new Promise<never>((_, reject) =>
    cancel.signal.addEventListener('abort', () =>
      reject(
        new Error(`no verdict by the check's deadline (${new Date(deadline ?? 0).toISOString()}); the endpoint did not answer in time`),
      ),
    ),
  );
  try {
    const { verdict, model } = await Promise.race([
      replayGoldenSet(golden.set, invokerFor(props.EndpointName, cancel.signal)),
      deadlinePassed,
    ]);
    const reason = `${describeVerdict(verdict)} Model ${model} on endpoint ${props.EndpointName}.`;
    log[verdict.passed ? 'info' : 'error'](reason, { model, expectedModel: props.Model, mismatches: verdict.mismatches });
    const previous = event.RequestType === 'Update' ? (event.OldResourceProperties as Partial<GoldenCheckProperties>).Model : undefined;
    if (model !== props.Model && model === previous) {
      // CloudFormation rolling back: this resource goes back before the check endpoint it depends on, which
      // still serves the version being rolled back from. Failing here would leave UPDATE_ROLLBACK_FAILED.
      const rollback = `The check endpoint still serves ${model} while the stack rolls back to ${props.Model}: a rollback, not checked again.`;
      log.warn(rollback, { model: props.Model });
      return responseOf(event, 'SUCCESS', rollback, physicalId);
    }
    if (verdict.passed && model !== props.Model) {
      return responseOf(event, 'FAILED', `The endpoint answered as ${model}, not ${props.Model}.`, physicalId);
    }
    return responseOf(event, verdict.passed ? 'SUCCESS' : 'FAILED', reason, physicalId, {
      rows: verdict.rows,
      maxDifference: verdict.maxDifference,
    });
  } catch (e) {
    const reason = `Golden set check could not run against ${props.EndpointName}: ${errorMessage(e)}`;
    log.error(reason, { error: e });
    return responseOf(event, 'FAILED', reason, physicalId);
  } finally {
    clearTimeout(timer);
    cancel.abort();
  }
}

/** What ECS sends a lifecycle hook (the fields this check reads). */
export interface EcsLifecycleHookEvent {
  executionId: string;
  lifecycleStage: string;
  executionDetails?: { serviceArn?: string; targetServiceRevisionArn?: string };
  hookDetails?: { attempt?: number };
}

export interface EcsHookResult {
  hookStatus: 'SUCCEEDED' | 'FAILED' | 'IN_PROGRESS';
  callBackDelay?: number;
  hookDetails?: { attempt: number };
}

/** Unreachable green tasks are retried this many times (ECS calls again after `callBackDelay`), mismatches never. */
export const HOOK_ATTEMPTS = 3;
const RETRY_DELAY_S = 20;

export async function decideLifecycleHook(
  event: EcsLifecycleHookEvent,
  golden: LoadedGoldenSet,
  invoke: Invoke,
  log: Logger,
): Promise<EcsHookResult> {
  const attempt = (event.hookDetails?.attempt ?? 0) + 1;
  const fields = {
    executionId: event.executionId,
    stage: event.lifecycleStage,
    revision: event.executionDetails?.targetServiceRevisionArn,
    attempt,
  };
  try {
    const { verdict, model } = await replayGoldenSet(golden.set, invoke);
    log[verdict.passed ? 'info' : 'error'](describeVerdict(verdict), { ...fields, model, mismatches: verdict.mismatches });
    return { hookStatus: verdict.passed ? 'SUCCEEDED' : 'FAILED' };
  } catch (e) {
    log.warn('Golden set check could not reach the new tasks', { ...fields, error: e });
    return attempt < HOOK_ATTEMPTS
      ? { hookStatus: 'IN_PROGRESS', callBackDelay: RETRY_DELAY_S, hookDetails: { attempt } }
      : { hookStatus: 'FAILED' };
  }
}

export function isCustomResourceEvent(event: unknown): event is CloudFormationCustomResourceEvent {
  return typeof event === 'object' && event !== null && 'RequestType' in event && 'ResponseURL' in event;
}
