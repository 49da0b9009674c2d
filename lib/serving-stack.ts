/**
 * The model behind the API: the container image from `container/`, the model package in the data bucket,
 * and the configured backend (Fargate service, SageMaker real-time or serverless endpoint).
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import type { Construct } from 'constructs';
import { modelPrefix } from '../contract/bucket';
import type { ModelManifest } from '../contract/manifest';
import { BatchInference } from './batch/batch-inference';
import type { DeployedChallenger, MlshipConfig } from './config';
import { importDataBucket } from './constructs/data-bucket-import';
import type { DeploymentContext } from './deployment-context';
import { GoldenSetCheck } from './rollout/golden-set-check';
import { FargateModelService } from './serving/fargate-model-service';
import type { ModelBackend } from './serving/model-backend';
import { ModelImage } from './serving/model-image';
import { ModelPackage } from './serving/model-package';
import { SageMakerModelEndpoint } from './serving/sagemaker-model-endpoint';

export interface ServingStackProps extends StackProps {
  /** The validated configuration (the backend's capacity settings). */
  readonly config: MlshipConfig;
  /** Paths, backend, log retention and removal policy, derived once from the config. */
  readonly deployment: DeploymentContext;
  /** Export name of the data bucket ARN (DataStack.bucketArnExport). */
  readonly bucketArnExport: string;
  /** The served model's manifest. */
  readonly manifest: ModelManifest;
  /** Where build products (the model archive) are staged. */
  readonly buildDir: string;
  /** A second version hosted beside the model in the same image (docs/versions.md). @default - none */
  readonly challenger?: DeployedChallenger;
}

export class ServingStack extends Stack {
  /** The model server image, built from `container/` at deploy time. */
  public readonly image: ecrAssets.DockerImageAsset;
  /** The model package in the data bucket. */
  public readonly modelPackage: ModelPackage;
  /** The challenger's package, when one is hosted beside the model. */
  public readonly challengerPackage?: ModelPackage;
  /** The configured backend, whichever it is. */
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
    const { config, deployment, manifest } = props;
    const bucket = importDataBucket(this, 'DataBucket', props.bucketArnExport);

    // Built at deploy time from the repository root (the server imports contract/); synth needs no Docker.
    this.image = new ModelImage(this, 'ModelImage', { rootDir: deployment.rootDir }).asset;

    this.modelPackage = new ModelPackage(this, 'ModelPackage', {
      bucket,
      manifest,
      modelDir: deployment.modelDir,
      buildDir: props.buildDir,
      logRetention: deployment.logRetention,
      removalPolicy: deployment.removalPolicy,
    });

    // The challenger's package goes beside the model's; the same image loads both (CHALLENGER_MODEL_S3_URI).
    this.challengerPackage =
      props.challenger &&
      new ModelPackage(this, 'ChallengerPackage', {
        bucket,
        manifest: props.challenger.manifest,
        modelDir: props.challenger.dir,
        buildDir: props.buildDir,
        logRetention: deployment.logRetention,
        removalPolicy: deployment.removalPolicy,
      });
    const model = {
      image: this.image,
      bucket,
      modelKey: this.modelPackage.key,
      modelUpload: this.modelPackage.deployment,
      challenger: this.challengerPackage && { key: this.challengerPackage.key, upload: this.challengerPackage.deployment },
      // With the retraining loop, a version it hands over is loaded from the registry without a deploy.
      registry: config.training ? modelPrefix(manifest.name) : undefined,
    };
    if (config.backend === 'fargate') {
      this.fargate = new FargateModelService(this, 'Fargate', {
        ...model,
        model: manifest,
        cpu: config.fargateCpu,
        memoryMiB: config.fargateMemoryMiB,
        minCapacity: config.fargateMinCapacity,
        maxCapacity: config.fargateMaxCapacity,
        natGateways: config.natGateways,
        logRetention: deployment.logRetention,
      });
    } else {
      this.sagemaker = new SageMakerModelEndpoint(this, 'SageMaker', {
        ...model,
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
        logRetention: deployment.logRetention,
      });
    }
    const backend: FargateModelService | SageMakerModelEndpoint = this.fargate ?? (this.sagemaker as SageMakerModelEndpoint);
    this.modelBackend = backend;

    // Each backend runs the check its own way (an ECS lifecycle hook, or a custom resource after each
    // endpoint update) and acknowledges what that wiring brings.
    this.goldenCheck = new GoldenSetCheck(this, 'GoldenSetCheck', { deployment, ...backend.rolloutCheckPlacement });
    backend.checkRolloutsWith(this.goldenCheck, `${manifest.name}/${manifest.version}`);

    this.batch = new BatchInference(this, 'Batch', {
      backend: config.backend,
      bucket,
      logRetention: deployment.logRetention,
      fargate: this.fargate?.batchTask([this.batchTaskSecurityGroup(this.fargate.vpc)]),
      // Batch Transform always runs on instances, serverless endpoints' models included.
      sagemaker: this.sagemaker?.batchModel(config.sagemakerInstanceType),
    });
  }

  /** The batch task's security group: no inbound traffic, egress only (S3 and ECR). */
  private batchTaskSecurityGroup(vpc: ec2.IVpc): ec2.SecurityGroup {
    return new ec2.SecurityGroup(this, 'BatchTaskSecurityGroup', {
      vpc,
      description: 'mlship batch tasks: no inbound traffic; outbound to S3 and ECR',
      allowAllOutbound: true,
    });
  }
}
