/**
 * A registered version (docs/retraining.md, "The hand-over") brought into the app so `mlship.config.json`
 * can name it after it was promoted on AWS (`mlship sync-config`). It is fetched and checked by the model
 * server's own code (container/src/model-registry.ts): registered and accepted by its evaluation.json, its
 * `model.tar.gz` unpacked, the manifest read against the ONNX graph with a test prediction, and beside the
 * champion (same name, input and labels). Its `baseline.json` and `parity.json` come along: the next
 * deploy reads them for the quality alarms and the golden-set check. Nothing lands in the app's folder
 * before every check passed.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { loaderOver, registeredFetcher } from '../container/src/model-registry';
import { modelPrefix, REGISTRY_FILES, registryPrefix } from '../contract/bucket';
import { errorMessage } from '../contract/errors';
import type { ModelManifest } from '../contract/manifest';
import type { Target } from './target';

/** What the CLI needs of a target to read the registry. */
export type RegistryTarget = Pick<Target, 'bucketName' | 's3'>;

/** A registered version put in the app's folder (or found there already, the same to the byte). */
export interface AdoptedVersion {
  readonly version: string;
  /** `s3://bucket/models/<name>/<version>/` */
  readonly from: string;
  /** The folder of the app that holds it now. */
  readonly dir: string;
  readonly files: readonly string[];
  /** The folder held these very files already (a run stopped after the copy): nothing was written. */
  readonly reused: boolean;
}

/** Files beside the package a model folder of the app needs at deploy (quality thresholds, golden set). */
const BESIDE_PACKAGE = [REGISTRY_FILES.baseline, REGISTRY_FILES.parity] as const;

/**
 * Downloads registered `version` of `champion`'s model into `dir`, checked as the model server checks it
 * before serving it. Refuses a `dir` that holds other files; throws, writing nothing there, when a check fails.
 */
export async function adoptRegisteredVersion(
  t: RegistryTarget,
  champion: ModelManifest,
  version: string,
  dir: string,
): Promise<AdoptedVersion> {
  const from = `s3://${t.bucketName}/${registryPrefix(champion.name, version)}`;
  const scratch = mkdtempSync(join(tmpdir(), 'mlship-adopt-'));
  try {
    const fetch = registeredFetcher({
      uri: `s3://${t.bucketName}/${modelPrefix(champion.name)}`,
      s3Url: t.s3.endpoint,
      region: t.s3.region,
      credentials: t.s3.credentials,
      cacheDir: scratch,
    });
    let fetched: string;
    try {
      const model = await loaderOver(fetch)(version, champion);
      fetched = model.dir;
      await model.close();
      await downloadBeside(t, champion.name, version, fetched);
    } catch (e) {
      throw new Error(`${from} cannot be the champion of the app: ${errorMessage(e)}`);
    }
    const files = readdirSync(fetched).sort();
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      if (!sameFiles(fetched, dir, files))
        throw new Error(
          `${dir} holds other files than registered version ${version}: move it away, or copy ${from} there yourself, then run sync-config again.`,
        );
      return { version, from, dir, files, reused: true };
    }
    cpSync(fetched, dir, { recursive: true });
    return { version, from, dir, files, reused: false };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `baseline.json` and `parity.json` of the registered version, into the unpacked package. */
async function downloadBeside(t: RegistryTarget, model: string, version: string, into: string): Promise<void> {
  const s3 = new S3Client(t.s3);
  try {
    for (const f of BESIDE_PACKAGE) {
      const got = await s3.send(new GetObjectCommand({ Bucket: t.bucketName, Key: `${registryPrefix(model, version)}${f}` }));
      writeFileSync(join(into, f), await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    }
  } catch (e) {
    throw new Error(`its ${BESIDE_PACKAGE.join(' or ')} could not be read: ${errorMessage(e)}`);
  } finally {
    s3.destroy();
  }
}

/** Whether `dir` holds exactly `files` of `fetched`, byte for byte. */
function sameFiles(fetched: string, dir: string, files: readonly string[]): boolean {
  const there = readdirSync(dir).sort();
  return (
    there.length === files.length &&
    files.every((f, i) => there[i] === f && readFileSync(join(fetched, f)).equals(readFileSync(join(dir, f))))
  );
}
