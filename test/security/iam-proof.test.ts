/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * Least privilege, proven from what the code does: every AWS SDK call the handlers, the golden-set check,
 * the container, the batch task and the retraining loop's Processing jobs and hand-over make in an
 * end-to-end run of the local system is recorded (the model server's and the batch task's own
 * processes too), mapped to its IAM action and resource, and checked
 * against the roles of each backend's synthesized templates. The test fails when code gains a call
 * without its grant, or a grant outlives its call.
 *
 * A second run covers what a deployment with a split challenger and `autoPromote` adds: the predict
 * function routing each request by the routing item, and the scheduled quality job deciding a step,
 * writing it to the routing item and publishing it to the alarm topic (an SNS stand-in; the topic's key
 * is used with the publisher's credentials, so a Publish needs it too). Its synth's grants that the main
 * synth also holds are proven by the main run; every other one must be used by this run's calls.
 *
 * Roles no code of ours runs under (ECS task execution roles, the batch state machine, its EventBridge
 * trigger, the ECS rollout hook) cannot be recorded: AWS makes their calls, and there is no local ECS,
 * Step Functions or EventBridge. Each of their grants is checked against the list of what AWS needs,
 * with the exact resource and who uses it, both ways.
 *
 * The retraining loop's SageMaker training job role and its state machine's role are of that kind too.
 * With the training role, SageMaker and the training toolkit of AWS's scikit-learn image (not our
 * code) pull the image, download the snapshot channel and the code archive, upload `model.tar.gz` and
 * write logs and metrics; train.py itself reads and writes local folders only (`SM_CHANNEL_*`,
 * `SM_MODEL_DIR`), and the local `mlship train` runs it without SageMaker. Every call of the state
 * machine's role (its job starts, `.sync` rules, PassRole, the hand-over invoke, the declined
 * hand-over's Publish) is made by Step Functions. Neither has a call of ours to record, so both are
 * checked like the batch state machine: against what AWS needs, both ways.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnResource, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { modelPrefix, PREFIX, trainingOutputPrefix, trainingSnapshotPrefix } from '../../contract/bucket';
import type { RoutingState } from '../../contract/versions';
import type { QualityRunResult } from '../../lambda/quality/job';
import { TableRoutingStore } from '../../lambda/versions/routing-store';
import { dynamoClient } from '../../local/dynamodb';
import { type LocalSystem, startLocal } from '../../local/system';
import { bare, render, type Statement, statementsOfRole } from '../infra/synth';
import { defined } from '../support/defined';
import { MODEL_DIR } from '../support/load-runner';
import { modelVersionCopy } from '../support/model-version';
import { quietHandlerLogs } from '../support/quiet-logs';
import { startSnsStandIn } from '../support/sns-stand-in';
import {
  ALARM_TOPIC_ARN,
  abortBatchOutput,
  type BatchTaskOutcome,
  exerciseLocalSystem,
  exerciseSageMakerPredict,
  exerciseSplit,
  type GoldenCheckOutcome,
  type Phase,
  runBatchTask,
  runGoldenCheck,
  runHandOver,
  runQualityJob,
  runTrainingJobs,
} from './e2e-run';
import { allows, type Caller, callerOf, type IamRequest, iamRequestsOf, type RecordedCall, symbolicResource } from './iam-map';
import { type SynthesizedBackend, synthesize, synthesizeAll } from './templates';

jest.setTimeout(180_000);

type Recorder = { install: (sink: (c: RecordedCall) => void) => () => void };

/** A function in a VPC (the Fargate backend): Lambda creates and removes its network interfaces with the role. */
const LAMBDA_VPC: Record<string, string> = {
  'ec2:CreateNetworkInterface': 'Lambda VPC networking',
  'ec2:DescribeNetworkInterfaces': 'Lambda VPC networking',
  'ec2:DescribeSubnets': 'Lambda VPC networking',
  'ec2:DeleteNetworkInterface': 'Lambda VPC networking',
  'ec2:AssignPrivateIpAddresses': 'Lambda VPC networking',
  'ec2:UnassignPrivateIpAddresses': 'Lambda VPC networking',
};

/**
 * Granted actions no code of ours calls, because AWS itself uses them with the role. Each says who.
 * Keyed by caller, then action.
 */
