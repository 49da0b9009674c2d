/**
 * Batch runs in AWS: start the stack's batch state machine on an object under `batch/input/`, and list
 * recent runs with their outcome. The stack names its state machine and bucket in its outputs.
 */

import { randomBytes } from 'node:crypto';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { BATCH_STACK_OUTPUTS, batchExecutionInput } from '../../../contract/batch';
import { PREFIX } from '../../../contract/bucket';
import { parseLocation } from './locations';

export interface BatchStack {
  readonly stateMachineArn: string;
  readonly bucketName: string;
}

/** Reads the state machine ARN and the data bucket from the stack's outputs. */
export async function findBatchStack(stackName: string, cfn = new CloudFormationClient({})): Promise<BatchStack> {
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const stateMachineArn = outputs.get(BATCH_STACK_OUTPUTS.stateMachineArn);
  const bucketName = outputs.get(BATCH_STACK_OUTPUTS.bucketName);
  if (!stateMachineArn || !bucketName) {
    throw new Error(
      `Stack ${stackName} has no batch outputs (${BATCH_STACK_OUTPUTS.stateMachineArn}, ${BATCH_STACK_OUTPUTS.bucketName}): is it the stack with the BatchInference construct?`,
    );
  }
  return { stateMachineArn, bucketName };
}

/** Starts a run on `s3://<bucket>/batch/input/…`; returns the execution ARN. */
export async function startBatch(
  stack: BatchStack,
  inputUri: string,
  sfn = new SFNClient({}),
): Promise<{ executionArn: string; outputPrefix: string }> {
  const input = parseLocation(inputUri);
  if (input.kind !== 's3' || input.bucket !== stack.bucketName || !input.key.startsWith(PREFIX.batchInput) || input.key.endsWith('/')) {
    throw new Error(
      `In AWS the input must be an object under s3://${stack.bucketName}/${PREFIX.batchInput} (upload it there; the upload itself also starts a run).`,
    );
  }
  // Execution names are unique per state machine and end up in the output prefix.
  const name = `cli-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
  const out = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stack.stateMachineArn,
      name,
      input: JSON.stringify(batchExecutionInput(input.bucket, input.key)),
    }),
  );
  if (!out.executionArn) throw new Error('Step Functions returned no execution ARN');
  return { executionArn: out.executionArn, outputPrefix: `s3://${stack.bucketName}/${PREFIX.batchOutput}${name}/` };
}

export interface BatchRun {
  readonly name: string;
  readonly status: ExecutionStatus | string;
  readonly startedAt?: Date;
  readonly stoppedAt?: Date;
  /** Failed runs: the error and its cause, as Step Functions recorded them. */
  readonly error?: string;
}

/** The newest runs first; failed ones carry their error. */
export async function listBatchRuns(stack: BatchStack, max = 10, sfn = new SFNClient({})): Promise<BatchRun[]> {
  const { executions = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, maxResults: max }));
  return Promise.all(
    executions.map(async (e) => {
      const run: BatchRun = { name: e.name ?? '', status: e.status ?? 'UNKNOWN', startedAt: e.startDate, stoppedAt: e.stopDate };
      if (e.status !== 'FAILED' && e.status !== 'TIMED_OUT' && e.status !== 'ABORTED') return run;
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
      return { ...run, error: [d.error, d.cause].filter(Boolean).join(': ') || e.status };
    }),
  );
}
