/**
 * From a recorded SDK call to what IAM must allow: the action, the resource (in symbolic form shared
 * with the templates: `table`, `table/index/<name>`, `bucket`, `bucket/<key>`, `queue`, `endpoint`, `check-endpoint`,
 * `topic` and `topic-key`, the alarm topic and its key) and
 * the request values IAM conditions look at. And from a rendered policy statement to the same form.
 */
import { resolve } from 'node:path';
import type { Statement } from '../infra/synth';

const PROJECT = resolve(__dirname, '../..');

/**
 * Whose role a call is made with: a function, the model container (Fargate task or SageMaker model), the
 * retraining loop's Processing jobs (`processing`, the same image run as `snapshot` / `evaluate`), or
 * the Fargate batch task (`batch`, the same image run as `batch …`; its process is attributed whole).
 */
export type Caller =
  | 'predict'
  | 'query'
  | 'feedback'
  | 'meta'
  | 'replay'
  | 'analytics-writer'
  | 'analytics-compactor'
  | 'quality'
  | 'golden-check'
  | 'hand-over'
  | 'processing'
  | 'container'
  | 'batch';

export interface RecordedCall {
  client: string;
  command: string;
  input: Record<string, unknown>;
  files: string[];
}

export interface IamRequest {
  caller: Caller;
  action: string;
  resource: string;
  /** `dynamodb:LeadingKeys` (the partition key) and `s3:prefix` values of the request. */
  context: Record<string, string>;
  /** The SDK call it came from, for messages. */
  call: string;
}

/**
 * The module that builds each function's handler from its dependencies (the entry `lambda/<fn>.ts` only
 * calls it): a call with one of them on its stack is that function's.
 */
const HANDLER_MODULES: Record<string, Caller> = {
  'api/predict': 'predict',
  'api/query': 'query',
  'api/feedback': 'feedback',
  'api/meta': 'meta',
  'log/replay': 'replay',
  'analytics/writer': 'analytics-writer',
  'analytics/compactor': 'analytics-compactor',
  'quality/job': 'quality',
  'rollout/handler': 'golden-check',
  'versions/hand-over': 'hand-over',
};

/**
 * Who made a call, from the source files on its stack. The local replay loop stands in for Lambda's
 * SQS event source mapping, which polls and deletes with the replay function's role.
 */
export function callerOf(files: string[]): Caller | 'unattributed' | undefined {
  // Paths from the project root: the checkout's own folder name says nothing.
  const inProject = files.map((f) => (f.startsWith(`${PROJECT}/`) ? f.slice(PROJECT.length + 1) : f));
  for (const f of inProject) {
    const m = /^lambda\/(.+)\.ts$/.exec(f);
    const caller = m === null ? undefined : HANDLER_MODULES[m[1] as string];
    if (caller !== undefined) return caller;
  }
  if (inProject.includes('local/replay-loop.ts')) return 'replay';
  // The local system stores the routing state at start, as the predict function does at its first request.
  if (inProject.includes('local/challenger.ts')) return 'predict';
  if (files.some((f) => f.includes('/container/src/'))) return 'container';
  // Runtime code with no handler on the stack would escape the check: make it visible.
  if (inProject.some((f) => f.startsWith('lambda/'))) return 'unattributed';
  return undefined;
}

const partitionKeyOf = (input: Record<string, unknown>): string | undefined => {
  const key = (input.Key ?? input.Item) as Record<string, { S?: string }> | undefined;
  return key?.id?.S;
};