const USED_BY_AWS: Partial<Record<Caller, Record<string, string>>> & { all: Record<string, string> } = {
  all: {
    // Lambda (and ECS/SageMaker) ship the process's stdout/stderr to CloudWatch Logs with the role.
    'logs:CreateLogStream': 'the platform writes the function or container log stream',
    'logs:PutLogEvents': 'the platform writes the function or container log lines',
    // Active tracing: the Lambda runtime sends segments with the function's role.
    'xray:PutTraceSegments': 'Lambda active tracing',
    'xray:PutTelemetryRecords': 'Lambda active tracing',
  },
  predict: LAMBDA_VPC,
  // The golden-set check reaches the test listener from the VPC on the Fargate backend.
  'golden-check': LAMBDA_VPC,
  'analytics-writer': {
    // The DynamoDB stream event source mapping reads the stream with the function's role; locally the
    // embedded DynamoDB's change tap stands in for it and makes no AWS call.
    'dynamodb:DescribeStream': "Lambda's stream event source mapping describes the log stream's shards",
    'dynamodb:GetShardIterator': "Lambda's stream event source mapping opens each shard",
    'dynamodb:GetRecords': "Lambda's stream event source mapping reads the records it hands to the function",
    'dynamodb:ListStreams': "Lambda's stream event source mapping lists the table's streams",
    'sqs:SendMessage': "Lambda's stream event source mapping describes a batch still failing after its retries in the on-failure queue",
  },
  'analytics-compactor': {
    // The compactor takes its scheduled runs from a FIFO queue through an SQS event source mapping, which
    // polls with the function's role; locally the runner calls the handler on its own timer.
    'sqs:ReceiveMessage': "Lambda's SQS event source mapping receives the scheduled run",
    'sqs:DeleteMessage': "Lambda's SQS event source mapping deletes a run the function finished",
    'sqs:ChangeMessageVisibility': "Lambda's SQS event source mapping returns a failed run to the queue",
    'sqs:GetQueueAttributes': "Lambda's SQS event source mapping reads the queue attributes",
  },
  query: {
    // Summary windows over 24 h: locally DuckDB answers them (no AWS call to record). On AWS the Athena
    // engine makes these four calls, whose exact requests test/lambda/athena-engine.test.ts checks...
    'athena:StartQueryExecution': 'the Athena engine starts the summary query in the workgroup',
    'athena:GetQueryExecution': 'the Athena engine polls the query until it is done',
    'athena:GetQueryResults': 'the Athena engine reads the answer',
    'athena:StopQueryExecution': 'the Athena engine stops a query still running at the deadline',
    // ...and Athena itself reads the catalog, the Parquet objects and writes the results with the caller's credentials.
    'glue:GetDatabase': 'Athena reads the analytics database with the caller’s credentials',
    'glue:GetTable': 'Athena reads the table definitions (and their projection) with the caller’s credentials',
    'glue:GetPartitions': 'Athena asks for partitions with the caller’s credentials',
    's3:GetObject': 'Athena reads the Parquet objects under analytics/ and the result it wrote, with the caller’s credentials',
    's3:ListBucket': 'Athena lists the partition folders under analytics/ and its results/ prefix',
    's3:GetBucketLocation': 'Athena checks the region of the data and results buckets',
    's3:PutObject': 'Athena writes the query result under results/',
    's3:AbortMultipartUpload': 'Athena abandons a failed result upload',
  },
  replay: {
    // The SQS event source mapping polls with the function's role; locally the replay loop stands in for
    // it with ReceiveMessage/DeleteMessageBatch only.
    'sqs:GetQueueAttributes': 'Lambda SQS event source mapping reads the queue attributes',
    'sqs:ChangeMessageVisibility': 'Lambda SQS event source mapping returns failed batch items to the queue',
  },
  processing: {
    // SageMaker Processing, not the job's code, pulls the image, writes the job's logs and metrics, and
    // downloads the job's inputs (the champion package, the training job's output) with the role.
    'ecr:BatchCheckLayerAvailability': 'SageMaker pulls the mlship image for the job',
    'ecr:GetDownloadUrlForLayer': 'SageMaker pulls the mlship image for the job',
    'ecr:BatchGetImage': 'SageMaker pulls the mlship image for the job',
    'ecr:GetAuthorizationToken': 'SageMaker pulls the mlship image for the job',
    'logs:CreateLogGroup': 'SageMaker creates /aws/sagemaker/ProcessingJobs',
    'cloudwatch:PutMetricData': 'SageMaker publishes the job metrics',
  },
  container: {
    // SageMaker, not the container, pulls the image and writes logs and metrics with the execution role.
    'ecr:BatchCheckLayerAvailability': 'SageMaker pulls the model image',
    'ecr:GetDownloadUrlForLayer': 'SageMaker pulls the model image',
    'ecr:BatchGetImage': 'SageMaker pulls the model image',
    'ecr:GetAuthorizationToken': 'SageMaker pulls the model image',
    'logs:CreateLogGroup': 'SageMaker creates /aws/sagemaker/Endpoints/<name>',
    'logs:DescribeLogStreams': 'SageMaker writes the endpoint logs',
    'cloudwatch:PutMetricData': 'SageMaker publishes the endpoint metrics',
    // Batch Transform reads the dataset and writes the predictions with the model's execution role.
    's3:GetObject': 'Batch Transform reads batch/input/',
    's3:ListBucket': 'Batch Transform lists the batch/input/ prefix it was given',
    's3:PutObject': 'Batch Transform writes batch/output/',
    's3:AbortMultipartUpload': 'Batch Transform abandons a failed multipart output upload',
  },
};

/** A grant only AWS uses with a role: the action, the exact resource (rendered) and who uses it. */
interface AwsGrant {
  action: string;
  resource: string | RegExp;
  reason: string;
}

/**
 * Compares a role's statements with the grants AWS needs, both ways: each granted action on each
 * resource must be one of `expected` (nothing else is granted), and each of `expected` must be granted
 * (the service would fail without it). Returns the differences, empty when the role is exact.
 */
function compareWithAwsUse(statements: Statement[], expected: AwsGrant[]): { unexplained: string[]; missing: string[] } {
  const granted = statements.flatMap((st) =>
    st.actions.flatMap((action) => st.resources.map((resource) => ({ action, resource, conditional: st.condition !== undefined }))),
  );
  const matches = (g: { action: string; resource: string }, e: AwsGrant) =>
    g.action === e.action && (typeof e.resource === 'string' ? g.resource === e.resource : e.resource.test(g.resource));
  return {
    unexplained: granted.filter((g) => !expected.some((e) => matches(g, e))).map((g) => `${g.action} on ${g.resource}`),
    missing: expected.filter((e) => !granted.some((g) => matches(g, e))).map((e) => `${e.action} on ${String(e.resource)} (${e.reason})`),
  };
}

type CfnResources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
const getAttId = (v: unknown): string => ((v as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'] ?? [])[0];

/**
 * The grants of an ECS task execution role: ECS (the agent), not the container, pulls the image and
 * ships the container's output with it. The repository and log group are read from the task definition.
 */
function executionRoleGrants(taskDefinition: { Properties: Record<string, unknown> }): AwsGrant[] {
  const [container, ...others] = taskDefinition.Properties.ContainerDefinitions as {
    Image: unknown;
    LogConfiguration: { LogDriver: string; Options: Record<string, unknown> };
  }[];
  if (others.length > 0) throw new Error('one container per task definition expected');
  const repository = /\/([^/]+):[^:/<>]+$/.exec(render(container.Image))?.[1];
  if (!repository || container.LogConfiguration.LogDriver !== 'awslogs')
    throw new Error(`unexpected image or log driver: ${render(container.Image)}`);
  const repositoryArn = `arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/${repository}`;
  const logGroupArn = render(container.LogConfiguration.Options['awslogs-group']).replace(/>$/, '.Arn>');
  return [
    {
      action: 'ecr:GetAuthorizationToken',
      resource: '*',
      reason: 'ECS logs in to the registry before the pull; the action takes only Resource "*"',
    },
    { action: 'ecr:BatchCheckLayerAvailability', resource: repositoryArn, reason: "ECS pulls the task's image from its one repository" },
    { action: 'ecr:GetDownloadUrlForLayer', resource: repositoryArn, reason: "ECS pulls the task's image layers" },
    { action: 'ecr:BatchGetImage', resource: repositoryArn, reason: "ECS reads the task's image manifest" },
    {
      action: 'logs:CreateLogStream',
      resource: logGroupArn,
      reason: "the awslogs driver creates the task's stream in the container's log group",
    },
    { action: 'logs:PutLogEvents', resource: logGroupArn, reason: "the awslogs driver writes the container's stdout and stderr" },
  ];
}

/** The Step Functions managed rule through which a `.sync` integration learns that its `what` ended. */
function syncRuleGrants(rule: string, what: string) {
  return ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'].map((action) => ({
    action,
    resource: `arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/${rule}`,
    reason: `the managed rule through which .sync learns the ${what}'s end`,
  }));
}

/** What every state machine's role grants Step Functions for its execution log and its traces. */
function machineLogAndTraceGrants(): AwsGrant[] {
  return [
    ...[
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ].map((action) => ({
      action,
      resource: '*',
      reason: 'Step Functions delivers the execution log (vended log delivery takes only Resource "*")',
    })),
    ...['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'].map((action) => ({
      action,
      resource: '*',
      reason: 'state machine tracing',
    })),
  ];
}

