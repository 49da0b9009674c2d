/**
 * Batch inference runs in AWS: how a run is started and where it writes. The state machine takes the
 * EventBridge `Object Created` event of an object under `batch/input/` (or the same shape from
 * `mlship batch --stack`), and writes `batch/output/<execution name>/<input file name>.out`.
 */
import { PREFIX } from './bucket';

/** Stack outputs the CLI reads to find the batch state machine and the bucket it watches. */
export const BATCH_STACK_OUTPUTS = {
  stateMachineArn: 'BatchStateMachineArn',
  bucketName: 'BatchBucketName',
} as const;

/** The part of an S3 `Object Created` event the state machine reads. */
export interface BatchExecutionInput {
  detail: { bucket: { name: string }; object: { key: string } };
}

export function batchExecutionInput(bucket: string, key: string): BatchExecutionInput {
  return { detail: { bucket: { name: bucket }, object: { key } } };
}

/** Where a run's results go: one folder per execution under `batch/output/`. */
export function batchOutputPrefix(executionName: string): string {
  return `${PREFIX.batchOutput}${executionName}/`;
}