/** The IAM requests one SDK call makes; throws for a call this map does not know (add it here). */
export function iamRequestsOf(caller: Caller, call: RecordedCall): IamRequest[] {
  const op = call.command.replace(/Command$/, '');
  const name = `${call.client}.${op}`;
  const req = (action: string, resource: string, context: Record<string, string> = {}): IamRequest => ({
    caller,
    action,
    resource,
    context,
    call: name,
  });
  const input = call.input;
  switch (call.client) {
    case 'DynamoDBClient': {
      if (!['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'].includes(op)) break;
      const resource = typeof input.IndexName === 'string' ? `table/index/${input.IndexName}` : 'table';
      const pk = partitionKeyOf(input);
      const out = [req(`dynamodb:${op}`, resource, pk !== undefined ? { 'dynamodb:LeadingKeys': pk } : {})];
      // A write that returns the item's attributes also reads it: DynamoDB asks for GetItem then.
      if (op !== 'Query' && op !== 'GetItem' && input.ReturnValues !== undefined && input.ReturnValues !== 'NONE') {
        out.push(req('dynamodb:GetItem', resource, pk !== undefined ? { 'dynamodb:LeadingKeys': pk } : {}));
      }
      return out;
    }
    case 'S3Client':
      if (op === 'GetObject' || op === 'HeadObject') return [req('s3:GetObject', `bucket/${String(input.Key)}`)];
      // A multipart upload (lib-storage's Upload, for outputs over one part) is authorized as PutObject.
      if (['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload'].includes(op))
        return [req('s3:PutObject', `bucket/${String(input.Key)}`)];
      if (op === 'AbortMultipartUpload') return [req('s3:AbortMultipartUpload', `bucket/${String(input.Key)}`)];
      if (op === 'ListObjectsV2') return [req('s3:ListBucket', 'bucket', { 's3:prefix': String(input.Prefix ?? '') })];
      // DeleteObjects is authorized key by key as DeleteObject.
      if (op === 'DeleteObject') return [req('s3:DeleteObject', `bucket/${String(input.Key)}`)];
      if (op === 'DeleteObjects')
        return ((input.Delete as { Objects?: { Key?: string }[] } | undefined)?.Objects ?? []).map((o) =>
          req('s3:DeleteObject', `bucket/${String(o.Key)}`),
        );
      break;
    case 'SQSClient': {
      const actions: Record<string, string> = {
        SendMessage: 'sqs:SendMessage',
        SendMessageBatch: 'sqs:SendMessage',
        ReceiveMessage: 'sqs:ReceiveMessage',
        DeleteMessage: 'sqs:DeleteMessage',
        DeleteMessageBatch: 'sqs:DeleteMessage',
        ChangeMessageVisibility: 'sqs:ChangeMessageVisibility',
        ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
        GetQueueAttributes: 'sqs:GetQueueAttributes',
      };
      if (actions[op]) return [req(actions[op], 'queue')];
      break;
    }
    case 'SNSClient':
      // The alarm topic is encrypted with its own key: SNS asks KMS for the message's data key with the
      // publisher's credentials, so a Publish needs both key actions too.
      if (op === 'Publish') return [req('sns:Publish', 'topic'), req('kms:GenerateDataKey', 'topic-key'), req('kms:Decrypt', 'topic-key')];
      break;
    case 'SageMakerRuntimeClient':
      // The golden-set check calls the check endpoint (the new model before the serving endpoint has it).
      if (op === 'InvokeEndpoint') return [req('sagemaker:InvokeEndpoint', caller === 'golden-check' ? 'check-endpoint' : 'endpoint')];
      break;
  }
  throw new Error(`No IAM mapping for ${name} (made by ${caller}): add it to test/security/iam-map.ts`);
}

/** A rendered statement resource in the symbolic form, or the rendered text when it is none of ours. */
export function symbolicResource(rendered: string): string {
  return (
    rendered
      .replace(/^<(?:import:)?[^>]*PredictionLog[^>]*\.Arn>/, 'table')
      .replace(/^<(?:import:)?[^>]*DataBucketArn>/, 'bucket')
      // The data stack's own roles name the bucket directly (replay's parking prefix).
      .replace(/^<DataBucket[^>]*\.Arn>/, 'bucket')
      .replace(/^<(?:import:)?[^>]*LogDeadLetters[^>]*\.Arn>/, 'queue')
      .replace(/^<(?:import:)?SageMakerEndpoint>$/, 'endpoint')
      .replace(/^<(?:import:)?SageMakerCheckEndpoint>$/, 'check-endpoint')
      .replace(/^<[^>]*AlarmTopicKey[^>]*\.Arn>$/, 'topic-key')
      .replace(/^<[^>]*AlarmTopic(?!Key)[^>.]*>$/, 'topic')
  );
}

function glob(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(value);
}

/** Whether one statement allows the request: action, resource and every condition it carries. */
export function allows(s: Statement, r: IamRequest): boolean {
  if (!s.actions.some((a) => glob(a, r.action))) return false;
  if (!s.resources.some((res) => glob(symbolicResource(res), r.resource))) return false;
  if (s.condition === undefined) return true;
  for (const [operator, keys] of Object.entries(s.condition as Record<string, Record<string, string | string[]>>)) {
    for (const [key, wanted] of Object.entries(keys)) {
      const value = r.context[key];
      const patterns = Array.isArray(wanted) ? wanted : [wanted];
      if (operator === 'ForAllValues:StringLike' || operator === 'StringLike') {
        if (value === undefined || !patterns.some((p) => glob(p, value))) return false;
      } else if (operator === 'StringEquals') {
        if (value === undefined || !patterns.includes(value)) return false;
      } else {
        throw new Error(`Condition operator ${operator} is not understood by the IAM proof`);
      }
    }
  }
  return true;
}