/**
 * The grants of the batch state machine's role, by the service integration its definition uses; Step
 * Functions makes these calls itself (none is our code, so none can be recorded locally: there is no
 * local Step Functions, ECS or SageMaker control plane). Documented per integration:
 * https://docs.aws.amazon.com/step-functions/latest/dg/ecs-iam.html and .../sagemaker-iam.html.
 */
function stateMachineGrants(definition: string, passedRoles: string[], taskDefinitionFamilyId: string | undefined): AwsGrant[] {
  const grants = machineLogAndTraceGrants();
  const passRole = (reason: string) => passedRoles.map((r) => ({ action: 'iam:PassRole', resource: `<${r}.Arn>`, reason }));
  if (definition.includes(':states:::ecs:runTask.sync')) {
    if (!taskDefinitionFamilyId) throw new Error('an ECS run needs its task definition');
    grants.push(
      {
        action: 'ecs:RunTask',
        resource: new RegExp(`"Ref":"${taskDefinitionFamilyId}".*/.*:\\*$`),
        reason: 'the run starts the batch task (any revision of its one family)',
      },
      { action: 'ecs:DescribeTasks', resource: '*', reason: '.sync watches the task it started (its ARN exists only at run time)' },
      { action: 'ecs:StopTask', resource: '*', reason: '.sync stops the task when the run is aborted or times out' },
      ...syncRuleGrants('StepFunctionsGetEventsForECSTaskRule', 'task'),
      ...passRole('RunTask hands the task its task role and execution role'),
    );
  }
  if (definition.includes(':states:::sagemaker:createTransformJob.sync')) {
    const jobs = 'arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:transform-job/*';
    grants.push(
      ...['sagemaker:CreateTransformJob', 'sagemaker:DescribeTransformJob', 'sagemaker:StopTransformJob', 'sagemaker:AddTags'].map(
        (action) => ({
          action,
          resource: jobs,
          reason: 'the run creates, watches, stops (on abort) and tags its transform job, named per execution',
        }),
      ),
      { action: 'sagemaker:ListTags', resource: '*', reason: 'granted on "*" by the .sync integration; it reads tags only' },
      ...syncRuleGrants('StepFunctionsGetEventsForSageMakerTransformJobsRule', 'job'),
      ...passRole("the transform job runs with the model's execution role"),
    );
  }
  return grants;
}

/**
 * The grants of the retraining loop's training job role. SageMaker, and the training toolkit in AWS's
 * scikit-learn image, make every call with it (pull, the snapshot channel, the code archive, the model
 * upload, logs, metrics); train.py reads and writes local folders only. `codeKey` is the archive the
 * definition names as `sagemaker_submit_directory`.
 */
function trainingJobGrants(model: string, codeKey: string): AwsGrant[] {
  const bucket = '<import:Mlship-Data-DataBucketArn>';
  const snapshots = trainingSnapshotPrefix(model, '0'.repeat(64)).replace(/0{64}\/$/, '');
  const group = 'arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs:*';
  const repository = 'arn:<AWS::Partition>:ecr:<AWS::Region>:*:repository/sagemaker-scikit-learn';
  return [
    { action: 's3:GetObject', resource: `${bucket}/${snapshots}*`, reason: 'SageMaker downloads the snapshot channel' },
    {
      action: 's3:ListBucket',
      resource: bucket,
      reason: "SageMaker lists the channel's S3Prefix (the grant is limited to it by condition)",
    },
    { action: 's3:PutObject', resource: `${bucket}/${trainingOutputPrefix(model)}*`, reason: 'SageMaker uploads model.tar.gz' },
    { action: 's3:GetObject', resource: new RegExp(`/${codeKey}$`), reason: "the image's training toolkit downloads the code archive" },
    ...['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
      action,
      resource: group,
      reason: "SageMaker writes the job's log",
    })),
    { action: 'cloudwatch:PutMetricData', resource: '*', reason: 'SageMaker publishes the job metrics (no resource-level scope)' },
    ...['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'].map((action) => ({
      action,
      resource: repository,
      reason: "SageMaker pulls AWS's scikit-learn image (its registry account differs per region)",
    })),
    { action: 'ecr:GetAuthorizationToken', resource: '*', reason: 'SageMaker logs in to the registry; the action takes only Resource "*"' },
  ];
}

/**
 * The grants of the retraining state machine's role, by the states its definition has; Step Functions
 * makes every call. The alarm topic is encrypted, so its publish steps need the topic's key as well.
 */
function retrainingMachineGrants(
  definition: string,
  model: string,
  roles: { training: string; processing: string; handOver: string },
): AwsGrant[] {
  const job = (kind: string) => `arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:${kind}/${model.slice(0, 20)}-*`;
  const grants = [
    ...machineLogAndTraceGrants(),
    {
      action: 'states:listExecutions',
      resource: /^arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine\/[^*]+\*$/,
      reason: 'the first step counts the running executions of this state machine',
    },
    ...['sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:StopTrainingJob', 'sagemaker:AddTags'].map((action) => ({
      action,
      resource: job('training-job'),
      reason: 'the run creates, watches, stops and tags its training job, named after the model',
    })),
    ...['sagemaker:CreateProcessingJob', 'sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob', 'sagemaker:AddTags'].map(
      (action) => ({ action, resource: job('processing-job'), reason: 'the snapshot and evaluate jobs, named after the model' }),
    ),
    ...syncRuleGrants('StepFunctionsGetEventsForSageMakerTrainingJobsRule', 'training job'),
    ...syncRuleGrants('StepFunctionsGetEventsForSageMakerProcessingJobsRule', 'processing job'),
    ...[roles.training, roles.processing].map((r) => ({
      action: 'iam:PassRole',
      resource: `<${r}.Arn>`,
      reason: 'each job runs with its own role',
    })),
    {
      action: 's3:getObject',
      resource: `<import:Mlship-Data-DataBucketArn>/${PREFIX.trainingRuns}${model}/*`,
      reason: "a step reads the run's decision",
    },
    { action: 'sns:Publish', resource: '<import:MonitoringAlarmTopic>', reason: 'the refusal, failure and declined hand-over notices' },
    ...['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({
      action,
      resource: /^<import:MonitoringAlarmTopicKey[^>]*>$/,
      reason: 'SNS asks the alarm topic key for the data key with the publisher credentials',
    })),
    ...['', ':*'].map((v) => ({
      action: 'lambda:InvokeFunction',
      resource: `<${roles.handOver}.Arn>${v}`,
      reason: 'the hand-over step invokes its one function',
    })),
  ];
  for (const integration of [
    'aws-sdk:sfn:listExecutions',
    'sagemaker:createTrainingJob.sync',
    'sagemaker:createProcessingJob.sync',
    'aws-sdk:s3:getObject',
    'sns:publish',
    'lambda:invoke',
  ])
    if (!definition.includes(`:states:::${integration}`)) throw new Error(`the retraining definition has no ${integration} state`);
  return grants;
}

