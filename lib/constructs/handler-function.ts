/**
 * The base of every mlship function: Node 22 on arm64, bundled by the local esbuild (never Docker) with
 * the AWS SDK inside the bundle (we pin our own versions), source maps on, X-Ray active, its own log
 * group with the configured retention, and a role that starts with write access to that log group only.
 * It sets exactly the environment `functionEnv(name, backend)` lists, and copies the files the function
 * reads beside the code: the model manifest, the drift baseline and the built dashboard.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AssetHashType, DockerImage, Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BASELINE_FILE } from '../../contract/baseline';
import { type DeploymentFunctionName, ENV, type EnvName, type FunctionName, functionEnv } from '../../contract/env';
import type { Backend } from '../../contract/limits';
import { MANIFEST_FILE } from '../../contract/manifest';
import { type FileCopy, LAMBDA_HANDLER, LocalLambdaBundling } from './lambda-bundle';

/** The scheduled model-quality job (`lambda/quality.ts`): not behind the API, but built the same way. */
export const QUALITY_FUNCTION = 'quality';

/** Where the dashboard folder is copied inside the bundle (the value of MLSHIP_DASHBOARD_DIR). */
export const BUNDLED_DASHBOARD_DIR = 'dashboard';

export interface HandlerFunctionProps {
  /**
   * Which function: its code is `lambda/<name>.ts` and its environment is `functionEnv(name, backend)`.
   */
  readonly name: FunctionName | DeploymentFunctionName | typeof QUALITY_FUNCTION;
  readonly backend: Backend;
  /** Repository root (holds `lambda/` and `package-lock.json`). */
  readonly rootDir: string;
  /** Absolute path of the served model's `model.json`, copied into the bundle when the function reads it. */
  readonly manifestPath: string;
  /**
   * Absolute path of the model's `baseline.json`, copied into the bundle when the function reads
   * `MLSHIP_MODEL_BASELINE_PATH` and the file exists (the quality job requires it).
   * @default - `baseline.json` beside the manifest
   */
  readonly baselinePath?: string;
  /** Absolute folder of the built web dashboard, copied into the bundle for the function that serves it. @default - none */
  readonly dashboardDir?: string;
  /**
   * Values of the function's environment variables, except the paths of the files this construct copies
   * (`MLSHIP_MODEL_MANIFEST_PATH`, `MLSHIP_MODEL_BASELINE_PATH`, `MLSHIP_DASHBOARD_DIR`), which it sets. Must name exactly the variables `functionEnv` lists.
   */
  readonly environment: Partial<Record<EnvName, string>>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default - 10 seconds */
  readonly timeout?: Duration;
  /** Runs the function in this VPC's private subnets. @default - not in a VPC */
  readonly vpc?: ec2.IVpc;
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Absolute paths of more files to copy beside the code (a golden set). @default - none */
  readonly bundledFiles?: string[];
}

export class HandlerFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    const environment = environmentOf(props);

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `mlship ${props.name} function`,
    });
    this.logGroup.grantWrite(this.role);
    if (props.vpc) {
      // The permissions Lambda needs to attach the function to the VPC; EC2 offers no resource-level scope for them.
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
    }

    const copies = [...filesToCopy(props, environment), ...(props.bundledFiles ?? []).map((f) => ({ from: f, to: basename(f) }))];
    const entry = join(props.rootDir, 'lambda', `${props.name}.ts`);
    this.function = new lambda.Function(this, 'Function', {
      // Bundled at synth by the project's esbuild (lambda-bundle.ts); the asset hash is the bundle's own.
      code: lambda.Code.fromAsset(join(props.rootDir, 'lambda'), {
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
      environment: { ...environment, NODE_OPTIONS: '--enable-source-maps' },
    });

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
}

/** The variables a function reads. */
function wantedEnv(props: HandlerFunctionProps): readonly EnvName[] {
  return functionEnv(props.name, props.backend);
}

/** Files the function reads, copied beside its code (their variables hold paths relative to the bundle). */
function filesToCopy(props: HandlerFunctionProps, environment: Record<string, string>): FileCopy[] {
  const copies: FileCopy[] = [];
  if (ENV.MODEL_MANIFEST_PATH in environment) copies.push({ from: props.manifestPath, to: MANIFEST_FILE });
  if (ENV.MODEL_BASELINE_PATH in environment) {
    const baseline = props.baselinePath ?? join(dirname(props.manifestPath), BASELINE_FILE);
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

/** The function's environment: exactly what it reads, or a synth error naming the difference. */
function environmentOf(props: HandlerFunctionProps): Record<string, string> {
  const wanted = wantedEnv(props);
  const given: Partial<Record<EnvName, string>> = { ...props.environment };
  if (wanted.includes(ENV.MODEL_MANIFEST_PATH)) given[ENV.MODEL_MANIFEST_PATH] = MANIFEST_FILE;
  if (wanted.includes(ENV.MODEL_BASELINE_PATH)) given[ENV.MODEL_BASELINE_PATH] = BASELINE_FILE;
  if (wanted.includes(ENV.DASHBOARD_DIR)) given[ENV.DASHBOARD_DIR] = BUNDLED_DASHBOARD_DIR;
  const missing = wanted.filter((k) => given[k] === undefined);
  const extra = (Object.keys(given) as EnvName[]).filter((k) => !wanted.includes(k));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `Function "${props.name}" (${props.backend}) must get exactly ${wanted.join(', ')}` +
        (missing.length ? `; missing ${missing.join(', ')}` : '') +
        (extra.length ? `; not read by it: ${extra.join(', ')}` : ''),
    );
  }
  return given as Record<string, string>;
}
