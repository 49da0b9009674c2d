/**
 * The base of every mlship function: Node 22 on arm64, bundled by the local esbuild (never Docker) with
 * the AWS SDK inside the bundle (we pin our own versions), source maps on, X-Ray active, its own log
 * group with the configured retention, and a role that starts with write access to that log group only.
 * It ends up with exactly the environment `functionEnv(name, backend)` lists: the `bind…()` methods set a
 * variable and grant its access together (Powertools' `bindTable()` idea), so no caller writes a policy
 * statement or sets a variable apart from its grant. It copies the files the function reads beside the
 * code: the model manifest, the drift baseline and the built dashboard.
 */

import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AssetHashType, DockerImage, Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BASELINE_FILE } from '../../contract/baseline';
import {
  type AuthorizerFunctionName,
  type DeploymentFunctionName,
  ENV,
  type EnvName,
  type FunctionName,
  functionEnv,
  type TrainingFunctionName,
} from '../../contract/env';
import { MANIFEST_FILE } from '../../contract/manifest';
import type { DeploymentContext } from '../deployment-context';
import type { ModelBackend } from '../serving/model-backend';
import {
  type DataBucketAccess,
  DataBucketGrants,
  type LogDlqAccess,
  LogDlqGrants,
  type PredictionLogAccess,
  PredictionLogGrants,
} from './data-grants';
import { grantActions } from './grant-actions';
import { type FileCopy, LAMBDA_HANDLER, LocalLambdaBundling } from './lambda-bundle';
import { VPC_ATTACHMENT_ACTIONS } from './perms';

/** The scheduled model-quality job (`lambda/quality.ts`): not behind the API, but built the same way. */
export const QUALITY_FUNCTION = 'quality';

/** Where the dashboard folder is copied inside the bundle (the value of MLSHIP_DASHBOARD_DIR). */
export const BUNDLED_DASHBOARD_DIR = 'dashboard';

export interface HandlerFunctionProps {
  /**
   * Which function: its code is `lambda/<name>.ts` and its environment is `functionEnv(name, backend)`.
   */
  readonly name: FunctionName | DeploymentFunctionName | AuthorizerFunctionName | TrainingFunctionName | typeof QUALITY_FUNCTION;
  /** Where the code and the model are, the backend, log retention and removal policy of the log group. */
  readonly deployment: DeploymentContext;
  /**
   * Absolute path of the model's `baseline.json`, copied into the bundle when the function reads
   * `MLSHIP_MODEL_BASELINE_PATH` and the file exists (the quality job requires it).
   * @default - `baseline.json` beside the manifest
   */
  readonly baselinePath?: string;
  /** Absolute folder of the built web dashboard, copied into the bundle for the function that serves it. @default - none */
  readonly dashboardDir?: string;
  /**
   * Values of environment variables that no `bind…()` method sets (the paths of the files this construct
   * copies, `MLSHIP_MODEL_MANIFEST_PATH`, `MLSHIP_MODEL_BASELINE_PATH` and `MLSHIP_DASHBOARD_DIR`, are set by
   * it). With the bindings, the function must end up with exactly the variables `functionEnv` lists, or
   * the synth fails naming the difference.
   * @default - none
   */
  readonly environment?: Partial<Record<EnvName, string>>;
  /** Memory of the function, in MiB. @default 512 */
  readonly memorySize?: number;
  /** @default - 10 seconds */
  readonly timeout?: Duration;
  /** Runs the function in this VPC's private subnets. @default - not in a VPC */
  readonly vpc?: ec2.IVpc;
  /** Security groups of the function in `vpc`. @default - a security group Lambda creates, when `vpc` is set */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Absolute paths of more files to copy beside the code (a golden set). @default - none */
  readonly bundledFiles?: string[];
}