function logicalIdOf(c: IConstruct): string {
  return Stack.of(c).getLogicalId(c.node.defaultChild as CfnResource);
}

/** Each caller's role statements in a backend's templates. */
function roleStatements(s: SynthesizedBackend): Record<Caller, Statement[]> {
  const { api, data, serving, monitoring, analytics, training } = s.stacks;
  const of = (stack: 'api' | 'data' | 'serving' | 'monitoring' | 'analytics' | 'training', role: IConstruct) =>
    statementsOfRole(s.templates[stack], logicalIdOf(role));
  const containerRole = serving.fargate ? serving.fargate.service.taskDefinition.taskRole : serving.sagemaker?.role;
  if (!containerRole) throw new Error(`${s.backend}: no container role found`);
  // The Fargate backend's batch task has its own role; SageMaker's Batch Transform uses the model's
  // (the container's) role, with AWS making the calls (USED_BY_AWS.container).
  const batchTaskRole = serving.batch.taskDefinition?.taskRole;
  if ((batchTaskRole !== undefined) !== (s.backend === 'fargate')) throw new Error(`${s.backend}: a batch task role only on fargate`);
  return {
    'golden-check': of('serving', serving.goldenCheck.handler.role),
    batch: batchTaskRole ? of('serving', batchTaskRole) : [],
    predict: of('api', api.functions.predict.role),
    query: of('api', api.functions.query.role),
    feedback: of('api', api.functions.feedback.role),
    meta: of('api', api.functions.meta.role),
    replay: of('data', data.replay.role),
    'analytics-writer': of('analytics', defined(analytics, 'the analytics stack').writer.role),
    'analytics-compactor': of('analytics', defined(analytics, 'the analytics stack').compactor.role),
    quality: of('monitoring', monitoring.monitoring.qualityFunction.role),
    'hand-over': of('training', defined(training, 'the training stack').handOver.role),
    processing: of('training', defined(training, 'the training stack').loop.processingRole),
    container: of('serving', containerRole),
  };
}

/** The calls a child process appended to its log (none when it made none). */
function readCallLog(file: string): RecordedCall[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
}

/** A call of the model server's processes: the container's, whatever module of it made the call. */
const fromModelServer = (call: RecordedCall): RecordedCall => ({ ...call, files: [...call.files, '/container/src/'] });

/** Recorded calls as IAM requests, each attributed to the caller given or found on its stack. */
function requestsOf(recorded: { call: RecordedCall; phase: Phase; caller?: Caller }[]): { req: IamRequest; phase: Phase }[] {
  return recorded.flatMap(({ call, phase, caller: given }) => {
    const caller = given ?? callerOf(call.files);
    if (caller === undefined) return [];
    if (caller === 'unattributed')
      throw new Error(`${call.client}.${call.command} from runtime code with no handler on the stack: ${call.files.join(' < ')}`);
    return iamRequestsOf(caller, call).map((req) => ({ req, phase }));
  });
}

/** Granted actions no recorded call uses and AWS does not use either, as `caller: action on resources`. */
function unusedGrants(
  roles: Record<Caller, Statement[]>,
  reqs: IamRequest[],
  backend: string,
  skip: (caller: Caller, st: Statement) => boolean = () => false,
): string[] {
  const unused: string[] = [];
  for (const [caller, statements] of Object.entries(roles) as [Caller, Statement[]][]) {
    for (const st of statements) {
      if (skip(caller, st)) continue;
      for (const action of st.actions) {
        const used = reqs.some((r) => r.caller === caller && allows({ ...st, actions: [action] }, r));
        // The container's list names what SageMaker does with the model's role; on Fargate AWS uses none of it.
        const awsUse = caller === 'container' && backend === 'fargate' ? undefined : USED_BY_AWS[caller];
        const byAws = USED_BY_AWS.all[action] ?? awsUse?.[action];
        if (!used && byAws === undefined) unused.push(`${caller}: ${action} on ${st.resources.join(', ')}`);
      }
    }
  }
  return unused;
}

/** Recorded calls no role of their caller grants, as `caller: action on resource (call)`. */
function deniedCalls(roles: Record<Caller, Statement[]>, reqs: IamRequest[]): string[] {
  const denied = reqs
    .filter((r) => !roles[r.caller].some((st) => allows(st, r)))
    .map((r) => `${r.caller}: ${r.action} on ${r.resource} ${JSON.stringify(r.context)} (${r.call})`);
  return [...new Set(denied)];
}

/** The split the variant runs: its share, how many requests it routes, and the policy that moves it up. */
const SPLIT = { percent: 25, requests: 40, policy: { minLabeled: 3, steps: [25, 50] } } as const;

/** The main run's Fargate synth, for the variant below to tell its own grants from those the main run proves. */
let mainFargate: SynthesizedBackend | undefined;

