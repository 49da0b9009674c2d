/**
 * The Serving stack on this machine: the model packed and uploaded to the data bucket as the deploy does,
 * and the model server started from `MODEL_S3_URI` as the container starts on Fargate, in its own process;
 * a challenger, when given, is hosted beside the model in the same server, and a registered version the
 * routing state names is loaded from the model's registry prefix while it runs.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RegistrySource } from '../../container/src/model-registry';
import { resolveModelDir } from '../../container/src/model-source';
import { type RunningServer, type StartServerOptions, startServer } from '../../container/src/server';
import { modelPackageKey, modelPrefix, PACKAGE_DIGEST_LENGTH } from '../../contract/bucket';
import { ENV } from '../../contract/env';
import type { ModelManifest } from '../../contract/manifest';
import { packModel } from '../../contract/model-package';
import { datasetFolders, uploadDatasets } from '../datasets';
import { LOCAL_NAMES, S3RVER_CREDENTIALS } from '../paths';
import { s3Client, uploadFile } from '../s3';
import { type Switchable, startPart } from './part';

export interface ServingPartOptions {
  /** Model directory (model.json + the ONNX file). */
  modelDir: string;
  manifest: ModelManifest;
  /** Where the archive and the model server's download go. */
  workDir: string;
  /** The data bucket's endpoint. */
  s3Url: string;
  /** Model server port; 0 picks a free one (kept across the fault handle's stop and start). */
  port: number;
  /** Model server worker processes. */
  workers: number;
  /** A challenger's model folder, hosted beside the model in the same server (docs/versions.md). @default - none */
  challengerDir?: string;
  onProgress: (message: string) => void;
}

export interface ServingPart {
  /** Base URL of the model server. */
  readonly modelUrl: string;
  /** `s3://bucket/models/<name>/<version>/<digest>/model.tar.gz` the model server loaded. */
  readonly modelS3Uri: string;
  /** The model server as a fault handle. */
  readonly model: Switchable;
  stop(): Promise<void>;
}

export function startServing(opts: ServingPartOptions): Promise<ServingPart> {
  return startPart(async (started) => {
    if (!Number.isInteger(opts.workers) || opts.workers < 1)
      throw new Error(`modelWorkers must be a positive integer, got ${opts.workers}`);
    const { manifest, workDir } = opts;
    opts.onProgress(`packing and uploading ${manifest.name}/${manifest.version}`);
    const archive = join(workDir, 'model.tar.gz');
    const { sha256 } = await packModel(opts.modelDir, archive);
    // The deployed key: named by the archive's digest, as lib/serving/model-package.ts does.
    const key = modelPackageKey(manifest.name, manifest.version, sha256.slice(0, PACKAGE_DIGEST_LENGTH));
    const s3 = s3Client(opts.s3Url);
    try {
      await uploadFile(s3, LOCAL_NAMES.bucket, key, archive);
      // The training datasets beside the model, where `mlship train` finds them (datasets/<model>/).
      const datasets = await uploadDatasets(s3, LOCAL_NAMES.bucket, datasetFolders(opts.modelDir));
      if (datasets.length > 0) opts.onProgress(`uploaded ${datasets.length} training datasets under datasets/`);
    } finally {
      s3.destroy();
    }
    const modelS3Uri = `s3://${LOCAL_NAMES.bucket}/${key}`;

    opts.onProgress('starting the model server from MODEL_S3_URI');
    // A fresh cache each start: the archive may hold a retrained model under the same version.
    const cacheDir = join(workDir, 'model-cache');
    rmSync(cacheDir, { recursive: true, force: true });
    const servedDir = await resolveModelDir({
      env: { [ENV.MODEL_S3_URI]: modelS3Uri, [ENV.S3_URL]: opts.s3Url, AWS_REGION: LOCAL_NAMES.region },
      cacheDir,
      credentials: { ...S3RVER_CREDENTIALS },
    });
    // A registered version the routing state names is loaded from the bucket while the server runs, as on AWS.
    const registry: RegistrySource = {
      uri: `s3://${LOCAL_NAMES.bucket}/${modelPrefix(manifest.name)}`,
      s3Url: opts.s3Url,
      region: LOCAL_NAMES.region,
      credentials: { ...S3RVER_CREDENTIALS },
      cacheDir: join(workDir, 'registry-cache'),
    };
    const model = await startModelServer(
      { modelDir: servedDir, challengerDir: opts.challengerDir, registry, workers: opts.workers },
      opts.port,
    );
    started.defer(() => model.stop());
    return { modelUrl: model.url, modelS3Uri, model };
  });
}

/** The model server on a fixed port once started, so a fault test can stop it and start it again. */
async function startModelServer(
  opts: Required<Pick<StartServerOptions, 'modelDir' | 'registry' | 'workers'>> & Pick<StartServerOptions, 'challengerDir'>,
  port0: number,
): Promise<Switchable> {
  let server: RunningServer | undefined = await startServer({ ...opts, port: port0, host: '127.0.0.1' });
  const { url, port } = server;
  return {
    url,
    async stop() {
      const s = server;
      server = undefined;
      await s?.close();
    },
    async start() {
      if (!server) server = await startServer({ ...opts, port, host: '127.0.0.1' });
    },
  };
}
