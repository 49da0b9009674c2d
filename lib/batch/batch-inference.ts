/**
 * Batch inference on datasets with AWS's own engines: a Step Functions state machine that runs a
 * SageMaker Batch Transform job on the deployed model (sagemaker backends) or a Fargate task of the
 * model image's batch mode (fargate backend). An object landing under `batch/input/` starts a run
 * (EventBridge), and so does `mlship batch --input s3://… --stack NAME`; results go to
 * `batch/output/<execution name>/<input file name>.out`. A failed run is alarmed on by ModelMonitoring
 * (`watchedFailures.batchRuns`), whose stack holds the alarm topic.
 */
import { Annotations, CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { BATCH_STACK_OUTPUTS } from '../../contract/batch';
import { PREFIX } from '../../contract/bucket';
import { ENV } from '../../contract/env';
import type { Backend } from '../../contract/limits';
import { InlinePolicyGrantee } from '../constructs/inline-policy-grantee';
import type { ModelIdentity } from '../serving/model-backend';
import { BatchJobGrants, TRANSFORM_JOB_PREFIX } from './batch-grants';
import { acknowledgeIamWildcards } from './batch-nag';

/** The deployed SageMaker model a Batch Transform job runs. */
export interface SageMakerBatchModel {
  /** Name of the `AWS::SageMaker::Model` (its `attrModelName`). */
  readonly modelName: string;
  /** The model's execution role: Batch Transform reads the input and writes the output with it. */
  readonly modelRole: iam.IRole;
  /**
   * Instance type of the transform job. Batch Transform always runs on instances, also for a model
   * served by a serverless endpoint.
   * @see https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html
   */
  readonly instanceType: string;
  /** @default 1 */
  readonly instanceCount?: number;
}

/** Where and how the Fargate batch task runs the model image's `batch` command. */
export interface FargateBatchTask {
  /** The ECS cluster the task runs in (the model service's). */
  readonly cluster: ecs.ICluster;
  /** The model server image (the same image serves and scores datasets). */
  readonly image: ecs.ContainerImage;
  /** The served model (from its manifest): the task may read every package under `models/<name>/`. */
  readonly model: ModelIdentity;
  /** Key of the package the task loads at start (ModelPackage.key). */
  readonly modelKey: string;
  /** Private subnets with a route to S3 (a gateway endpoint or NAT). */
  readonly subnets: ec2.SubnetSelection;
  /** Security groups of the task (egress to S3 and ECR; no inbound traffic). */
  readonly securityGroups: ec2.ISecurityGroup[];
  /** @default 1024 (one vCPU) */
  readonly cpu?: number;
  /** @default 2048 */
  readonly memoryMiB?: number;
}

export interface BatchInferenceProps {
  /** The serving backend: `fargate` runs an ECS task, the SageMaker backends a Batch Transform job. */
  readonly backend: Backend;
  /** The data bucket; it must send events to EventBridge (`eventBridgeEnabled: true`). */
  readonly bucket: s3.IBucket;
  /** The deployed SageMaker model. Required for the `sagemaker` and `sagemaker-serverless` backends. @default - none (fargate backend) */
  readonly sagemaker?: SageMakerBatchModel;
  /** Where the batch task runs. Required for the `fargate` backend. @default - none (SageMaker backends) */
  readonly fargate?: FargateBatchTask;
  /** Retention of the state machine's and the task's log groups. */
  readonly logRetention: logs.RetentionDays;
  /** Longest a run may take before it counts as failed. @default Duration.hours(12) */
  readonly timeout?: Duration;
  /**
   * Adds the stack outputs `mlship batch --stack` reads (fixed logical ids, so one per stack).
   * @default true
   */
  readonly stackOutputs?: boolean;
}

/** The checks of the props, all problems in one error. */
function checkProps(p: BatchInferenceProps): string[] {
  const problems: string[] = [];
  if (p.backend === 'fargate') {
    if (!p.fargate) problems.push('The fargate backend needs `fargate` (cluster, image, model, subnets, securityGroups).');
    if (p.sagemaker) problems.push('Specify `fargate` for the fargate backend, not `sagemaker`.');
  } else {
    if (!p.sagemaker) problems.push(`The ${p.backend} backend needs \`sagemaker\` (modelName, modelRole, instanceType).`);
    if (p.fargate) problems.push(`Specify \`sagemaker\` for the ${p.backend} backend, not \`fargate\`.`);
    if (p.sagemaker && !/^ml\.[a-z0-9]+\.[a-z0-9]+$/.test(p.sagemaker.instanceType)) {
      problems.push(`sagemaker.instanceType must look like ml.m5.large, got "${p.sagemaker.instanceType}".`);
    }
    const n = p.sagemaker?.instanceCount;
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 100))
      problems.push(`sagemaker.instanceCount must be an integer from 1 to 100, got ${n}.`);
  }
  return problems;
}