describe('IAM proof from recorded AWS calls', () => {
  let phase: Phase = 'all';
  let local: LocalSystem | undefined;
  let uninstall: (() => void) | undefined;
  let backends: SynthesizedBackend[];
  const synthOf = (backend: string) =>
    defined(
      backends.find((b) => b.backend === backend),
      `the ${backend} synth`,
    );
  let statuses: Record<string, number>;
  let sagemakerStatuses: number[];
  let qualityVersions: number;
  let handOver: Awaited<ReturnType<typeof runHandOver>>;
  let registered: string | undefined;
  let golden: GoldenCheckOutcome;
  let batchTask: BatchTaskOutcome;
  let batchAborted: boolean;
  const logDir = mkdtempSync(join(tmpdir(), 'mlship-iam-'));
  const childLog = join(logDir, 'calls.jsonl');
  /** The batch task's process: every call it makes is made with the batch task role. */
  const batchLog = join(logDir, 'batch-calls.jsonl');
  const savedNodeOptions = process.env.NODE_OPTIONS;
  /** Set while this process runs code of a caller whose calls a stack cannot name (lib-storage's async upload). */
  let asCaller: Caller | undefined;
  const calls: { call: RecordedCall; phase: Phase; caller?: Caller }[] = [];
  const sink = (call: RecordedCall) => calls.push({ call, phase, caller: asCaller });

  beforeAll(async () => {
    // GIVEN every AWS SDK call recorded: in this process in memory, in the model server's processes to a file
    uninstall = (require('./record-aws-calls') as Recorder).install(sink);
    // The model server runs in child processes: they preload the recorder and append to a file.
    process.env.MLSHIP_AWS_CALL_LOG = childLog;
    process.env.NODE_OPTIONS = `${savedNodeOptions ?? ''} --require ${join(__dirname, 'record-aws-calls.js')}`.trim();
    local = await startLocal({
      port: 0,
      inMemory: true,
      modelDir: MODEL_DIR,
      apiKey: 'iam-proof-key-0123456789ab',
      replayIntervalMs: 0,
      // The stream stand-in and the compactor run only when a step asks (2, and the compaction in 1): a
      // background batch landing during step 7 would be recorded as the batch task's.
      analyticsIntervalMs: 0,
      analyticsCompactionIntervalMs: 0,
      staticDir: '/nonexistent-dashboard',
    });
    // Only the model server's processes (started above) record to the file; this process records in memory.
    delete process.env.MLSHIP_AWS_CALL_LOG;
    // WHEN (1) every route runs against the local system, the Fargate backend's way
    statuses = await exerciseLocalSystem(local, (p) => (phase = p));
    // (2) the run's log writes reach the analytics writer, as the table stream hands them over in AWS
    await local.flushAnalytics();
    // (3) predict calls a SageMaker endpoint, the SageMaker backends' way
    sagemakerStatuses = await exerciseSageMakerPredict(local, (p) => (phase = p));
    // (4) the quality job runs once
    qualityVersions = (await runQualityJob(local)).versions.length;
    // (4b) the retraining loop's Processing jobs snapshot the dataset and register a candidate (their role's calls)
    asCaller = 'processing';
    registered = await runTrainingJobs(local);
    asCaller = undefined;
    // (4c) its hand-over puts the registered version in the shadow; the model server loads it from the registry
    handOver = await runHandOver(local, registered ?? 'none');
    // (5) the golden-set check runs
    golden = await runGoldenCheck(local, (p) => (phase = p));
    // (6) the batch task scores a dataset in its own process. It exists on the Fargate backend only: its
    // calls are checked against that backend.
    batchTask = await runBatchTask(local, batchLog);
    // (7) a failed batch run aborts its multipart output
    phase = 'fargate';
    asCaller = 'batch';
    const recordedAfter = calls.length;
    batchAborted = await abortBatchOutput(local, (command) => calls.slice(recordedAfter).some(({ call }) => call.command === command));
    asCaller = undefined;
    phase = 'all';
    // THEN (in the tests below) each recorded call is checked against the roles of every backend's templates
    backends = synthesizeAll();
    mainFargate = synthOf('fargate');
  });

  afterAll(async () => {
    await local?.stop();
    uninstall?.();
    process.env.NODE_OPTIONS = savedNodeOptions;
    delete process.env.MLSHIP_AWS_CALL_LOG;
  });

  /** The IAM requests of the run, with the phases they belong to. */
  const requests = (): { req: IamRequest; phase: Phase }[] => [
    ...requestsOf(calls),
    ...requestsOf(readCallLog(childLog).map((call) => ({ call: fromModelServer(call), phase: 'all' as Phase }))),
    ...requestsOf(readCallLog(batchLog).map((call) => ({ call, phase: 'fargate' as Phase, caller: 'batch' as Caller }))),
  ];
  // The SageMaker run's log and S3 calls are what predict does on every backend; only its model call
  // (InvokeEndpoint) is SageMaker's. The container's prefix download is no backend's.
  const forBackend = (backend: string) =>
    requests()
      .filter(({ req, phase: p }) => {
        if (p === 'undeployed') return false;
        if (p === 'fargate') return backend === 'fargate';
        if (p === 'sagemaker' && req.action === 'sagemaker:InvokeEndpoint') return backend !== 'fargate';
        return true;
      })
      .map(({ req }) => req);

  it('matches actions, resource patterns and conditions strictly', () => {
    const put: IamRequest = {
      caller: 'predict',
      action: 's3:PutObject',
      resource: 'bucket/datasets/x.json',
      context: {},
      call: 'S3Client.PutObject',
    };
    expect(allows({ actions: ['s3:PutObject'], resources: ['<import:Mlship-Data-DataBucketArn>/predictions/*'] }, put)).toBe(false);
    expect(allows({ actions: ['s3:GetObject'], resources: ['<import:Mlship-Data-DataBucketArn>/datasets/*'] }, put)).toBe(false);
    expect(allows({ actions: ['s3:PutObject'], resources: ['<import:Mlship-Data-DataBucketArn>/datasets/*'] }, put)).toBe(true);
    const del: IamRequest = {
      caller: 'predict',
      action: 'dynamodb:DeleteItem',
      resource: 'table',
      context: { 'dynamodb:LeadingKeys': '01ARZ3NDEKTSV4RRFFQ69G5FAV' },
      call: 'DynamoDBClient.DeleteItem',
    };
    const idemOnly = {
      actions: ['dynamodb:DeleteItem'],
      resources: ['<import:PredictionLog.Arn>'],
      condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['idem#*'] } },
    };
    expect(allows(idemOnly, del)).toBe(false);
    expect(allows(idemOnly, { ...del, context: { 'dynamodb:LeadingKeys': 'idem#k#1' } })).toBe(true);
  });

  it('ran every route and path it means to record', () => {
    expect(statuses).toMatchObject({
      predict: 200,
      'predict idempotent': 200,
      'predict idempotent replay': 200,
      'predict idempotent conflict': 409,
      'predict s3Key': 200,
      // The missing dataset object is a 404 now, not a retry-shortly 503.
      'predict idempotent failure': 404,
      list: 200,
      'list as client': 200,
      get: 200,
      feedback: 200,
      summary: 200,
      model: 200,
      health: 200,
      openapi: 200,
      'predict dead-lettered': 200,
      replayed: 1,
      compacted: 2,
      parked: 1,
    });
    expect(sagemakerStatuses[0]).toBe(200);
    expect(sagemakerStatuses).toHaveLength(2);
    // The scheduled quality job read the window the run logged.
    expect(qualityVersions).toBe(1);
    // The evaluate job registered the candidate; the hand-over wrote the routing state, and the model
    // server loaded the version while predictions went on.
    expect(registered).toBe('1.0.1');
    expect(handOver).toEqual({ handedOver: true, status: 200, shadowVersion: '1.0.1' });
    // The golden set passed both ways the deployment runs it.
    expect(golden).toEqual({ hookStatus: 'SUCCEEDED', customResourceStatus: expect.stringMatching(/^SUCCESS: Golden set passed/) });
    // The batch task scored the dataset and wrote the predictions and the rejected row.
    expect({ exitCode: batchTask.exitCode, stderr: batchTask.exitCode === 0 ? '' : batchTask.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(batchTask.summary).toMatchObject({
      rows: 21,
      predicted: 20,
      rejected: 1,
      rejects: expect.stringMatching(/\/batch\/output\/iam-proof-run\/rows\.csv\.out\.rejects\.jsonl$/),
    });
    expect(batchTask.outputLines).toBe(21); // the header and 20 predictions
    expect(batchAborted).toBe(true);
  });

  it('records calls from every caller that makes them, through one shared SDK base class', () => {
    const clients = ['client-dynamodb', 'client-s3', 'client-sqs', 'client-sagemaker-runtime'].map((c) =>
      require.resolve('@smithy/core/client', { paths: [require.resolve(`@aws-sdk/${c}`)] }),
    );
    expect(new Set(clients).size).toBe(1);
    const seen = new Set(requests().map(({ req }) => `${req.caller} ${req.action} ${req.resource.replace(/\/[^/]+\.(json|gz)$/, '/…')}`));
    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        'predict dynamodb:PutItem table',
        'predict dynamodb:GetItem table',
        'predict dynamodb:UpdateItem table',
        'predict dynamodb:DeleteItem table',
        'predict sqs:SendMessage queue',
        'predict sagemaker:InvokeEndpoint endpoint',
        'query dynamodb:GetItem table',
        'query dynamodb:Query table/index/byModel',
        'feedback dynamodb:UpdateItem table',
        'replay sqs:ReceiveMessage queue',
        'replay sqs:DeleteMessage queue',
        'replay dynamodb:PutItem table',
        'quality dynamodb:Query table/index/byModel',
        'container s3:ListBucket bucket',
        'golden-check sagemaker:InvokeEndpoint check-endpoint',
        'hand-over dynamodb:GetItem table',
        'hand-over dynamodb:PutItem table',
        'predict dynamodb:GetItem table',
        'batch s3:GetObject bucket/batch/input/iam-proof/rows.csv',
        'batch s3:PutObject bucket/batch/output/iam-proof-run/rows.csv.out',
        'batch s3:PutObject bucket/batch/output/iam-proof-run/rows.csv.out.rejects.jsonl',
        'batch s3:PutObject bucket/batch/output/iam-proof-failed/rows.csv.out',
        'batch s3:AbortMultipartUpload bucket/batch/output/iam-proof-failed/rows.csv.out',
      ]),
    );
    const keys = requests().map(({ req }) => `${req.caller} ${req.action} ${req.resource}`);
    expect(keys).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^analytics-writer s3:PutObject bucket\/analytics\/predictions\/model=[^/]+\/dt=[^/]+\/[^/]+\.parquet$/),
        expect.stringMatching(/^analytics-writer s3:PutObject bucket\/analytics\/feedback\//),
        // The run compacts the day it wrote (as if closed): list, read, write the compacted object, delete the merged files.
        expect.stringMatching(/^analytics-compactor s3:ListBucket bucket$/),
        expect.stringMatching(/^analytics-compactor s3:GetObject bucket\/analytics\/predictions\/model=[^/]+\/dt=[^/]+\/[^/]+\.parquet$/),
        expect.stringMatching(
          /^analytics-compactor s3:PutObject bucket\/analytics\/predictions\/model=[^/]+\/dt=[^/]+\/[^/]+~compacted\.parquet$/,
        ),
        expect.stringMatching(/^analytics-compactor s3:DeleteObject bucket\/analytics\/feedback\/model=[^/]+\/dt=[^/]+\/[^/]+\.parquet$/),
        // ...and the day's binned feature counts the feature-drift query reads (the model has a baseline).
        expect.stringMatching(
          /^analytics-compactor s3:PutObject bucket\/analytics\/feature_bins\/model=[^/]+\/dt=[^/]+\/[0-9a-f]{16}\.parquet$/,
        ),
        expect.stringMatching(/^predict s3:PutObject bucket\/predictions\//),
        expect.stringMatching(/^predict s3:GetObject bucket\/predictions\//),
        expect.stringMatching(/^predict s3:GetObject bucket\/datasets\//),
        expect.stringMatching(/^container s3:GetObject bucket\/models\/.*model\.tar\.gz$/),
        // The retraining loop's Processing jobs: the dataset read, the snapshot, the decision and the registered version written
        expect.stringMatching(/^processing s3:GetObject bucket\/datasets\/breast-cancer\//),
        expect.stringMatching(/^processing s3:PutObject bucket\/training\/snapshots\/breast-cancer\/[0-9a-f]{64}\//),
        'processing s3:PutObject bucket/training/runs/breast-cancer/iam-proof-run/decision.json',
        'processing s3:PutObject bucket/models/breast-cancer/1.0.1/evaluation.json',
        // A registered version loaded while the server runs: its evaluation, then its package
        'container s3:GetObject bucket/models/breast-cancer/1.0.1/evaluation.json',
        'container s3:GetObject bucket/models/breast-cancer/1.0.1/model.tar.gz',
        expect.stringMatching(/^batch s3:GetObject bucket\/models\/.*model\.tar\.gz$/),
      ]),
    );
  });

  it.each(['fargate', 'sagemaker', 'sagemaker-serverless'])(
    '%s: the golden-set check and batch roles are exact, from the run',
    (backend) => {
      // The two roles the run above covered are present where the backend has them, and their grants name
      // exact resources: the one endpoint, the batch prefixes and the model package prefix.
      const s = synthOf(backend);
      const roles = roleStatements(s);
      const objectResources = (caller: Caller) =>
        roles[caller]
          .filter((st) => st.actions.some((a) => a.startsWith('s3:') || a.startsWith('sagemaker:')))
          .flatMap((st) => st.resources);
      expect(objectResources('golden-check')).toEqual(backend === 'fargate' ? [] : ['<SageMakerCheckEndpoint>']);
      expect(objectResources('batch').sort()).toEqual(
        backend === 'fargate'
          ? [
              '<import:Mlship-Data-DataBucketArn>/batch/input/*',
              '<import:Mlship-Data-DataBucketArn>/batch/output/*',
              `<import:Mlship-Data-DataBucketArn>/${modelPrefix(s.stacks.manifest.name)}*`,
            ]
          : [],
      );
    },
  );

  it.each(['fargate', 'sagemaker', 'sagemaker-serverless'])(
    '%s: no model reader may list the bucket, since every deployment hands it the package key',
    (backend) => {
      // The container's prefix form lists; the recorded listing is denied to the container and batch roles.
      const roles = roleStatements(synthOf(backend));
      const listings = requests().filter(({ req, phase: p }) => p === 'undeployed' && req.action === 's3:ListBucket');
      expect(listings.length).toBeGreaterThan(0);
      const granted = listings.flatMap(({ req }) =>
        (['container', 'batch'] as Caller[]).filter((caller) => roles[caller].some((st) => allows(st, { ...req, caller }))),
      );
      expect(granted).toEqual([]);
    },
  );

  it.each(['fargate', 'sagemaker', 'sagemaker-serverless'])(
    '%s: the ECS task execution roles grant exactly what ECS uses to start the task',
    (backend) => {
      const s = synthOf(backend);
      const resources = s.templates.serving.toJSON().Resources as CfnResources;
      const taskDefinitions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::ECS::TaskDefinition');
      // The model service's tasks and the batch task: both Fargate only.
      expect(taskDefinitions.map(([id]) => bare(id)).sort()).toEqual(backend === 'fargate' ? ['BatchTask', 'FargateTask'] : []);
      const expectedRoles =
        backend === 'fargate'
          ? [
              defined(
                defined(s.stacks.serving.fargate, 'the Fargate service').service.taskDefinition.executionRole,
                'the task execution role',
              ),
              defined(defined(s.stacks.serving.batch.taskDefinition, 'the batch task').executionRole, 'the batch execution role'),
            ]
              .map(logicalIdOf)
              .sort()
          : [];
      expect(taskDefinitions.map(([, td]) => getAttId(td.Properties.ExecutionRoleArn)).sort()).toEqual(expectedRoles);
      for (const [id, td] of taskDefinitions) {
        const roleId = getAttId(td.Properties.ExecutionRoleArn);
        // Nothing attached but its one policy: no managed policies, no inline ones.
        expect({ id, managed: resources[roleId].Properties.ManagedPolicyArns, inline: resources[roleId].Properties.Policies }).toEqual({
          id,
          managed: undefined,
          inline: undefined,
        });
        expect({ id, ...compareWithAwsUse(statementsOfRole(s.templates.serving, roleId), executionRoleGrants(td)) }).toEqual({
          id,
          unexplained: [],
          missing: [],
        });
      }
      const managed = Object.values(resources).filter((r) => r.Type === 'AWS::IAM::ManagedPolicy');
      expect(managed).toEqual([]);
    },
  );

  it.each(['fargate', 'sagemaker', 'sagemaker-serverless'])(
    '%s: the batch state machine, its trigger and the rollout hook grant exactly what AWS uses',
    (backend) => {
      const s = synthOf(backend);
      const { serving } = s.stacks;
      const template = s.templates.serving;
      const resources = template.toJSON().Resources as CfnResources;
      const [machineId, machine] = defined(
        Object.entries(resources).find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine'),
        'a state machine',
      );
      expect(machineId).toBe(logicalIdOf(serving.batch.stateMachine));
      const definition = render(machine.Properties.DefinitionString);
      const integration = backend === 'fargate' ? ':states:::ecs:runTask.sync' : ':states:::sagemaker:createTransformJob.sync';
      expect(definition).toContain(integration);
      const passed = serving.batch.taskDefinition
        ? [serving.batch.taskDefinition.taskRole, defined(serving.batch.taskDefinition.executionRole, 'the batch execution role')].map(
            (r) => bare(logicalIdOf(r)),
          )
        : [bare(logicalIdOf(defined(serving.sagemaker, 'the SageMaker serving').role))];
      const familyId = serving.batch.taskDefinition ? logicalIdOf(serving.batch.taskDefinition) : undefined;
      const machineRole = getAttId(machine.Properties.RoleArn);
      const machineStatements = statementsOfRole(template, machineRole);
      expect(compareWithAwsUse(machineStatements, stateMachineGrants(definition, passed, familyId))).toEqual({
        unexplained: [],
        missing: [],
      });
      // The role is passed to the one service that runs it, where the integration says so.
      const passStatements = machineStatements.filter((st) => st.actions.includes('iam:PassRole'));
      if (backend !== 'fargate')
        expect(passStatements.map((st) => st.condition)).toEqual([{ StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } }]);

      // EventBridge starts a run for each object created under batch/input/, with this role only.
      const [rule] = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule');
      const [target] = rule.Properties.Targets as { Arn: unknown; RoleArn: unknown }[];
      expect(render(target.Arn)).toBe(`<${bare(machineId)}>`);
      expect(
        compareWithAwsUse(statementsOfRole(template, getAttId(target.RoleArn)), [
          { action: 'states:StartExecution', resource: `<${bare(machineId)}>`, reason: 'EventBridge starts a run per input object' },
        ]),
      ).toEqual({
        unexplained: [],
        missing: [],
      });

      // Fargate: ECS invokes the golden-set check at POST_TEST_TRAFFIC_SHIFT with the hook role (the
      // function and its versions: the grant CDK's grantInvoke makes for a Lambda target).
      const services = Object.values(resources).filter((r) => r.Type === 'AWS::ECS::Service');
      const hooks = services.flatMap(
        (svc) =>
          (svc.Properties.DeploymentConfiguration as { LifecycleHooks?: { HookTargetArn: unknown; RoleArn: unknown }[] } | undefined)
            ?.LifecycleHooks ?? [],
      );
      expect(hooks.length).toBe(backend === 'fargate' ? 1 : 0);
      for (const hook of hooks) {
        const fn = `<${bare(logicalIdOf(serving.goldenCheck.handler.function))}.Arn>`;
        expect(render(hook.HookTargetArn)).toBe(fn);
        const invoke = [fn, `${fn}:*`].map((resource) => ({
          action: 'lambda:InvokeFunction',
          resource,
          reason: 'ECS calls the golden-set hook before production traffic moves',
        }));
        expect(compareWithAwsUse(statementsOfRole(template, getAttId(hook.RoleArn)), invoke)).toEqual({ unexplained: [], missing: [] });
      }
    },
  );

  it.each(['fargate', 'sagemaker', 'sagemaker-serverless'])(
    '%s: the retraining loop’s training job and state machine roles grant exactly what AWS uses',
    (backend) => {
      const s = synthOf(backend);
      const { loop, handOver } = defined(s.stacks.training, 'the training stack');
      const template = s.templates.training;
      const definition = render((template.toJSON().Resources as CfnResources)[logicalIdOf(loop.stateMachine)].Properties.DefinitionString);
      const codeKey = defined(
        /sagemaker_submit_directory":"s3:\/\/[^"]*\/([0-9a-f]{64}\.[a-z.]+)"/.exec(definition)?.[1],
        'the code archive',
      );
      const model = s.stacks.manifest.name;
      expect(compareWithAwsUse(statementsOfRole(template, logicalIdOf(loop.trainingRole)), trainingJobGrants(model, codeKey))).toEqual({
        unexplained: [],
        missing: [],
      });
      const roles = {
        training: bare(logicalIdOf(loop.trainingRole)),
        processing: bare(logicalIdOf(loop.processingRole)),
        handOver: bare(logicalIdOf(handOver.function)),
      };
      expect(
        compareWithAwsUse(
          statementsOfRole(template, logicalIdOf(loop.stateMachine.role)),
          retrainingMachineGrants(definition, model, roles),
        ),
      ).toEqual({ unexplained: [], missing: [] });
    },
  );

  it.each(['fargate', 'sagemaker', 'sagemaker-serverless'])(
    '%s: every recorded call is granted to the role of the code that makes it',
    (backend) => {
      expect(deniedCalls(roleStatements(synthOf(backend)), forBackend(backend))).toEqual([]);
    },
  );

  it.each(['fargate', 'sagemaker', 'sagemaker-serverless'])(
    '%s: every granted action is used by a recorded call or by AWS itself',
    (backend) => {
      expect(unusedGrants(roleStatements(synthOf(backend)), forBackend(backend), backend)).toEqual([]);
    },
  );
});

