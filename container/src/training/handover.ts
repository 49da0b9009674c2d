/**
 * The loop's last step, apart from the rest, shared by `mlship train` and the container's `evaluate`
 * command on AWS: the decision is recorded under the run's prefix whatever it is; a candidate the
 * policy accepts (and whose parity holds) is registered, one it refuses is not, and the run ends with
 * the reasons.
 */
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DECISION_FILE, trainingRunPrefix } from '../../../contract/bucket';
import { packModel } from '../../../contract/model-package';
import type { Evaluation } from '../../../contract/training';
import { registerVersion } from './registry';

/** Records the run's decision and registers an accepted candidate; returns where it is registered. */
export async function handOver(
  s3: S3Client,
  bucket: string,
  opts: {
    modelDir: string;
    scratch: string;
    /** The run id: the decision goes to `training/runs/<model>/<run>/decision.json`. */
    run: string;
    code: { name: string; path: string }[];
    evaluation: Evaluation;
    progress: (m: string) => void;
  },
): Promise<string | undefined> {
  const { evaluation } = opts;
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `${trainingRunPrefix(evaluation.model, opts.run)}${DECISION_FILE}`,
      Body: `${JSON.stringify(evaluation, null, 1)}\n`,
      ContentType: 'application/json',
    }),
  );
  if (!evaluation.verdict.handOver) return undefined;
  opts.progress(`registering ${evaluation.model} ${evaluation.version}`);
  const archive = join(opts.scratch, 'package', 'model.tar.gz');
  await packModel(opts.modelDir, archive);
  return registerVersion(s3, bucket, { modelDir: opts.modelDir, archive, code: opts.code, evaluation });
}
