/**
 * The retraining loop on AWS: a Step Functions state machine that takes one run at a time through
 * snapshot → training job → evaluation → registry, the same steps `mlship train` takes on a laptop.
 *
 * - Snapshot: opt-in, an Athena UNLOAD of the labeled predictions (the query `mlship train` runs with
 *   DuckDB); then a Processing job running the mlship image's `snapshot` command writes the
 *   content-addressed snapshot and the run's pointer (hash, next version).
 * - Train: a SageMaker training job (`createTrainingJob.sync`) in script mode, AWS's scikit-learn image of
 *   the region unless the config names another; its role reads only the model's snapshots and the code,
 *   and writes only the model's training output prefix.
 * - Evaluate and register: a Processing job running the mlship image's `evaluate` command (the model
 *   server's loader, the monitor's metrics, the hand-over policy); it records the decision and registers
 *   an accepted version under `models/<name>/<version>/`.
 * - Hand over: an accepted version becomes the challenger in shadow through the hand-over function (one
 *   conditional write of the routing item; the model server loads the version from the registry).
 * - A refused candidate, a version that could not be handed over or a failed run is published to the alarm topic.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArnFormat, Aws, CfnMapping, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import * as tar from 'tar';
import { labeledPredictionsSql } from '../../contract/analytics-queries';
import { DECISION_FILE, datasetPrefix, modelPrefix, PREFIX, trainingOutputPrefix, trainingSnapshotPrefix } from '../../contract/bucket';
import type { ModelManifest } from '../../contract/manifest';
import { handOverPolicy } from '../../contract/training';
import type { MlshipConfig } from '../config';
import { acknowledgeWildcardResource } from '../constructs/nag';
import { grantTopicKeyToPublisher } from '../constructs/topic-grants';
import { SKLEARN_IMAGE_VERSION, SKLEARN_REPOSITORY, SKLEARN_TRAINING_ACCOUNTS } from './sklearn-images';

type TrainingConfig = NonNullable<MlshipConfig['training']>;

/** The files of a model folder a training job runs: train.py, its helpers and requirements.txt. */
const CODE_FILES = ['train.py', 'requirements.txt', 'export_tools.py', 'script_mode.py'] as const;
/** Where a Processing job finds its inputs. */
const PROCESSING_INPUT = '/opt/ml/processing/input';
/** SageMaker's managed rules for `.sync` jobs, which the state machine's role creates and reads. */
const SYNC_RULES = ['StepFunctionsGetEventsForSageMakerTrainingJobsRule', 'StepFunctionsGetEventsForSageMakerProcessingJobsRule'];

export interface RetrainingLoopProps {
  /** The data bucket (datasets, snapshots, outputs, registry). */
  readonly bucket: s3.IBucket;
  /** The champion's manifest: its name scopes every grant. */
  readonly manifest: ModelManifest;
  /** The model folder: train.py (and the helpers beside it or in its parent folder). */
  readonly modelDir: string;
  /** Where the code archive is staged before it becomes an asset. */
  readonly buildDir: string;
  /** Key of the champion's package in the bucket (`models/<name>/<version>/<digest>/model.tar.gz`). */
  readonly championPackageKey: string;
  /** The mlship image (the model server's), which runs `snapshot` and `evaluate`. */
  readonly mlshipImageUri: string;
  /** Grants pulling the mlship image. */
  readonly grantImagePull: (grantee: iam.IGrantable) => void;
  /** Refusals and failures are published here. */
  readonly alarmTopic: sns.ITopic;
  /** Alarms that start a run when `onAlarm` is set (drift, accuracy or error). @default - none */
  readonly triggerAlarms?: readonly cloudwatch.IAlarm[];
  /** The analytics workgroup and the grant to query it, for `withFeedback`. @default - no labeled predictions */
  readonly athena?: { readonly workgroup: string; readonly database: string; readonly grantQuery: (grantee: iam.IGrantable) => void };
  readonly training: TrainingConfig;
  /** Days CloudWatch keeps the state machine's log. */
  readonly logRetention: logs.RetentionDays;
  /**
   * The hand-over step (lambda/hand-over.ts): invoked with an accepted version, it writes the routing
   * state that puts the version in the shadow, without a deploy. @default - an accepted version is registered only
   */
  readonly handOver?: lambda.IFunction;
}

