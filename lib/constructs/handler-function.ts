/**
 * The base of every mlship function: Node 22 on arm64, bundled by the local esbuild (never Docker) with
 * the AWS SDK inside the bundle (we pin our own versions), source maps on, X-Ray active, its own log
 * group with the configured retention, and a role that starts with write access to that log group only.
 * It sets exactly the environment `functionEnv(name, backend)` lists, and copies the model manifest
 * beside the code when the function reads it.
 */
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV, EnvName, FunctionName, functionEnv } from '../../contract/env';
import { Backend } from '../../contract/limits';
import { MANIFEST_FILE } from '../../contract/manifest';

export interface HandlerFunctionProps {
  /** Which function: its code is `lambda/<name>.ts` and its environment is `functionEnv(name, backend)`. */
  readonly name: FunctionName;
  readonly backend: Backend;
  /** Repository root (holds `lambda/` and `package-lock.json`). */
  readonly rootDir: string;
  /** Absolute path of the served model's `model.json`, copied into the bundle when the function reads it. */
  readonly manifestPath: string;
  /**
   * Values of the function's environment variables, except `MLSHIP_MODEL_MANIFEST_PATH` which this
   * construct sets. Must name exactly the variables `functionEnv` lists.
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
}

export class HandlerFunction extends Construct {
  public readonly function: NodejsFunction;
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

    const readsManifest = ENV.MODEL_MANIFEST_PATH in environment;
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(props.rootDir, 'lambda', `${props.name}.ts`),
      handler: 'handler',
      projectRoot: props.rootDir,
      depsLockFilePath: join(props.rootDir, 'package-lock.json'),
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
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // Bundle the AWS SDK too: the handlers run against the versions this repository pins and tests.
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) =>
            readsManifest ? [`cp "${props.manifestPath}" "${join(outputDir, MANIFEST_FILE)}"`] : [],
        },
      },
    });

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords and the VPC network-interface actions have no resource-level permissions.',
      },
      {
        id: 'AwsSolutions-L1',
        reason: 'Node.js 22 on purpose: the handlers, the model container and the tests all target Node 22; moving to a newer runtime is one change for all of them.',
      },
    );
  }
}

/** The function's environment: exactly `functionEnv(name, backend)`, or a synth error naming the difference. */
function environmentOf(props: HandlerFunctionProps): Record<string, string> {
  const wanted = functionEnv(props.name, props.backend);
  const given: Partial<Record<EnvName, string>> = { ...props.environment };
  if (wanted.includes(ENV.MODEL_MANIFEST_PATH)) given[ENV.MODEL_MANIFEST_PATH] = MANIFEST_FILE;
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
