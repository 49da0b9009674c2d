/**
 * `mlship train --reproduce <version>`: retrains a registered version from what it recorded — its
 * snapshot (checked against its hash), its code (`code/` of the version, train.py checked against its
 * sha256) and its parameters — and answers whether the result predicts the version's parity vectors as
 * the registered model does, within the golden-set tolerance, and whether the ONNX files are identical.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import * as tar from 'tar';
import { loadModel } from '../../container/src/model';
import { CODE_FOLDER, downloadVersion, readVersion } from '../../container/src/training/registry';
import { readSnapshot } from '../../container/src/training/snapshot';
import { compareGolden, describeVerdict, parseGoldenSet } from '../../contract/golden';
import { packsFloat32, type Row } from '../../contract/manifest';
import type { Target } from '../target';
import { runTrainingScript, SCRIPT_HELPERS, TRAIN_SCRIPT } from './run-script';

export interface Reproduction {
  model: string;
  version: string;
  /** The retrained model answers the registered parity vectors as the registered model does (golden tolerance). */
  samePredictions: boolean;
  /** Largest difference between the two models' answers over the parity vectors. */
  maxDifference: number;
  /** The ONNX files are byte for byte the same. */
  identicalOnnx: boolean;
  detail: string;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function reproduce(target: Target, model: string, version: string): Promise<Reproduction> {
  const s3 = new S3Client(target.s3);
  const scratch = mkdtempSync(join(tmpdir(), 'mlship-reproduce-'));
  try {
    const evaluation = await readVersion(s3, target.bucketName, model, version);
    const registered = join(scratch, 'registered');
    await downloadVersion(s3, target.bucketName, model, version, registered);
    await tar.x({ file: join(registered, 'model.tar.gz'), cwd: registered });
    const codeDir = join(registered, CODE_FOLDER);
    const trainPy = join(codeDir, TRAIN_SCRIPT);
    if (sha256(readFileSync(trainPy)) !== evaluation.code.trainPySha256)
      throw new Error(`The registered ${TRAIN_SCRIPT} of ${model} ${version} does not match the sha256 its evaluation recorded.`);
    const code = {
      files: [TRAIN_SCRIPT, ...SCRIPT_HELPERS]
        .filter((f) => existsSync(join(codeDir, f)))
        .map((name) => ({ name, path: join(codeDir, name) })),
      trainPySha256: evaluation.code.trainPySha256,
    };
    const snapshot = await readSnapshot(s3, target.bucketName, model, evaluation.snapshot.sha256);
    mkdirSync(join(scratch, 'job'));
    const run = await runTrainingScript({ code, workDir: join(scratch, 'job'), ...snapshot, parameters: evaluation.parameters });

    const golden = parseGoldenSet(JSON.parse(readFileSync(join(registered, 'parity.json'), 'utf8')));
    const before = await loadModel(registered);
    const after = await loadModel(run.modelDir);
    try {
      const rows: Row[] = golden.rows.map((r) => (packsFloat32(before.manifest) ? Float32Array.from(r.input) : r.input));
      const want = await before.run(rows);
      const got = await after.run(rows);
      // The registered model's own answers are the expectation: the question is "same model?", not "same as training".
      const expected = {
        labels: golden.labels,
        rows: want.map((p, i) => {
          const input = golden.rows[i]?.input ?? [];
          return 'value' in p
            ? { input, value: p.value }
            : { input, label: p.label, probabilities: (golden.labels ?? []).map((l) => p.probabilities[l] ?? Number.NaN) };
        }),
      };
      const verdict = compareGolden(expected, got);
      const onnx = (dir: string, file: string) => sha256(readFileSync(join(dir, file)));
      return {
        model,
        version,
        samePredictions: verdict.passed,
        maxDifference: verdict.maxDifference,
        identicalOnnx: onnx(registered, before.manifest.file) === onnx(run.modelDir, after.manifest.file),
        detail: describeVerdict(verdict),
      };
    } finally {
      await before.close();
      await after.close();
    }
  } finally {
    s3.destroy();
    rmSync(scratch, { recursive: true, force: true });
  }
}