/** Escapes text for a `States.Format` template (quotes, braces and backslashes are its syntax). */
function formatLiteral(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\{/g, '\\{').replace(/\}/g, '\\}');
}

export class RetrainingLoop extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** The training job's role: reads the model's snapshots and its code, writes its training output. */
  public readonly trainingRole: iam.Role;
  /** The Processing jobs' role (snapshot and evaluate). */
  public readonly processingRole: iam.Role;
  /** The training image the jobs run. */
  public readonly trainingImage: string;

  constructor(scope: Construct, id: string, props: RetrainingLoopProps) {
    super(scope, id);
    const { bucket, manifest, training } = props;
    const model = manifest.name;
    // Fails the synth with the policy's own message when an override is wrong.
    const policy = handOverPolicy(training.policy);
    if (training.onAlarm && (props.triggerAlarms ?? []).length === 0)
      throw new Error('training.onAlarm needs alarms to listen to: the model has no drift, accuracy or error alarm.');
    if (training.withFeedback && props.athena === undefined)
      throw new Error('training.withFeedback needs the Analytics stack (analytics: true).');
    if ('model-version' in training.hyperparameters) throw new Error('training.hyperparameters: model-version is set by each run.');

    // The code: train.py and its helpers as the `sagemaker_submit_directory` archive (a tar.gz, as script mode wants).
    const staging = join(props.buildDir, 'training-code', model);
    mkdirSync(staging, { recursive: true });
    const files = CODE_FILES.flatMap((f) => {
      for (const dir of [props.modelDir, join(props.modelDir, '..')]) {
        try {
          return [{ name: f, text: readFileSync(join(dir, f)) }];
        } catch {
          // not in this folder
        }
      }
      return [];
    });
    if (!files.some((f) => f.name === 'train.py')) throw new Error(`${props.modelDir} has no train.py: the retraining loop runs it.`);
    const codeDir = join(staging, 'code');
    mkdirSync(codeDir, { recursive: true });
    for (const f of files) writeFileSync(join(codeDir, f.name), f.text);
    const archive = join(staging, 'sourcedir.tar.gz');
    tar.create(
      { file: archive, cwd: codeDir, gzip: true, portable: true, mtime: new Date('2000-01-01T00:00:00Z'), sync: true },
      files.map((f) => f.name).sort(),
    );
    const code = new Asset(this, 'Code', { path: archive });
    const trainPySha256 = createHash('sha256')
      .update(files.find((f) => f.name === 'train.py')?.text ?? '')
      .digest('hex');

    if (training.image === undefined) {
      const accounts = new CfnMapping(this, 'SklearnImageAccount', {
        mapping: Object.fromEntries(Object.entries(SKLEARN_TRAINING_ACCOUNTS).map(([r, account]) => [r, { account }])),
      });
      this.trainingImage = `${accounts.findInMap(Aws.REGION, 'account')}.dkr.ecr.${Aws.REGION}.${Aws.URL_SUFFIX}/${SKLEARN_REPOSITORY}:${SKLEARN_IMAGE_VERSION}-cpu-py3`;
    } else this.trainingImage = training.image;

    const objects = (prefix: string) => bucket.arnForObjects(`${prefix}*`);
    const snapshots = trainingSnapshotPrefix(model, '0'.repeat(64)).replace(/[0]{64}\/$/, '');
    const output = trainingOutputPrefix(model);
    const runs = `${PREFIX.trainingRuns}${model}/`;

    // The training job: the snapshot and the code in, the model out, nothing else.
    this.trainingRole = new iam.Role(this, 'TrainingRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `SageMaker training jobs of ${model}: read its snapshots and code, write its training output`,
    });
    this.trainingRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects(snapshots)] }));
    this.trainingRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${snapshots}*`] } },
      }),
    );
    this.trainingRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects(output)] }));
    // The code archive itself, not the asset bucket.
    this.trainingRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [code.bucket.arnForObjects(code.s3ObjectKey)] }),
    );
    this.grantLogs(this.trainingRole, 'TrainingJobs');
    this.grantTrainingImage(this.trainingRole, training.image === undefined);

    // The Processing jobs: the mlship image reading the dataset, the store's unload and the outputs, writing snapshots, runs and the registry.
    this.processingRole = new iam.Role(this, 'ProcessingRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `SageMaker Processing jobs (snapshot, evaluate) of ${model}`,
    });
    this.processingRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [objects(datasetPrefix(model)), objects(modelPrefix(model)), objects(output), objects(runs), objects(snapshots)],
      }),
    );
    this.processingRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects(snapshots), objects(runs), objects(modelPrefix(model))] }),
    );
    this.processingRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [modelPrefix(model), `${runs}*`, `${snapshots}*`] } },
      }),
    );
    this.grantLogs(this.processingRole, 'ProcessingJobs');
    props.grantImagePull(this.processingRole);

    const run = sfn.JsonPath.executionName;
    const runPrefix = `${runs}{}/`;
    const key = (file: string) => sfn.JsonPath.format(`${runPrefix}${file}`, run);
    const championUri = `s3://${bucket.bucketName}/${props.championPackageKey}`;

    const oneAtATime = new tasks.CallAwsService(this, 'Count running executions', {
      service: 'sfn',
      action: 'listExecutions',
      parameters: { StateMachineArn: sfn.JsonPath.stringAt('$$.StateMachine.Id'), StatusFilter: 'RUNNING', MaxResults: 2 },
      iamResources: [
        Stack.of(this).formatArn({ service: 'states', resource: 'stateMachine', resourceName: `${Stack.of(this).stackName}-Training*` }),
      ],
      resultSelector: { count: sfn.JsonPath.arrayLength(sfn.JsonPath.listAt('$.Executions')) },
      resultPath: '$.running',
    });
    const busy = new sfn.Fail(this, 'Another run is under way', {
      error: 'TrainingBusy',
      cause: 'One training run at a time per model: another execution of this state machine is running.',
    });

    const processingJob = (name: string, args: string[], inputs: { name: string; uri: string }[]) =>
      new sfn.CustomState(this, name, {
        stateJson: {
          Type: 'Task',
          Resource: `arn:${Aws.PARTITION}:states:::sagemaker:createProcessingJob.sync`,
          Parameters: {
            'ProcessingJobName.$': `States.Format('${formatLiteral(`${model.slice(0, 20)}-${name.split(' ')[0]?.toLowerCase()}`)}-{}', $$.Execution.Name)`,
            RoleArn: this.processingRole.roleArn,
            AppSpecification: { ImageUri: props.mlshipImageUri, 'ContainerArguments.$': `States.Array(${args.join(', ')})` },
            ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.t3.medium', VolumeSizeInGB: 10 } },
            ProcessingInputs: inputs.map((i) => ({
              InputName: i.name,
              S3Input: {
                [i.uri.startsWith('$') ? 'S3Uri.$' : 'S3Uri']: i.uri,
                LocalPath: `${PROCESSING_INPUT}/${i.name}`,
                S3DataType: 'S3Prefix',
                S3InputMode: 'File',
              },
            })),
            StoppingCondition: { MaxRuntimeInSeconds: 3600 },
          },
          ResultPath: null,
        },
      });
    const lit = (s: string) => `'${formatLiteral(s)}'`;
    const runArg = '$$.Execution.Name';

    let labeled: sfn.CustomState | undefined;
    const snapshotArgs = [
      lit('snapshot'),
      lit('--bucket'),
      `'${bucket.bucketName}'`,
      lit('--champion'),
      lit(`${PROCESSING_INPUT}/champion`),
      lit('--run'),
      runArg,
    ];
    if (training.withFeedback && props.athena) {
      // Athena takes no parameters in an UNLOAD: the window's first day is computed by the query itself.
      const since = `date_format(date_add('day', -${training.sinceDays}, current_date), '%Y-%m-%d')`;
      const sql = labeledPredictionsSql(manifest).replace(/\?/g, since);
      // A custom state, not the L2 task: its default grants reach every bucket; the role gets the workgroup's query grant instead.
      const unload = new sfn.CustomState(this, 'Unload labeled predictions', {
        stateJson: {
          Type: 'Task',
          Resource: `arn:${Aws.PARTITION}:states:::athena:startQueryExecution.sync`,
          Parameters: {
            'QueryString.$': `States.Format('UNLOAD (${formatLiteral(sql)}) TO \\'s3://${bucket.bucketName}/${runPrefix}labeled/\\' WITH (format = \\'TEXTFILE\\', field_delimiter = \\',\\')', $$.Execution.Name)`,
            WorkGroup: props.athena.workgroup,
            QueryExecutionContext: { Database: props.athena.database },
          },
          ResultPath: null,
        },
      });
      labeled = unload;
      snapshotArgs.push(lit('--labeled-prefix'), `States.Format('${formatLiteral(runPrefix)}labeled/', $$.Execution.Name)`);
    }
    const snapshot = processingJob('Snapshot', snapshotArgs, [{ name: 'champion', uri: championUri }]);
    const readSnapshot = new tasks.CallAwsService(this, 'Read the snapshot pointer', {
      service: 's3',
      action: 'getObject',
      parameters: { Bucket: bucket.bucketName, Key: key('snapshot.json') },
      iamResources: [objects(runs)],
      resultSelector: { 'pointer.$': 'States.StringToJson($.Body)' },
      resultPath: '$.snapshot',
    });

    const channel = (name: 'train' | 'validation') => ({
      ChannelName: name,
      DataSource: {
        S3DataSource: {
          S3DataType: 'S3Prefix',
          'S3Uri.$': `States.Format('s3://${bucket.bucketName}/${snapshots}{}/${name}/', $.snapshot.pointer.sha256)`,
          S3DataDistributionType: 'FullyReplicated',
        },
      },
      ContentType: 'text/csv',
    });
    const trainJob = new sfn.CustomState(this, 'Train', {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync`,
        Parameters: {
          'TrainingJobName.$': `States.Format('${formatLiteral(model.slice(0, 20))}-{}', $$.Execution.Name)`,
          RoleArn: this.trainingRole.roleArn,
          AlgorithmSpecification: { TrainingImage: this.trainingImage, TrainingInputMode: 'File' },
          HyperParameters: {
            ...training.hyperparameters,
            'model-version.$': '$.snapshot.pointer.version',
            sagemaker_program: 'train.py',
            sagemaker_submit_directory: code.s3ObjectUrl,
          },
          InputDataConfig: [channel('train'), channel('validation')],
          OutputDataConfig: { S3OutputPath: `s3://${bucket.bucketName}/${output}` },
          ResourceConfig: { InstanceType: training.instanceType, InstanceCount: 1, VolumeSizeInGB: 10 },
          StoppingCondition: {
            MaxRuntimeInSeconds: training.maxRuntimeSeconds,
            ...(training.spot ? { MaxWaitTimeInSeconds: training.maxRuntimeSeconds * 2 } : {}),
          },
          EnableManagedSpotTraining: training.spot,
        },
        ResultSelector: { 'artifacts.$': '$.ModelArtifacts.S3ModelArtifacts' },
        ResultPath: '$.training',
      },
    });
    const provenance = JSON.stringify({
      code: { trainPySha256 },
      parameters: training.hyperparameters,
      libraries: { image: training.image ?? `${SKLEARN_REPOSITORY}:${SKLEARN_IMAGE_VERSION}-cpu-py3` },
    });
    const evaluate = processingJob(
      'Evaluate and register',
      [
        lit('evaluate'),
        lit('--bucket'),
        `'${bucket.bucketName}'`,
        lit('--candidate'),
        lit(`${PROCESSING_INPUT}/candidate`),
        lit('--champion'),
        lit(`${PROCESSING_INPUT}/champion`),
        lit('--run'),
        runArg,
        lit('--policy'),
        lit(JSON.stringify(policy)),
        lit('--provenance'),
        lit(provenance),
      ],
      [
        { name: 'champion', uri: championUri },
        { name: 'candidate', uri: '$.training.artifacts' },
      ],
    );
    const readDecision = new tasks.CallAwsService(this, 'Read the decision', {
      service: 's3',
      action: 'getObject',
      parameters: { Bucket: bucket.bucketName, Key: key(DECISION_FILE) },
      iamResources: [objects(runs)],
      resultSelector: { 'decision.$': 'States.StringToJson($.Body)' },
      resultPath: '$.decision',
    });
    const refused = new tasks.SnsPublish(this, 'Publish the refusal', {
      topic: props.alarmTopic,
      subject: `mlship: retrained ${model} kept out by the policy`,
      message: sfn.TaskInput.fromJsonPathAt('$.decision.decision.verdict'),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const failed = new tasks.SnsPublish(this, 'Publish the failure', {
      topic: props.alarmTopic,
      subject: `mlship: retraining ${model} failed`,
      message: sfn.TaskInput.fromJsonPathAt('$.error'),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const registered = props.handOver ? this.handOverStep(props.handOver, props.alarmTopic, model) : new sfn.Succeed(this, 'Registered');
    const ended = new sfn.Succeed(this, 'Ended with the reason');
    const failure = new sfn.Fail(this, 'Run failed', {
      error: 'TrainingFailed',
      cause: 'A step of the run failed; see the execution history.',
    });
    failed.next(failure);
    if (props.handOver) (registered as sfn.TaskStateBase).addCatch(failed, { resultPath: '$.error' });

    const work = sfn.Chain.start(snapshot).next(readSnapshot).next(trainJob).next(evaluate).next(readDecision);
    for (const s of [snapshot, trainJob, evaluate]) s.addCatch(failed, { resultPath: '$.error' });
    for (const s of [readSnapshot, readDecision]) s.addCatch(failed, { resultPath: '$.error' });
    labeled?.addCatch(failed, { resultPath: '$.error' });
    const start = labeled ? labeled.next(work) : work;
    const definition = oneAtATime.next(
      new sfn.Choice(this, 'One run at a time?')
        .when(sfn.Condition.numberGreaterThan('$.running.count', 1), busy)
        .otherwise(
          start.next(
            new sfn.Choice(this, 'Accepted?')
              .when(sfn.Condition.booleanEquals('$.decision.decision.verdict.handOver', true), registered)
              .otherwise(refused.next(ended)),
          ),
        ),
    );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `${Stack.of(this).stackName}-Training`,
      comment: `Retraining of ${model}: snapshot, training job, evaluation, registry`,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'Log', { retention: props.logRetention }),
        // A run has a few dozen events: logging them all costs next to nothing and shows where a run stopped.
        level: sfn.LogLevel.ALL,
      },
      timeout: Duration.seconds(training.maxRuntimeSeconds * (training.spot ? 2 : 1) + 3 * 3600),
    });
    const role = this.stateMachine.role;
    const jobs = (kind: string) =>
      Stack.of(this).formatArn({ service: 'sagemaker', resource: kind, resourceName: `${model.slice(0, 20)}-*` });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:StopTrainingJob', 'sagemaker:AddTags'],
        resources: [jobs('training-job')],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:CreateProcessingJob', 'sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob', 'sagemaker:AddTags'],
        resources: [jobs('processing-job')],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: SYNC_RULES.map((r) => Stack.of(this).formatArn({ service: 'events', resource: 'rule', resourceName: r })),
      }),
    );
    // The publish steps' Publish is granted by their tasks; the alarm topic's key is not, and without it
    // SNS refuses the message (KMS access denied).
    grantTopicKeyToPublisher(role, props.alarmTopic);
    // The jobs' roles, and only those, to SageMaker only.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.trainingRole.roleArn, this.processingRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
    );
    if (training.withFeedback && props.athena) {
      props.athena.grantQuery(role);
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [objects(runs)] }),
      );
    }

    // Triggers: the schedule, and (opt-in) the quality alarms going into ALARM.
    if (training.schedule !== undefined) {
      new events.Rule(this, 'Schedule', {
        description: `Retrains ${model} on its schedule`,
        schedule: events.Schedule.expression(training.schedule),
        targets: [new targets.SfnStateMachine(this.stateMachine)],
      });
    }
    if (training.onAlarm) {
      new events.Rule(this, 'OnAlarm', {
        description: `Retrains ${model} when a quality alarm goes into ALARM`,
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: (props.triggerAlarms ?? []).map((a) => a.alarmArn),
          detail: { state: { value: ['ALARM'] } },
        },
        targets: [new targets.SfnStateMachine(this.stateMachine)],
      });
    }

    this.acknowledge(props, { snapshots, output, runs });
  }

  /**
   * The last step of an accepted run: the hand-over function writes the routing state (the registered
   * version as the challenger in shadow); a hand-over it declines (a split under way) is published with its reason.
   */
  private handOverStep(fn: lambda.IFunction, topic: sns.ITopic, model: string): tasks.LambdaInvoke {
    const step = new tasks.LambdaInvoke(this, 'Hand over in shadow', {
      lambdaFunction: fn,
      payload: sfn.TaskInput.fromObject({ version: sfn.JsonPath.stringAt('$.decision.decision.version') }),
      resultSelector: { 'result.$': '$.Payload' },
      resultPath: '$.handOver',
    });
    acknowledgeWildcardResource(
      this,
      `${fn.functionArn}:*`,
      "Step Functions' Lambda task grants the hand-over function and its versions; it invokes that one function only.",
    );
    const declined = new tasks.SnsPublish(this, 'Publish why it was not handed over', {
      topic,
      subject: `mlship: retrained ${model} registered, not handed over`,
      message: sfn.TaskInput.fromJsonPathAt('$.handOver.result.reason'),
      resultPath: sfn.JsonPath.DISCARD,
    });
    step.next(
      new sfn.Choice(this, 'In the shadow?')
        .when(sfn.Condition.booleanEquals('$.handOver.result.handedOver', true), new sfn.Succeed(this, 'Registered and in the shadow'))
        .otherwise(declined.next(new sfn.Succeed(this, 'Registered, not handed over'))),
    );
    return step;
  }

  private grantLogs(role: iam.Role, kind: 'TrainingJobs' | 'ProcessingJobs'): void {
    const group = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `/aws/sagemaker/${kind}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], resources: [group] }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      }),
    );
  }

  private grantTrainingImage(role: iam.Role, awsImage: boolean): void {
    const repository = awsImage
      ? `arn:${Aws.PARTITION}:ecr:${Aws.REGION}:*:repository/${SKLEARN_REPOSITORY}`
      : (() => {
          const uri = this.trainingImage;
          const [host, path] = [uri.slice(0, uri.indexOf('/')), uri.slice(uri.indexOf('/') + 1).split(/[:@]/)[0]];
          const [account, , , imageRegion] = host.split('.');
          return `arn:${Aws.PARTITION}:ecr:${imageRegion}:${account}:repository/${path}`;
        })();
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
        resources: [repository],
      }),
    );
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
  }

  /** Each wildcard finding with what it is: every one ends a prefix or a name of this model's. */
  private acknowledge(props: RetrainingLoopProps, prefixes: { snapshots: string; output: string; runs: string }): void {
    const stack = Stack.of(this);
    const model = props.manifest.name;
    const job = model.slice(0, 20);
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Action::ecr:GetAuthorizationToken]',
        reason: 'ECR grants GetAuthorizationToken on * only; pulls are limited to the named repositories.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'cloudwatch:PutMetricData has no resource-level permissions; the grant is limited to /aws/sagemaker/ by condition.',
      },
    );
    const objects = (prefix: string) => props.bucket.arnForObjects(`${prefix}*`);
    const arn = (service: string, resource: string, resourceName: string, arnFormat = ArnFormat.SLASH_RESOURCE_NAME) =>
      stack.formatArn({ service, resource, resourceName, arnFormat });
    const found: [string, string][] = [
      [
        `arn:${Aws.PARTITION}:ecr:${Aws.REGION}:*:repository/${SKLEARN_REPOSITORY}`,
        "AWS's scikit-learn images live in a registry account per region (a mapping); the grant names the repository only.",
      ],
      [objects(prefixes.snapshots), 'Snapshots are named by their content hash, known only when a run writes one; only this model’s.'],
      [objects(prefixes.output), 'Training jobs write under a folder named by the job; only this model’s output prefix.'],
      [objects(prefixes.runs), 'Each run keeps its pointer, unload and decision under a folder named by the run; only this model’s.'],
      [objects(modelPrefix(model)), 'The evaluation reads the champion package and registers versions under this model’s prefix only.'],
      [objects(datasetPrefix(model)), 'The snapshot reads this model’s training dataset only.'],
      [
        arn('logs', 'log-group', '/aws/sagemaker/TrainingJobs:*', ArnFormat.COLON_RESOURCE_NAME),
        'SageMaker writes one log stream per training job in this group.',
      ],
      [
        arn('logs', 'log-group', '/aws/sagemaker/ProcessingJobs:*', ArnFormat.COLON_RESOURCE_NAME),
        'SageMaker writes one log stream per Processing job in this group.',
      ],
      [arn('sagemaker', 'training-job', `${job}-*`), 'Training jobs are named <model>-<run>; only this model’s.'],
      [arn('sagemaker', 'processing-job', `${job}-*`), 'Processing jobs are named <model>-<step>-<run>; only this model’s.'],
      [
        arn('states', 'stateMachine', `${stack.stackName}-Training*`),
        'The state machine counts its own running executions (one run at a time).',
      ],
    ];
    for (const [resource, reason] of found) acknowledgeWildcardResource(this, resource, reason);
  }
}
