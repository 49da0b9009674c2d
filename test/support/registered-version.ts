/**
 * A version registered in a bucket as a training run registers it (container/src/training/registry.ts):
 * the package, the files beside it, then `evaluation.json` with the verdict, written last.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { modelPackageKey, REGISTRY_FILES, registryPrefix } from '../../contract/bucket';
import { packModel } from '../../contract/model-package';
import { modelVersionCopy } from './model-version';

export interface RegisterOptions {
  /** What its evaluation said. @default true (accepted) */
  readonly handOver?: boolean;
  /** A change of its manifest (another label, input). @default - none */
  readonly edit?: (manifest: Record<string, unknown>) => void;
}

/**
 * Registers `version` of the model in `modelDir` (a copy of it under that version) in `bucket`; the archive is
 * packed in `scratch`. Returns the copy's folder, the caller's to remove.
 */
export async function registerCopy(
  s3: S3Client,
  bucket: string,
  scratch: string,
  modelDir: string,
  version: string,
  opts: RegisterOptions = {},
): Promise<string> {
  // Registered under the original's name, whatever the edit makes of the copy's.
  const { name } = JSON.parse(readFileSync(path.join(modelDir, REGISTRY_FILES.manifest), 'utf8')) as { name: string };
  const dir = modelVersionCopy(modelDir, version, opts.edit);
  const archive = path.join(scratch, `${version}.tar.gz`);
  await packModel(dir, archive);
  const put = (key: string, body: Buffer | string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  await put(modelPackageKey(name, version), readFileSync(archive));
  const prefix = registryPrefix(name, version);
  for (const f of [REGISTRY_FILES.manifest, REGISTRY_FILES.baseline, REGISTRY_FILES.parity])
    await put(`${prefix}${f}`, readFileSync(path.join(dir, f)));
  const evaluation = { model: name, version, verdict: { handOver: opts.handOver ?? true, reasons: [] } };
  await put(`${prefix}${REGISTRY_FILES.evaluation}`, JSON.stringify(evaluation));
  return dir;
}
