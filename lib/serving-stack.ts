/**
 * The model behind the API: the container image from `container/`, the model package in the data bucket,
 * and the configured backend (Fargate service, SageMaker real-time or serverless endpoint).
 */
import { join } from 'node:path';
import { Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ModelManifest } from '../contract/manifest';
import { MlshipConfig } from './config';
import { importDataBucket } from './constructs/data-bucket-import';
import { FargateModelService } from './serving/fargate-model-service';
import { ModelBackend } from './serving/model-backend';
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
      Validations.of(uploader).acknowledge({ id: data.wildcardFinding('*'), reason: 'Object access in the destination bucket, for the model upload.' });
    }

    if (config.backend === 'fargate') {
      this.fargate = new FargateModelService(this, 'Fargate', {
        image: this.image,
        bucket: data.bucket,
        modelS3Uri: this.modelPackage.s3Uri,
        cpu: config.fargateCpu,
        memoryMiB: config.fargateMemoryMiB,
        minCapacity: config.fargateMinCapacity,
        maxCapacity: config.fargateMaxCapacity,
        logRetention: config.logRetentionDays as logs.RetentionDays,
      });
      // Tasks must not start before their model package is in the bucket.
      this.fargate.service.node.addDependency(this.modelPackage.deployment);
      Validations.of(this.fargate.service.taskDefinition).acknowledge({
        id: data.wildcardFinding('models/*'),
        reason: 'The tasks read model packages: any object under models/ and nothing else.',
      });
      this.modelBackend = this.fargate;
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
              }
            : undefined,
        serverless:
          config.backend === 'sagemaker-serverless'
            ? { memorySizeMb: config.serverlessMemorySizeMb, maxConcurrency: config.serverlessMaxConcurrency }
            : undefined,
      });
      this.sagemaker.model.node.addDependency(this.modelPackage.deployment);
      this.modelBackend = this.sagemaker;
    }
  }
}
