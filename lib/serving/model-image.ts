/**
 * The model server image, built from `container/Dockerfile` with the mlship folder as its context (the
 * server imports `contract/`). Built at deploy time (linux/amd64); synth needs no Docker. Both backends
 * and the batch task run it.
 */
import { join } from 'node:path';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import { Construct } from 'constructs';
import { PACKAGE_ROOT } from '../deployment-context';

export interface ModelImageProps {
  /** The mlship folder (holds `container/` and `contract/`). @default - the folder of this package (PACKAGE_ROOT) */
  readonly rootDir?: string;
}

export class ModelImage extends Construct {
  /** The image asset (what FargateModelService and SageMakerModelEndpoint take as `image`). */
  public readonly asset: ecrAssets.DockerImageAsset;

  constructor(scope: Construct, id: string, props: ModelImageProps = {}) {
    super(scope, id);
    this.asset = new ecrAssets.DockerImageAsset(this, 'Default', {
      directory: props.rootDir ?? PACKAGE_ROOT,
      file: join('container', 'Dockerfile'),
      platform: ecrAssets.Platform.LINUX_AMD64,
      // Never part of the build context, whatever .dockerignore says (cdk.out would contain itself).
      exclude: ['cdk.out', '.git', '.mlship', 'node_modules'],
    });
  }
}
