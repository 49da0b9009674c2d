/**
 * Least privilege, proven from what the code does: every AWS SDK call the handlers and the container
 * make in an end-to-end run of the local system is recorded (the model server's own process too), mapped
 * to its IAM action and resource, and checked against the roles of each backend's synthesized templates.
 * The test fails when code gains a call without its grant, or a grant outlives its call.
 */
import { CfnResource, Stack } from 'aws-cdk-lib';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IConstruct } from 'constructs';
import { startLocal, type LocalSystem } from '../../local/system';
import { MODEL_DIR } from '../../bench/reliability/load-runner';
import { statementsOfRole, type Statement } from '../infra/synth';
import { exerciseLocalSystem, exerciseSageMakerPredict, runQualityJob, type Phase } from './e2e-run';
import { allows, callerOf, iamRequestsOf, type Caller, type IamRequest, type RecordedCall } from './iam-map';
import { synthesizeAll, type SynthesizedBackend } from './templates';

jest.setTimeout(180_000);

type Recorder = { install: (sink: (c: RecordedCall) => void) => () => void };

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
  predict: {
    // A function in a VPC (the Fargate backend): Lambda creates and removes its network interfaces with the role.
    'ec2:CreateNetworkInterface': 'Lambda VPC networking',
    'ec2:DescribeNetworkInterfaces': 'Lambda VPC networking',
    'ec2:DescribeSubnets': 'Lambda VPC networking',
    'ec2:DeleteNetworkInterface': 'Lambda VPC networking',
    'ec2:AssignPrivateIpAddresses': 'Lambda VPC networking',
    'ec2:UnassignPrivateIpAddresses': 'Lambda VPC networking',
  },
  replay: {
    // The SQS event source mapping polls with the function's role; locally the replay loop stands in for
    // it with ReceiveMessage/DeleteMessageBatch only.
    'sqs:GetQueueAttributes': 'Lambda SQS event source mapping reads the queue attributes',
    'sqs:ChangeMessageVisibility': 'Lambda SQS event source mapping returns failed batch items to the queue',
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


function logicalIdOf(c: IConstruct): string {
  return Stack.of(c).getLogicalId(c.node.defaultChild as CfnResource);
}

/** Each caller's role statements in a backend's templates. */
function roleStatements(s: SynthesizedBackend): Record<Caller, Statement[]> {
  const { api, data, serving, monitoring } = s.stacks;
  const of = (stack: 'api' | 'data' | 'serving' | 'monitoring', role: IConstruct) => statementsOfRole(s.templates[stack], logicalIdOf(role));
  const containerRole = serving.fargate ? serving.fargate.service.taskDefinition.taskRole : serving.sagemaker?.role;
  if (!containerRole) throw new Error(`${s.backend}: no container role found`);
  return {
    predict: of('api', api.functions.predict.role),
    query: of('api', api.functions.query.role),
    feedback: of('api', api.functions.feedback.role),
    meta: of('api', api.functions.meta.role),
    replay: of('data', data.replay.role),
    quality: of('monitoring', monitoring.monitoring.qualityFunction.role),
    container: of('serving', containerRole),
  };
}

describe('IAM proof from recorded AWS calls', () => {
  const calls: { call: RecordedCall; phase: Phase }[] = [];
  let phase: Phase = 'all';
  let local: LocalSystem | undefined;
  let uninstall: (() => void) | undefined;
  let backends: SynthesizedBackend[];
  let statuses: Record<string, number>;
  let sagemakerStatuses: number[];
  let qualityVersions: number;
  const childLog = join(mkdtempSync(join(tmpdir(), 'mlship-iam-')), 'calls.jsonl');
  const savedNodeOptions = process.env.NODE_OPTIONS;
  const sink = (call: RecordedCall) => calls.push({ call, phase });

  beforeAll(async () => {
    uninstall = (require('./record-aws-calls') as Recorder).install(sink);
    // The model server runs in child processes: they preload the recorder and append to a file.
    process.env.MLSHIP_AWS_CALL_LOG = childLog;
    process.env.NODE_OPTIONS = `${savedNodeOptions ?? ''} --require ${join(__dirname, 'record-aws-calls.js')}`.trim();
    local = await startLocal({ port: 0, inMemory: true, modelDir: MODEL_DIR, apiKey: 'iam-proof-key-0123456789ab', replayIntervalMs: 0, staticDir: '/nonexistent-dashboard' });
    // Only the model server's processes (started above) record to the file; this process records in memory.
    delete process.env.MLSHIP_AWS_CALL_LOG;
    statuses = await exerciseLocalSystem(local, (p) => (phase = p));
    sagemakerStatuses = await exerciseSageMakerPredict(local, () => (require('./record-aws-calls') as Recorder).install(sink), (p) => (phase = p));
    qualityVersions = await runQualityJob(local);
    backends = synthesizeAll();
  });

  afterAll(async () => {
    await local?.stop();
    uninstall?.();
    process.env.NODE_OPTIONS = savedNodeOptions;
    delete process.env.MLSHIP_AWS_CALL_LOG;
  });

  /** The IAM requests of the run, with the phases they belong to. */
  const requests = (): { req: IamRequest; phase: Phase }[] => {
    const childCalls: RecordedCall[] = existsSync(childLog) ? readFileSync(childLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
    const all = [...calls, ...childCalls.map((call) => ({ call: { ...call, files: [...call.files, '/container/src/'] }, phase: 'all' as Phase }))];
    return all.flatMap(({ call, phase: p }) => {
      const caller = callerOf(call.files);
      if (caller === undefined) return [];
      if (caller === 'unattributed') throw new Error(`${call.client}.${call.command} from runtime code with no handler on the stack: ${call.files.join(' < ')}`);
      return iamRequestsOf(caller, call).map((req) => ({ req, phase: p }));
    });
  };
  // The SageMaker run's log and S3 calls are what predict does on every backend; only its model call
  // (InvokeEndpoint) is SageMaker's. The container's prefix download is Fargate's only.
  const forBackend = (backend: string) =>
    requests()
      .filter(({ req, phase: p }) => {
        if (p === 'fargate') return backend === 'fargate';
        if (p === 'sagemaker' && req.action === 'sagemaker:InvokeEndpoint') return backend !== 'fargate';
        return true;
      })
      .map(({ req }) => req);

  it('matches actions, resource patterns and conditions strictly', () => {
    const put: IamRequest = { caller: 'predict', action: 's3:PutObject', resource: 'bucket/datasets/x.json', context: {}, call: 'S3Client.PutObject' };
    expect(allows({ actions: ['s3:PutObject'], resources: ['<import:Mlship-Data-DataBucketArn>/predictions/*'] }, put)).toBe(false);
    expect(allows({ actions: ['s3:GetObject'], resources: ['<import:Mlship-Data-DataBucketArn>/datasets/*'] }, put)).toBe(false);
    expect(allows({ actions: ['s3:PutObject'], resources: ['<import:Mlship-Data-DataBucketArn>/datasets/*'] }, put)).toBe(true);
    const del: IamRequest = { caller: 'predict', action: 'dynamodb:DeleteItem', resource: 'table', context: { 'dynamodb:LeadingKeys': '01ARZ3NDEKTSV4RRFFQ69G5FAV' }, call: 'DynamoDBClient.DeleteItem' };
    const idemOnly = { actions: ['dynamodb:DeleteItem'], resources: ['<import:PredictionLog.Arn>'], condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['idem#*'] } } };
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
      'predict idempotent failure': 400,
      list: 200,
      get: 200,
      feedback: 200,
      summary: 200,
      model: 200,
      health: 200,
      openapi: 200,
      'predict dead-lettered': 200,
      replayed: 1,
    });
    expect(sagemakerStatuses[0]).toBe(200);
    expect(sagemakerStatuses).toHaveLength(2);
    // The scheduled quality job read the window the run logged.
    expect(qualityVersions).toBe(1);
  });

  it('records calls from every caller that makes them, through one shared SDK base class', () => {
    const clients = ['client-dynamodb', 'client-s3', 'client-sqs', 'client-sagemaker-runtime'].map((c) => require.resolve('@smithy/core/client', { paths: [require.resolve(`@aws-sdk/${c}`)] }));
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
      ]),
    );
    const keys = requests().map(({ req }) => `${req.caller} ${req.action} ${req.resource}`);
    expect(keys).toEqual(expect.arrayContaining([expect.stringMatching(/^predict s3:PutObject bucket\/predictions\//), expect.stringMatching(/^predict s3:GetObject bucket\/predictions\//), expect.stringMatching(/^predict s3:GetObject bucket\/datasets\//), expect.stringMatching(/^container s3:GetObject bucket\/models\/.*model\.tar\.gz$/)]));
  });

  it.each(['fargate', 'sagemaker', 'sagemaker-serverless'])('%s: every recorded call is granted to the role of the code that makes it', (backend) => {
    const s = backends.find((b) => b.backend === backend)!;
    const roles = roleStatements(s);
    const denied = forBackend(backend)
      .filter((r) => !roles[r.caller].some((st) => allows(st, r)))
      .map((r) => `${r.caller}: ${r.action} on ${r.resource} ${JSON.stringify(r.context)} (${r.call})`);
    expect([...new Set(denied)]).toEqual([]);
  });

  it.each(['fargate', 'sagemaker', 'sagemaker-serverless'])('%s: every granted action is used by a recorded call or by AWS itself', (backend) => {
    const s = backends.find((b) => b.backend === backend)!;
    const roles = roleStatements(s);
    const reqs = forBackend(backend);
    const unused: string[] = [];
    for (const [caller, statements] of Object.entries(roles) as [Caller, Statement[]][]) {
      for (const st of statements) {
        for (const action of st.actions) {
          const used = reqs.some((r) => r.caller === caller && allows({ ...st, actions: [action] }, r));
          const byAws = USED_BY_AWS.all[action] ?? USED_BY_AWS[caller]?.[action];
          if (!used && byAws === undefined) unused.push(`${caller}: ${action} on ${st.resources.join(', ')}`);
        }
      }
    }
    expect(unused).toEqual([]);
  });
});