/**
 * The variant a main run cannot cover: a split challenger with `autoPromote`, where the predict function
 * routes each request by the routing item and the scheduled quality job decides a step, writes it to the
 * routing item and publishes it to the alarm topic (an SNS stand-in). Synthesized for Fargate only: the
 * grants it adds (the quality job's routing, publish and topic-key grants) are the same on every backend.
 * A grant the main synth holds too is proven by the main run above; every other one must be used here.
 */
describe('IAM proof with a split challenger and automatic promotion', () => {
  const challengerDir = modelVersionCopy(MODEL_DIR, '2.0.0');
  const childLog = join(mkdtempSync(join(tmpdir(), 'mlship-iam-split-')), 'calls.jsonl');
  const savedNodeOptions = process.env.NODE_OPTIONS;
  const calls: { call: RecordedCall; phase: Phase }[] = [];
  let local: LocalSystem | undefined;
  let sns: Awaited<ReturnType<typeof startSnsStandIn>> | undefined;
  let uninstall: (() => void) | undefined;
  let answeredBy: Record<string, number>;
  let quality: QualityRunResult;
  let routingAfter: RoutingState | undefined;
  let variant: SynthesizedBackend;
  let main: SynthesizedBackend;
  // The handlers' JSON lines (and the quality job's metrics for two versions) stay out of the output.
  let quiet: ReturnType<typeof quietHandlerLogs> | undefined;

  beforeAll(async () => {
    quiet = quietHandlerLogs();
    // GIVEN every AWS SDK call recorded, in this process and the model server's
    uninstall = (require('./record-aws-calls') as Recorder).install((call) => calls.push({ call, phase: 'all' }));
    process.env.MLSHIP_AWS_CALL_LOG = childLog;
    process.env.NODE_OPTIONS = `${savedNodeOptions ?? ''} --require ${join(__dirname, 'record-aws-calls.js')}`.trim();
    [local, sns] = await Promise.all([
      startLocal({
        port: 0,
        inMemory: true,
        modelDir: MODEL_DIR,
        challenger: { dir: challengerDir, mode: 'split', percent: SPLIT.percent },
        apiKey: 'iam-proof-key-0123456789ab',
        replayIntervalMs: 0,
        analyticsIntervalMs: 0,
        analyticsCompactionIntervalMs: 0,
        staticDir: '/nonexistent-dashboard',
      }),
      startSnsStandIn(),
    ]);
    delete process.env.MLSHIP_AWS_CALL_LOG;
    // WHEN (1) predictions are routed by the split and each gets feedback
    answeredBy = await exerciseSplit(local, SPLIT.requests);
    // (2) the quality job runs with the policy: the challenger held, so it steps up
    quality = await runQualityJob(local, { policy: JSON.stringify(SPLIT.policy), snsUrl: sns.url });
    // The test's own read of the outcome is no role's call: recorded no more.
    uninstall?.();
    uninstall = undefined;
    const ddb = dynamoClient(local.dynamodbUrl);
    routingAfter = (await new TableRoutingStore(ddb, local.tableName, local.manifest.name).read())?.state;
    ddb.destroy();
    // THEN (below) the calls are checked against the synth with the same challenger and policy
    variant = synthesize('fargate', {
      challengerDir,
      challengerMode: 'split',
      challengerPercent: SPLIT.percent,
      autoPromote: SPLIT.policy,
    });
    main = mainFargate ?? synthesize('fargate');
  });

  afterAll(async () => {
    await Promise.all([local?.stop(), sns?.close()]);
    uninstall?.();
    quiet?.restore();
    process.env.NODE_OPTIONS = savedNodeOptions;
    rmSync(challengerDir, { recursive: true, force: true });
  });

  const reqs = () =>
    requestsOf([...calls, ...readCallLog(childLog).map((call) => ({ call: fromModelServer(call), phase: 'all' as Phase }))]).map(
      ({ req }) => req,
    );

  it('routed by the split, decided a step, wrote it and published it', () => {
    expect(answeredBy).toEqual({
      [`${local?.manifest.name}/1.0.0`]: expect.any(Number),
      [`${local?.manifest.name}/2.0.0`]: expect.any(Number),
    });
    expect(quality.promotion).toMatchObject({ action: 'step', reason: `held at ${SPLIT.percent} %` });
    expect(routingAfter).toMatchObject({ challenger: '2.0.0', percent: SPLIT.policy.steps[1], updatedBy: 'policy' });
    expect(sns?.published.map((p) => p.topicArn)).toEqual([ALARM_TOPIC_ARN]);
    const seen = new Set(reqs().map((r) => `${r.caller} ${r.action} ${r.resource} ${r.context['dynamodb:LeadingKeys'] ?? ''}`.trim()));
    const routingKey = `routing#${local?.manifest.name}`;
    expect([...seen]).toEqual(
      expect.arrayContaining([
        `predict dynamodb:GetItem table ${routingKey}`,
        `quality dynamodb:GetItem table ${routingKey}`,
        `quality dynamodb:PutItem table ${routingKey}`,
        'quality sns:Publish topic',
        'quality kms:GenerateDataKey topic-key',
        'quality kms:Decrypt topic-key',
      ]),
    );
  });

  it('every recorded call is granted to the role of the code that makes it', () => {
    expect(deniedCalls(roleStatements(variant), reqs())).toEqual([]);
  });

  it('every grant the main run does not prove is used here', () => {
    const mainRoles = roleStatements(main);
    const inMain = (caller: Caller, st: Statement) => mainRoles[caller].some((m) => JSON.stringify(m) === JSON.stringify(st));
    expect(unusedGrants(roleStatements(variant), reqs(), 'fargate', inMain)).toEqual([]);
    // What the variant adds: the quality job's routing, publish and topic-key grants (predict's routing
    // grant is the main synth's too: the retraining loop's hand-over brings it)
    const added = (Object.entries(roleStatements(variant)) as [Caller, Statement[]][]).flatMap(([caller, sts]) =>
      sts
        .filter((st) => !inMain(caller, st))
        .map((st) => `${caller}: ${st.actions.join(', ')} on ${st.resources.map(symbolicResource).join(', ')}`),
    );
    expect(added).toEqual([
      'quality: dynamodb:GetItem, dynamodb:PutItem on table',
      'quality: sns:Publish on topic',
      'quality: kms:GenerateDataKey, kms:Decrypt on topic-key',
    ]);
    // The routing grants of both functions, in particular, are used by this run's calls
    const routing = (Object.entries(roleStatements(variant)) as [Caller, Statement[]][]).flatMap(([caller, sts]) =>
      sts.filter((st) => JSON.stringify(st.condition ?? {}).includes('routing#')).map((st) => ({ caller, st })),
    );
    expect(routing.map(({ caller }) => caller).sort()).toEqual(['hand-over', 'predict', 'quality']);
    const unproven = routing
      .filter(({ caller }) => caller !== 'hand-over')
      .flatMap(({ caller, st }) =>
        st.actions.filter((a) => !reqs().some((r) => r.caller === caller && allows({ ...st, actions: [a] }, r))),
      );
    expect(unproven).toEqual([]);
  });
});