export class HandlerFunction extends Construct implements iam.IGrantable {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  public readonly grantPrincipal: iam.IPrincipal;
  private readonly environment: Partial<Record<EnvName, string>>;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    const { deployment } = props;
    this.environment = { ...props.environment, ...fileVariables(wantedEnv(props)) };

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: deployment.logRetention, removalPolicy: deployment.removalPolicy });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `mlship ${props.name} function`,
    });
    this.grantPrincipal = this.role;
    this.logGroup.grantWrite(this.role);
    if (props.vpc) {
      // The permissions Lambda needs to attach the function to the VPC; EC2 offers no resource-level scope for them.
      grantActions(this.role, VPC_ATTACHMENT_ACTIONS, ['*']);
    }

    const copies = [...filesToCopy(props, this.environment), ...(props.bundledFiles ?? []).map((f) => ({ from: f, to: basename(f) }))];
    const entry = join(deployment.rootDir, 'lambda', `${props.name}.ts`);
    this.function = new lambda.Function(this, 'Function', {
      // Bundled at synth by the project's esbuild (lambda-bundle.ts); the asset hash is the bundle's own.
      code: lambda.Code.fromAsset(join(deployment.rootDir, 'lambda'), {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          local: new LocalLambdaBundling(entry, copies),
          // Required by the API, never used: local bundling always succeeds or fails the synth.
          image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
        },
      }),
      handler: LAMBDA_HANDLER,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      vpc: props.vpc,
      vpcSubnets: props.vpc ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } : undefined,
      securityGroups: props.securityGroups,
      environment: { NODE_OPTIONS: '--enable-source-maps' },
    });
    for (const [name, value] of Object.entries(this.environment)) this.function.addEnvironment(name, value);
    // The bindings add variables after construction: the check runs when the tree is validated.
    this.node.addValidation({ validate: () => environmentProblems(props, this.environment) });

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords and the VPC network-interface actions have no resource-level permissions.',
      },
      {
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 on purpose: the handlers, the model container and the tests all target Node 22; moving to a newer runtime is one change for all of them.',
      },
    );
  }

  /** Sets `MLSHIP_PREDICTION_TABLE` to the table's name and grants each access, in order (one statement each). */
  public bindPredictionLog(table: dynamodb.ITable, ...access: PredictionLogAccess[]): iam.Grant {
    this.setVariable(ENV.PREDICTION_TABLE, table.tableName);
    const grants = new PredictionLogGrants(table);
    return combine(
      this,
      access.map((a) => grants.grantAccess(this, a)),
    );
  }

  /** Sets `MLSHIP_LOG_DLQ_URL` to the queue's URL and grants the access. */
  public bindLogDlq(queue: sqs.IQueue, access: LogDlqAccess): iam.Grant {
    this.setVariable(ENV.LOG_DLQ_URL, queue.queueUrl);
    return new LogDlqGrants(queue).grantAccess(this, access);
  }

  /** Sets `MLSHIP_DATA_BUCKET` to the bucket's name and grants each access on its key prefixes, in order. */
  public bindDataBucket(bucket: s3.IBucket, ...access: DataBucketAccess[]): iam.Grant {
    this.setVariable(ENV.DATA_BUCKET, bucket.bucketName);
    const grants = new DataBucketGrants(bucket);
    return combine(
      this,
      access.map((a) => grants.grantAccess(this, a)),
    );
  }

  /**
   * Sets the variables that reach the model (`MLSHIP_MODEL_URL` or `MLSHIP_SAGEMAKER_ENDPOINT`) and lets the
   * function call it. The function must already run where the model is reached (`vpc`, `securityGroups`).
   */
  public bindModel(model: ModelBackend): iam.Grant {
    for (const [name, value] of Object.entries(model.clientEnvironment)) if (value !== undefined) this.setVariable(name as EnvName, value);
    return model.grantInvoke(this);
  }

  /** Sets one environment variable; it must be one the function reads (checked at synth). */
  public setVariable(name: EnvName, value: string): void {
    if (this.environment[name] !== undefined && this.environment[name] !== value) {
      throw new Error(`Function ${this.node.path}: ${name} is set twice, to different values.`);
    }
    this.environment[name] = value;
    this.function.addEnvironment(name, value);
  }
}

/** Several grants of one grantee as one Grant. */
function combine(grantee: iam.IGrantable, grants: iam.Grant[]): iam.Grant {
  return grants.reduce((all, g) => all.combine(g), iam.Grant.drop(grantee, 'no access'));
}

/** The variables a function reads. */
function wantedEnv(props: HandlerFunctionProps): readonly EnvName[] {
  return functionEnv(props.name, props.deployment.backend);
}

/** Files the function reads, copied beside its code (their variables hold paths relative to the bundle). */
function filesToCopy(props: HandlerFunctionProps, environment: Partial<Record<EnvName, string>>): FileCopy[] {
  const copies: FileCopy[] = [];
  if (ENV.MODEL_MANIFEST_PATH in environment) copies.push({ from: props.deployment.manifestPath, to: MANIFEST_FILE });
  if (ENV.MODEL_BASELINE_PATH in environment) {
    const baseline = props.baselinePath ?? join(dirname(props.deployment.manifestPath), BASELINE_FILE);
    if (existsSync(baseline)) copies.push({ from: baseline, to: BASELINE_FILE });
    else if (props.name === QUALITY_FUNCTION)
      throw new Error(`The quality function needs ${baseline}: the training script writes it beside model.json`);
  }
  if (ENV.DASHBOARD_DIR in environment) {
    if (props.dashboardDir === undefined || !existsSync(join(props.dashboardDir, 'index.html'))) {
      throw new Error(
        `Function "${props.name}" serves the dashboard: \`dashboardDir\` must name a built dashboard (npm run build:web); got ${props.dashboardDir ?? 'none'}`,
      );
    }
    copies.push({ from: props.dashboardDir, to: BUNDLED_DASHBOARD_DIR });
  }
  return copies;
}

/** The variables holding the paths of the files this construct copies beside the code. */
function fileVariables(wanted: readonly EnvName[]): Partial<Record<EnvName, string>> {
  const vars: Partial<Record<EnvName, string>> = {};
  if (wanted.includes(ENV.MODEL_MANIFEST_PATH)) vars[ENV.MODEL_MANIFEST_PATH] = MANIFEST_FILE;
  if (wanted.includes(ENV.MODEL_BASELINE_PATH)) vars[ENV.MODEL_BASELINE_PATH] = BASELINE_FILE;
  if (wanted.includes(ENV.DASHBOARD_DIR)) vars[ENV.DASHBOARD_DIR] = BUNDLED_DASHBOARD_DIR;
  return vars;
}

/** The function's environment must be exactly what it reads: otherwise one problem naming the difference. */
function environmentProblems(props: HandlerFunctionProps, given: Partial<Record<EnvName, string>>): string[] {
  const wanted = wantedEnv(props);
  const missing = wanted.filter((k) => given[k] === undefined);
  const extra = (Object.keys(given) as EnvName[]).filter((k) => !wanted.includes(k));
  if (missing.length === 0 && extra.length === 0) return [];
  return [
    `Function "${props.name}" (${props.deployment.backend}) must get exactly ${wanted.join(', ')}` +
      (missing.length ? `; missing ${missing.join(', ')}` : '') +
      (extra.length ? `; not read by it: ${extra.join(', ')}` : ''),
  ];
}
