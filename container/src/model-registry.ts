/**
 * Registered versions loaded while the server runs (docs/retraining.md, "The hand-over"). A training run
 * that is accepted registers `models/<name>/<version>/` and names the version as the challenger in the
 * routing state; the predict function then asks for it by name. The server does not host it yet, so it
 * loads it from the registry prefix here: only a registered version (its `evaluation.json` is there and
 * accepted it), downloaded with the server's own credentials (its role reads `models/<name>/*` alone),
 * loaded and checked exactly as at start-up (manifest against the ONNX signature, a test prediction, and
 * beside the champion). No admin route: SageMaker passes only /invocations and /ping, so the request that
 * names the version is what loads it, on Fargate, SageMaker and the local system alike.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ENV } from '../../contract/env';
import { errorMessage } from '../../contract/errors';
import type { ModelManifest } from '../../contract/manifest';
import { checkChallenger, MODEL_VERSION_PATTERN } from '../../contract/versions';
import { type LoadedModel, loadModel } from './model';
import { credentialsOf, downloadModel, parseS3Uri } from './model-source';

/** Where the registry is and how to reach it. */
export interface RegistrySource {
  /** The model's registry prefix, `s3://bucket/models/<name>/`. */
  readonly uri: string;
  /** Endpoint override (s3rver locally). */
  readonly s3Url?: string;
  readonly region?: string;
  /** @default - the SDK's default chain (the task or execution role on AWS) */
  readonly credentials?: S3ClientConfig['credentials'];
  /** Where downloaded versions are kept. @default <tmpdir>/mlship-registry-<pid> */
  readonly cacheDir?: string;
}

/** The registry from MLSHIP_MODEL_REGISTRY_S3_URI (with MLSHIP_S3_URL, AWS_REGION and keys when given); undefined when unset. */
export function registrySourceFromEnv(env: NodeJS.ProcessEnv = process.env): RegistrySource | undefined {
  const uri = env[ENV.MODEL_REGISTRY_S3_URI];
  if (!uri) return undefined;
  return { uri, s3Url: env[ENV.S3_URL], region: env.AWS_REGION, credentials: credentialsOf(env) };
}

/** The variables that hand `source` to a model server process (the cluster's workers read them back). */
export function registryEnv(source: RegistrySource): Record<string, string> {
  const env: Record<string, string> = { [ENV.MODEL_REGISTRY_S3_URI]: source.uri };
  if (source.s3Url) env[ENV.S3_URL] = source.s3Url;
  if (source.region) env.AWS_REGION = source.region;
  const c = source.credentials;
  if (c && typeof c === 'object' && 'accessKeyId' in c) {
    env.AWS_ACCESS_KEY_ID = c.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = c.secretAccessKey;
  }
  return env;
}

/** A version the registry does not hold (or holds refused): the request gets 404 UNKNOWN_MODEL_VERSION. */
export class NotRegisteredError extends Error {
  constructor(
    version: string,
    /** Why, as the sentence ends ("is not registered"): a cluster worker rebuilds the error from it. */
    readonly why: string,
  ) {
    super(`Model version "${version}" is not hosted and ${why}.`);
    this.name = 'NotRegisteredError';
  }
}

/** Loads one registered version; rejects with NotRegisteredError or the reason it could not be loaded. */
export type RegisteredLoader = (version: string, champion: ModelManifest) => Promise<LoadedModel>;

/** Puts one registered version's files on local disk and gives their directory; rejects with NotRegisteredError. */
export type RegisteredFetcher = (version: string) => Promise<string>;

export function registeredLoader(source: RegistrySource): RegisteredLoader {
  return loaderOver(registeredFetcher(source));
}

/** Folders of this process's own, removed when it exits (a folder given by the caller is the caller's to keep). */
const ownFolders = new Set<string>();
function removeAtExit(dir: string): void {
  if (ownFolders.size === 0)
    process.once('exit', () => {
      for (const d of ownFolders) rmSync(d, { recursive: true, force: true });
    });
  ownFolders.add(dir);
}

/** Reads the registry itself: checks the version is registered and downloads its package. */
export function registeredFetcher(source: RegistrySource): RegisteredFetcher {
  const { bucket, key } = parseS3Uri(source.uri);
  const prefix = key.endsWith('/') ? key : `${key}/`;
  const cacheDir = source.cacheDir ?? path.join(os.tmpdir(), `mlship-registry-${process.pid}`);
  if (source.cacheDir === undefined) removeAtExit(cacheDir);
  const clientConfig: S3ClientConfig = {
    region: source.region ?? 'us-east-1',
    ...(source.s3Url ? { endpoint: source.s3Url, forcePathStyle: true } : {}),
    ...(source.credentials ? { credentials: source.credentials } : {}),
  };
  return async (version) => {
    if (!MODEL_VERSION_PATTERN.test(version)) throw new NotRegisteredError(version, 'is not a version name');
    await checkRegistered(new S3Client(clientConfig), bucket, `${prefix}${version}/evaluation.json`, version);
    // The cache folder is named by the package's URI: versions are immutable, so a download is reused.
    return downloadModel(`s3://${bucket}/${prefix}${version}/model.tar.gz`, {
      s3Url: source.s3Url,
      region: source.region,
      credentials: source.credentials,
      cacheDir: path.join(cacheDir, createHash('sha256').update(source.uri).digest('hex').slice(0, 8)),
    });
  };
}

/** Loads what `fetch` put on disk and checks it is that version and can stand beside the champion. */
export function loaderOver(fetch: RegisteredFetcher): RegisteredLoader {
  return async (version, champion) => {
    if (!MODEL_VERSION_PATTERN.test(version)) throw new NotRegisteredError(version, 'is not a version name');
    const model = await loadModel(await fetch(version));
    try {
      if (model.manifest.version !== version) throw new Error(`its package holds version ${model.manifest.version}`);
      checkChallenger(champion, model.manifest);
    } catch (e) {
      await model.close();
      throw new Error(`Registered version ${version} cannot be served: ${errorMessage(e)}`);
    }
    return model;
  };
}

/** A version is registered exactly when its evaluation.json is there (written last), and it accepted the version. */
async function checkRegistered(s3: S3Client, bucket: string, key: string, version: string): Promise<void> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = await (got.Body as { transformToString(): Promise<string> }).transformToString();
    const evaluation = JSON.parse(text) as { version?: unknown; verdict?: { handOver?: unknown } };
    if (evaluation.version !== version || evaluation.verdict?.handOver !== true)
      throw new NotRegisteredError(version, 'its evaluation did not accept it');
  } catch (e) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((e as { name?: string }).name === 'NoSuchKey' || status === 404 || status === 403)
      throw new NotRegisteredError(version, 'is not registered');
    throw e;
  } finally {
    s3.destroy();
  }
}
