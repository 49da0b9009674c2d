/**
 * The model registry in the bucket: a registered version is `models/<name>/<version>/` holding the packed
 * model (`model.tar.gz`, the package the deploy and the model server read), `model.json`, `baseline.json`,
 * `parity.json`, the code it was trained with (`code/`) and `evaluation.json`. `evaluation.json` is
 * written last and only when it is not there yet: a version exists exactly when it does, it is never
 * overwritten, and a run that fails part-way leaves no registered version (only files a retry replaces).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { modelPackageKey, modelPrefix, REGISTRY_FILES, registryPrefix, trainingLockKey } from '../../../contract/bucket';
import type { Evaluation } from '../../../contract/training';
import { getJson, isMissing, isPreconditionFailed, objectExists } from './s3-objects';

/** A version's prefix for code files: `models/<name>/<version>/code/<file>`. */
export const CODE_FOLDER = 'code/';

/** The registered versions of a model (those with an evaluation.json), oldest first by registration time. */
export async function listVersions(s3: S3Client, bucket: string, model: string): Promise<Evaluation[]> {
  const prefixes: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: modelPrefix(model), Delimiter: '/', ContinuationToken: token }),
    );
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const found: Evaluation[] = [];
  for (const prefix of prefixes) {
    const key = `${prefix}${REGISTRY_FILES.evaluation}`;
    if (await objectExists(s3, bucket, key)) found.push(await getJson<Evaluation>(s3, bucket, key));
  }
  return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** One registered version's evaluation, or an error naming the versions there are. */
export async function readVersion(s3: S3Client, bucket: string, model: string, version: string): Promise<Evaluation> {
  const key = `${registryPrefix(model, version)}${REGISTRY_FILES.evaluation}`;
  try {
    return await getJson<Evaluation>(s3, bucket, key);
  } catch (e) {
    if (!isMissing(e)) throw e;
    const known = (await listVersions(s3, bucket, model)).map((v) => v.version);
    throw new Error(`${model} has no registered version ${version}${known.length > 0 ? ` (registered: ${known.join(', ')})` : ''}.`);
  }
}

/**
 * The version a new run registers: the patch after the highest `major.minor.patch` among the champion's
 * and the registered ones (1.0.0 → 1.0.1); a champion whose version is not of that form gets `<version>.1`.
 */
export function nextVersion(champion: string, registered: readonly string[]): string {
  const semver = /^(\d+)\.(\d+)\.(\d+)$/;
  const parsed = [champion, ...registered].flatMap((v) => {
    const m = semver.exec(v);
    return m ? [[Number(m[1]), Number(m[2]), Number(m[3])] as const] : [];
  });
  if (parsed.length === 0) {
    let n = 1;
    while (registered.includes(`${champion}.${n}`)) n++;
    return `${champion}.${n}`;
  }
  const [major, minor, patch] = parsed.reduce((a, b) =>
    a[0] !== b[0] ? (a[0] > b[0] ? a : b) : a[1] !== b[1] ? (a[1] > b[1] ? a : b) : a[2] >= b[2] ? a : b,
  );
  return `${major}.${minor}.${patch + 1}`;
}

export class TrainingBusyError extends Error {
  constructor(model: string, holder: string) {
    super(
      `A training run of ${model} is already under way (${holder}). One run at a time per model: wait for it, or remove a stale lock with --break-lock.`,
    );
    this.name = 'TrainingBusyError';
  }
}

/**
 * Takes the model's training lock: an object written only if absent (`If-None-Match: *`, S3's
 * conditional write), read back to confirm this run holds it. Returns the release.
 */
export async function takeTrainingLock(s3: S3Client, bucket: string, model: string, holder: string): Promise<() => Promise<void>> {
  const key = trainingLockKey(model);
  const body = JSON.stringify({ holder, since: new Date().toISOString() });
  if (await objectExists(s3, bucket, key)) throw new TrainingBusyError(model, (await getJson<{ holder: string }>(s3, bucket, key)).holder);
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: '*', ContentType: 'application/json' }));
  } catch (e) {
    if (isPreconditionFailed(e)) throw new TrainingBusyError(model, 'another run took the lock first');
    throw e;
  }
  // A store without conditional writes: whoever wrote last holds it.
  const now = await getJson<{ holder: string }>(s3, bucket, key);
  if (now.holder !== holder) throw new TrainingBusyError(model, now.holder);
  return async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  };
}

/** Removes a lock a crashed run left behind. */
export async function breakTrainingLock(s3: S3Client, bucket: string, model: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: trainingLockKey(model) }));
}

export interface RegisterOptions {
  /** The trained model folder (model.json, the ONNX file, baseline.json, parity.json). */
  modelDir: string;
  /** The packed model (`model.tar.gz`, packModel's output). */
  archive: string;
  code: { name: string; path: string }[];
  evaluation: Evaluation;
}

/** Writes a version; refuses one that is registered already. evaluation.json goes last, only if absent. */
export async function registerVersion(s3: S3Client, bucket: string, opts: RegisterOptions): Promise<string> {
  const { model, version } = opts.evaluation;
  const prefix = registryPrefix(model, version);
  const evaluationKey = `${prefix}${REGISTRY_FILES.evaluation}`;
  if (await objectExists(s3, bucket, evaluationKey))
    throw new Error(`${model} ${version} is registered already; versions are never overwritten.`);
  const put = (key: string, body: Buffer | string, contentType: string) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  await put(modelPackageKey(model, version), readFileSync(opts.archive), 'application/gzip');
  for (const f of [REGISTRY_FILES.manifest, REGISTRY_FILES.baseline, REGISTRY_FILES.parity])
    await put(`${prefix}${f}`, readFileSync(join(opts.modelDir, f)), 'application/json');
  for (const f of opts.code) await put(`${prefix}${CODE_FOLDER}${f.name}`, readFileSync(f.path), 'text/x-python');
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: evaluationKey,
        Body: `${JSON.stringify(opts.evaluation, null, 1)}\n`,
        ContentType: 'application/json',
        IfNoneMatch: '*',
      }),
    );
  } catch (e) {
    if (isPreconditionFailed(e)) throw new Error(`${model} ${version} was registered by another run meanwhile.`);
    throw e;
  }
  return `s3://${bucket}/${prefix}`;
}

/** Downloads a registered version's files (the model folder and its code) into `dir`. */
export async function downloadVersion(s3: S3Client, bucket: string, model: string, version: string, dir: string): Promise<void> {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const prefix = registryPrefix(model, version);
  const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  for (const o of list.Contents ?? []) {
    if (!o.Key) continue;
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
    const file = join(dir, o.Key.slice(prefix.length));
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  }
}