export class BatchInference extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;
  /** The rule that starts a run for each object created under `batch/input/`. */
  public readonly trigger: events.Rule;
  /** Fargate backend: the task definition running `batch`. */
  public readonly taskDefinition?: ecs.FargateTaskDefinition;

  constructor(scope: Construct, id: string, props: BatchInferenceProps) {
    super(scope, id);
    const problems = checkProps(props);
    if (problems.length) throw new Error(`BatchInference ${this.node.path}:\n  - ${problems.join('\n  - ')}`);

    // The bucket comes from the stack, never from the event: a run cannot be pointed at another bucket.
    const describe = new sfn.Pass(this, 'Describe the run', {
      parameters: { bucket: props.bucket.bucketName, 'key.$': '$.detail.object.key' },
      resultPath: '$.run',
    });
    const locate = new sfn.Pass(this, 'Locate input and output', {
      parameters: {
        'bucket.$': '$.run.bucket',
        'key.$': '$.run.key',
        inputUri: sfn.JsonPath.format('s3://{}/{}', sfn.JsonPath.stringAt('$.run.bucket'), sfn.JsonPath.stringAt('$.run.key')),
        outputPath: sfn.JsonPath.format(
          `s3://{}/${PREFIX.batchOutput}{}/`,
          sfn.JsonPath.stringAt('$.run.bucket'),
          sfn.JsonPath.executionName,
        ),
      },
      resultPath: '$.run',
    });
    const outsidePrefix = new sfn.Fail(this, 'Key outside the input prefix', {
      error: 'InputOutsidePrefix',
      cause: `Batch runs read objects under ${PREFIX.batchInput} only.`,
    });

    let run: sfn.IChainable;
    if (props.sagemaker) {
      run = this.transformJob(props, props.sagemaker);
    } else {
      const built = this.fargateRun(props, props.fargate as FargateBatchTask);
      this.taskDefinition = built.taskDefinition;
      run = built.run;
    }

    const definition = describe.next(
      new sfn.Choice(this, 'Is the key under the input prefix?')
        .when(sfn.Condition.stringMatches('$.run.key', `${PREFIX.batchInput}*`), locate.next(run))
        .otherwise(outsidePrefix),
    );

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: props.timeout ?? Duration.hours(12),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      comment: `Batch inference (${props.backend}) on objects under ${PREFIX.batchInput}`,
    });

    this.trigger = new events.Rule(this, 'OnInputObject', {
      description: `Starts a batch run for each object created under ${PREFIX.batchInput}`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [props.bucket.bucketName] }, object: { key: [{ prefix: PREFIX.batchInput }] } },
      },
      targets: [new targets.SfnStateMachine(this.stateMachine)],
    });
    Annotations.of(this).addInfo(
      `The bucket must send events to EventBridge (eventBridgeEnabled: true) for uploads under ${PREFIX.batchInput} to start runs.`,
    );

    if (props.stackOutputs ?? true) {
      new CfnOutput(this, 'StateMachineArn', {
        value: this.stateMachine.stateMachineArn,
        description: 'Batch inference state machine',
      }).overrideLogicalId(BATCH_STACK_OUTPUTS.stateMachineArn);
      new CfnOutput(this, 'BucketName', {
        value: props.bucket.bucketName,
        description: `Upload datasets under ${PREFIX.batchInput} here`,
      }).overrideLogicalId(BATCH_STACK_OUTPUTS.bucketName);
    }
    this.acknowledgeFindings(props);
  }

  /** Batch Transform: headerless CSV lines in, one `text/csv` answer line per input line out. */
  private transformJob(props: BatchInferenceProps, model: SageMakerBatchModel): sfn.IChainable {
    // The model role belongs to the endpoint construct: these rights live in policies of this construct.
    const grants = new BatchJobGrants(this, props.bucket);
    const data = new InlinePolicyGrantee(this, 'ModelRoleBatchData', model.modelRole);
    grants.grantReadInput(data);
    grants.grantWriteOutput(data);
    grants.grantListInput(data);
    grants.grantTransformJobLogs(new InlinePolicyGrantee(this, 'ModelRoleTransformLogs', model.modelRole));
    return new tasks.SageMakerCreateTransformJob(this, 'Transform', {
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      transformJobName: sfn.JsonPath.format(`${TRANSFORM_JOB_PREFIX}{}`, sfn.JsonPath.executionName),
      modelName: model.modelName,
      // The job runs with the model's own role; passing it stops the task from making a full-access one.
      role: model.modelRole,
      batchStrategy: tasks.BatchStrategy.MULTI_RECORD,
      transformInput: {
        transformDataSource: { s3DataSource: { s3Uri: sfn.JsonPath.stringAt('$.run.inputUri'), s3DataType: tasks.S3DataType.S3_PREFIX } },
        contentType: 'text/csv',
        splitType: tasks.SplitType.LINE,
      },
      transformOutput: {
        s3OutputPath: sfn.JsonPath.stringAt('$.run.outputPath'),
        accept: 'text/csv',
        assembleWith: tasks.AssembleWith.LINE,
      },
      transformResources: {
        instanceCount: model.instanceCount ?? 1,
        instanceType: new ec2.InstanceType(model.instanceType.replace(/^ml\./, '')),
      },
      resultSelector: { 'status.$': '$.TransformJobStatus', 'output.$': '$.TransformOutput.S3OutputPath' },
      resultPath: '$.result',
    });
  }

  /** Fargate: the model image's `batch` command, reading and writing S3 itself. */
  private fargateRun(props: BatchInferenceProps, f: FargateBatchTask): { run: sfn.IChainable; taskDefinition: ecs.FargateTaskDefinition } {
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: f.cpu ?? 1024,
      memoryLimitMiB: f.memoryMiB ?? 2048,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const container = taskDefinition.addContainer('batch', {
      image: f.image,
      environment: { [ENV.MODEL_S3_URI]: props.bucket.s3UrlForObject(f.modelKey), AWS_REGION: Stack.of(this).region },
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'batch',
        logGroup: new logs.LogGroup(this, 'TaskLogs', { retention: props.logRetention }),
      }),
    });
    const grants = new BatchJobGrants(this, props.bucket);
    const data = new InlinePolicyGrantee(this, 'TaskRoleBatchData', taskDefinition.taskRole);
    grants.grantReadInput(data);
    grants.grantReadModelPackages(data, f.model.name);
    grants.grantWriteOutput(data);

    const command = new sfn.Pass(this, 'Build the batch command', {
      parameters: {
        command: sfn.JsonPath.array(
          'batch',
          '--input',
          sfn.JsonPath.stringAt('$.run.inputUri'),
          '--output',
          sfn.JsonPath.stringAt('$.run.outputPath'),
        ),
      },
      resultPath: '$.task',
    });
    const run = new tasks.EcsRunTask(this, 'Run batch task', {
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      cluster: f.cluster,
      taskDefinition,
      launchTarget: new tasks.EcsFargateLaunchTarget({ platformVersion: ecs.FargatePlatformVersion.LATEST }),
      subnets: f.subnets,
      securityGroups: f.securityGroups,
      assignPublicIp: false,
      containerOverrides: [{ containerDefinition: container, command: sfn.JsonPath.listAt('$.task.command') }],
      resultSelector: { 'stoppedReason.$': '$.StoppedReason', 'exitCode.$': '$.Containers[0].ExitCode' },
      resultPath: '$.result',
    });
    return { run: command.next(run), taskDefinition };
  }

  /** cdk-nag findings this construct accepts, each with the reason. */
  private acknowledgeFindings(props: BatchInferenceProps): void {
    acknowledgeIamWildcards(
      this,
      this.taskDefinition && props.fargate ? { taskDefinition: this.taskDefinition, modelName: props.fargate.model.name } : undefined,
    );
    if (props.fargate) {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-ECS2',
        reason: 'The container environment holds only the model location and the region, no secrets.',
      });
    }
  }
}
