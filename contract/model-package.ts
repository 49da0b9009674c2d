/**
 * Packs a model directory into `model.tar.gz`, the archive SageMaker's `ModelDataUrl` expects and the
 * Fargate container downloads. The archive holds exactly `model.json` and the ONNX file it names, at the
 * archive root, and is byte-for-byte reproducible: fixed mtime and mode, no owner or host fields, sorted
 * entries, and a gzip header without a timestamp or OS byte. Same model files give the same sha256 on
 * every machine, so the CDK asset hash (and the deployed object) only changes when the model does.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import { MANIFEST_FILE } from './manifest';
import { readManifestFile } from './model-files';
import { readOnnx } from './onnx-graph';

/** Every entry gets this mtime: the archive must not depend on when the files were checked out. */
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');
/** Every entry gets this mode: umask and executable bits differ between machines. */
const FILE_MODE = 0o100644;

export interface ModelPackage {
  /** Hex sha256 of the written archive. */
  sha256: string;
  /** Files in the archive, in order. */
  files: string[];
}

/**
 * The files a model package holds: the manifest, the ONNX file it names and the files that ONNX file
 * keeps tensors in (external data), sorted. Throws on a bad manifest or a missing file.
 */
export function modelPackageFiles(modelDir: string): string[] {
  const manifestPath = join(modelDir, MANIFEST_FILE);
  const manifest = readManifestFile(manifestPath);
  const { externalData } = readOnnx(readFileSync(join(modelDir, manifest.file)), manifest.file);
  const files = [MANIFEST_FILE, manifest.file, ...externalData].sort();
  for (const f of files) {
    if (!statSync(join(modelDir, f)).isFile()) throw new Error(`${join(modelDir, f)} is not a regular file`);
  }
  return files;
}

function packOptions(modelDir: string, outFile: string) {
  return {
    file: outFile,
    cwd: modelDir,
    gzip: true,
    portable: true,
    mtime: FIXED_MTIME,
    noDirRecurse: true,
    onWriteEntry: (entry: { stat?: { mode: number } }) => {
      if (entry.stat) entry.stat.mode = FILE_MODE;
    },
  };
}

/** Writes `outFile` (creating its directory) and returns its sha256. */
export async function packModel(modelDir: string, outFile: string): Promise<ModelPackage> {
  const files = modelPackageFiles(modelDir);
  mkdirSync(dirname(outFile), { recursive: true });
  await tar.create(packOptions(modelDir, outFile), files);
  return { sha256: sha256Of(await readFile(outFile)), files };
}

/** Synchronous variant for CDK synthesis, which cannot await. */
export function packModelSync(modelDir: string, outFile: string): ModelPackage {
  const files = modelPackageFiles(modelDir);
  mkdirSync(dirname(outFile), { recursive: true });
  tar.create({ ...packOptions(modelDir, outFile), sync: true }, files);
  return { sha256: sha256Of(readFileSync(outFile)), files };
}

function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
