/** `mlship train` and `mlship registry` as the command line runs them: options checked, results printed. */
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { breakTrainingLock, listVersions } from '../../container/src/training/registry';
import { MANIFEST_FILE } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import type { Evaluation } from '../../contract/training';
import { progress, progressDone } from '../commands';
import type { Target } from '../target';
import { reproduce } from './reproduce';
import { describeRun, parseParameters, parseSince, train } from './train';

export interface TrainFlags {
  model: string;
  data?: string;
  withFeedback: boolean;
  since: string;
  param?: string[];
  shadow: boolean;
  reproduce?: string;
  breakLock: boolean;
  dataDir: string;
}

function localOnly(target: Target): void {
  if (target.kind !== 'local')
    throw new Error('mlship train runs on the local system; on AWS the training state machine runs it (see docs/retraining.md).');
}

/** Runs a training (or a reproduction) and prints its outcome; the exit code is 1 when the candidate was refused. */
export async function runTrainCommand(target: Target, flags: TrainFlags): Promise<number> {
  localOnly(target);
  const manifest = readManifestFile(join(resolve(flags.model), MANIFEST_FILE));
  if (flags.reproduce !== undefined) {
    progress(`reproducing ${manifest.name} ${flags.reproduce}…`);
    const r = await reproduce(target, manifest.name, flags.reproduce);
    progressDone();
    process.stdout.write(
      `${r.model} ${r.version}: ${r.samePredictions ? 'reproduced' : 'NOT reproduced'} — ${r.detail}${r.identicalOnnx ? ' The ONNX files are identical.' : ''}\n`,
    );
    return r.samePredictions ? 0 : 1;
  }
  if (flags.breakLock) {
    const s3 = new S3Client(target.s3);
    await breakTrainingLock(s3, target.bucketName, manifest.name).finally(() => s3.destroy());
  }
  const result = await train(target, {
    modelDir: flags.model,
    data: flags.data,
    withFeedback: flags.withFeedback,
    sinceDays: parseSince(flags.since),
    parameters: parseParameters(flags.param ?? []),
    dataDir: flags.dataDir,
    onProgress: progress,
  });
  progressDone();
  process.stdout.write(`${describeRun(result)}\n`);
  if (flags.shadow && !result.registered) process.stdout.write('  --shadow: nothing handed over; the routing is unchanged.\n');
  if (flags.shadow && result.registered) {
    const { describeHandOver, handOverToShadow } = await import('./hand-over');
    const version = result.evaluation.version;
    process.stdout.write(`${describeHandOver(version, await handOverToShadow(target, { model: manifest.name, version }))}\n`);
  }
  return result.registered ? 0 : 1;
}

/** The registered versions as a table (or JSON). */
export async function runRegistryCommand(target: Target, flags: { model: string; json: boolean }): Promise<string> {
  const manifest = readManifestFile(join(resolve(flags.model), MANIFEST_FILE));
  const versions = await registeredVersions(target, manifest.name);
  return flags.json ? JSON.stringify(versions, null, 2) : formatRegistered(manifest.name, versions);
}

/** The model's registered versions with their evaluations, oldest first (`mlship registry`, `mlship versions --all`). */
export async function registeredVersions(target: Pick<Target, 's3' | 'bucketName'>, model: string): Promise<Evaluation[]> {
  const s3 = new S3Client(target.s3);
  try {
    return await listVersions(s3, target.bucketName, model);
  } finally {
    s3.destroy();
  }
}

export function formatRegistered(model: string, versions: readonly Evaluation[]): string {
  if (versions.length === 0) return `${model} has no registered versions yet (mlship train registers one).`;
  const metric = (e: Evaluation) =>
    e.candidate.kind === 'classification'
      ? `acc ${n(e.candidate.accuracy)}  F1 ${n(e.candidate.macroF1)}  AUC ${n(e.candidate.rocAuc)}`
      : `MAE ${n(e.candidate.mae)}  RMSE ${n(e.candidate.rmse)}  R² ${n(e.candidate.r2)}`;
  const lines = versions.map(
    (e) =>
      `${e.version.padEnd(10)}  ${e.createdAt.padEnd(24)}  ${(e.parentVersion ?? '-').padEnd(8)}  ${metric(e)}  (${e.candidate.count} held out, snapshot ${e.snapshot.sha256.slice(0, 12)})`,
  );
  return [`${'version'.padEnd(10)}  ${'registered'.padEnd(24)}  ${'parent'.padEnd(8)}  held-out metrics`, ...lines].join('\n');
}

function n(v: number | null): string {
  return v === null ? 'n/a' : v.toFixed(4);
}
