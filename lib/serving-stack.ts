/**
 * The model behind the API: the container image from `container/`, the model package in the data bucket,
 * and the configured backend (Fargate service, SageMaker real-time or serverless endpoint).
 */
import { join } from 'node:path';
import { RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { modelPrefix } from '../contract/bucket';
import { MANIFEST_FILE, type ModelManifest } from '../contract/manifest';
import { GOLDEN_SET_FILE } from '../contract/rollout';
import { BatchInference } from './batch/batch-inference';
import type { MlshipConfig } from './config';
import { importDataBucket } from './constructs/data-bucket-import';
import { GoldenSetCheck } from './rollout/golden-set-check';
import { FargateModelService } from './serving/fargate-model-service';
import type { ModelBackend } from './serving/model-backend';
import { ModelPackage } from './serving/model-package';
import { SageMakerModelEndpoint } from './serving/sagemaker-model-endpoint';

export interface ServingStackProps extends StackProps {
  readonly config: MlshipConfig;
  readonly rootDir: string;
  /** Export name of the data bucket ARN (DataStack.bucketArnExport). */
  readonly bucketArnExport: string;
  readonly manifest: ModelManifest;
  readonly modelDir: string;
  /** Where build products (the model archive) are staged. */
  readonly buildDir: string;
}

export class ServingStack extends Stack {
  public readonly image: ecrAssets.DockerImageAsset;
  public readonly modelPackage: ModelPackage;
  public readonly modelBackend: ModelBackend;
  /** Set for the `fargate` backend. */
  public readonly fargate?: FargateModelService;
  /** Set for the SageMaker backends. */
  public readonly sagemaker?: SageMakerModelEndpoint;
  /** Replays the model's golden set against each new version before it keeps traffic. */
  public readonly goldenCheck: GoldenSetCheck;
  /** Batch inference on datasets under `batch/input/`: Batch Transform or an ECS task of the same image. */
  public readonly batch: BatchInference;

  constructor(scope: Construct, id: string, props: ServingStackProps) {
    super(scope, id, props);
    const { config } = props;
    const data = importDataBucket(this, 'DataBucket', props.bucketArnExport);

    // Built at deploy time from the repository root (the server imports contract/); synth needs no Docker.
    this.image = new ecrAssets.DockerImageAsset(this, 'ModelImage', {
      directory: props.rootDir,
      file: join('container', 'Dockerfile'),
      platform: ecrAssets.Platform.LINUX_AMD64,
      // Never part of the build context, whatever .dockerignore says (cdk.out would contain itself).
      exclude: ['cdk.out', '.git', '.mlship', 'node_modules'],
    });

    this.modelPackage = new ModelPackage(this, 'ModelPackage', {
      bucket: data.bucket,
      manifest: props.manifest,
      modelDir: props.modelDir,
      buildDir: props.buildDir,
    });

    Validations.of(this.modelPackage).acknowledge({
      id: data.wildcardFinding('*'),
      reason: 'aws-s3-deployment grants its upload function object access in the destination bucket; it writes only under models/.',
    });
    // The upload function is a singleton at stack level, shared by every BucketDeployment of the stack.
    for (const uploader of this.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'))) {
      Validations.of(uploader).acknowledge({
        id: data.wildcardFinding('*'),
        reason: 'Object access in the destination bucket, for the model upload.',
      });
    }

    if (config.backend === 'fargate') {
      this.fargate = new FargateModelService(this, 'Fargate', {
        image: this.image,
        bucket: data.bucket,
        model: props.manifest,
        modelKey: this.modelPackage.key,
        cpu: config.fargateCpu,
        memoryMiB: config.fargateMemoryMiB,
        minCapacity: config.fargateMinCapacity,
        maxCapacity: config.fargateMaxCapacity,
        logRetention: config.logRetentionDays as logs.RetentionDays,
      });
      // Tasks must not start before their model package is in the bucket.
      this.fargate.service.node.addDependency(this.modelPackage.deployment);
      const ownModel = modelPrefix(props.manifest.name);
      Validations.of(this.fargate.service.taskDefinition).acknowledge({
        id: data.wildcardFinding(`${ownModel}*`),
        reason: `The tasks read their own model's packages, every version under ${ownModel} (old tasks of a blue/green rollout still load theirs), and nothing else.`,
      });
      this.modelBackend = this.fargate;
      this.goldenCheck = this.newGoldenCheck(props, {
        testUrl: this.fargate.testUrl,
        vpc: this.fargate.vpc,
        securityGroups: [this.fargate.testClientSecurityGroup],
      });
      this.fargate.service.addLifecycleHook(
        new ecs.DeploymentLifecycleLambdaTarget(this.goldenCheck.handler.function, 'GoldenSetHook', {
          lifecycleStages: [ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT],
        }),
      );
      Validations.of(this.fargate.service).acknowledge(
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]',
          reason:
            "ECS blue/green swaps listener rules between the two target groups with this role; AWS's managed policy is the documented one and follows new ELB actions.",
        },
        {
          id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.goldenCheck.handler.function.node.defaultChild as CfnFunction)}.Arn>:*]`,
          reason: 'ECS invokes the golden-set hook function; the grant covers that one function and its versions.',
        },
      );
    } else {
      this.sagemaker = new SageMakerModelEndpoint(this, 'SageMaker', {
        image: this.image,
        bucket: data.bucket,
        modelKey: this.modelPackage.key,
        realtime:
          config.backend === 'sagemaker'
            ? {
                instanceType: config.sagemakerInstanceType,
                initialInstanceCount: config.sagemakerInitialInstanceCount,
                minCapacity: config.sagemakerMinCapacity,
                maxCapacity: config.sagemakerMaxCapacity,
                autoScaling: config.sagemakerAutoScaling,
              }
            : undefined,
        serverless:
          config.backend === 'sagemaker-serverless'
            ? { memorySizeMb: config.serverlessMemorySizeMb, maxConcurrency: config.serverlessMaxConcurrency }
            : undefined,
      });
      this.sagemaker.model.node.addDependency(this.modelPackage.deployment);
      this.modelBackend = this.sagemaker;
      this.goldenCheck = this.newGoldenCheck(props, {});
      this.goldenCheck.checkSageMakerEndpoint({
        endpointName: this.sagemaker.endpointName,
        endpointArn: this.sagemaker.endpointArn,
        endpointConfigName: this.sagemaker.endpointConfig.attrEndpointConfigName,
        model: `${props.manifest.name}/${props.manifest.version}`,
        dependable: this.sagemaker.endpoint,
      });
    }

    this.batch = new BatchInference(this, 'Batch', {
      backend: config.backend,
      bucket: data.bucket,
      logRetention: config.logRetentionDays as logs.RetentionDays,
      ...(this.fargate ? { fargate: this.batchTask(this.fargate, props.manifest) } : {}),
      ...(this.sagemaker
        ? {
            sagemaker: {
              modelName: this.sagemaker.model.attrModelName,
              modelRole: this.sagemaker.role,
              // Batch Transform always runs on instances, serverless endpoints' models included.
              instanceType: config.sagemakerInstanceType,
            },
          }
        : {}),
    });
  }

  /** The batch task runs the model image beside the service: same cluster and private subnets, egress only. */
  private batchTask(fargate: FargateModelService, manifest: ModelManifest) {
    const securityGroup = new ec2.SecurityGroup(this, 'BatchTaskSecurityGroup', {
      vpc: fargate.vpc,
      description: 'mlship batch tasks: no inbound traffic; outbound to S3 and ECR',
      allowAllOutbound: true,
    });
    return {
      cluster: fargate.cluster,
      image: ecs.ContainerImage.fromDockerImageAsset(this.image),
      model: manifest,
      modelKey: this.modelPackage.key,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
    };
  }

  private newGoldenCheck(
    props: ServingStackProps,
    network: Pick<ConstructorParameters<typeof GoldenSetCheck>[2], 'testUrl' | 'vpc' | 'securityGroups'>,
  ): GoldenSetCheck {
    const { config } = props;
    return new GoldenSetCheck(this, 'GoldenSetCheck', {
      backend: config.backend,
      rootDir: props.rootDir,
      manifestPath: join(props.modelDir, MANIFEST_FILE),
      goldenSetPath: join(props.modelDir, GOLDEN_SET_FILE),
      logRetention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      ...network,
    });
  }
}
