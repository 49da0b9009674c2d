/**
 * The training state machine's two steps that run the mlship image itself (SageMaker Processing jobs), so
 * they share their code with `mlship train` on a laptop:
 * - `snapshot`: the dataset under `datasets/<model>/` plus (opt-in) the labeled predictions an Athena
 *   UNLOAD wrote, split and written once under their content hash; the run's pointer (hash, next version)
 *   goes to `training/runs/<model>/<run>/snapshot.json` for the state machine to read;
 * - `evaluate`: the training job's model against the champion on the snapshot's held-out rows, then the
 *   hand-over (decision recorded; an accepted version registered under `models/<name>/<version>/`).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import * as tar from 'tar';
import { trainingRunPrefix } from '../../../contract/bucket';
import { parseCsv } from '../../../contract/csv';
import { ENV } from '../../../contract/env';
import { MANIFEST_FILE } from '../../../contract/manifest';
import { readManifestFile } from '../../../contract/model-files';
import { type Evaluation, handOverPolicy } from '../../../contract/training';
import { evaluateCandidate } from '../evaluate/evaluate';
import { handOver } from './handover';
import { listVersions, nextVersion } from './registry';
import { getText } from './s3-objects';
import { buildSnapshot, readDataset, readSnapshot, writeSnapshot } from './snapshot';

/** The run's pointer to its snapshot, read by the state machine. */
export const RUN_SNAPSHOT_FILE = 'snapshot.json';

/** A model folder from a folder or a `model.tar.gz` (a Processing input is the file itself). */
function modelFolder(path: string, scratch: string, name: string): string {
  if (statSync(path).isDirectory()) {
    const tars = readdirSync(path).filter((f) => f.endsWith('.tar.gz'));
    if (tars.length !== 1 || readdirSync(path).includes(MANIFEST_FILE)) return path;
    return modelFolder(join(path, tars[0] as string), scratch, name);
  }
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  tar.x({ file: path, cwd: dir, sync: true });
  return dir;
}

/** Rows of the CSV files an Athena UNLOAD wrote (no header; the query's columns in order), all but the time column. */
async function unloadedRows(s3: S3Client, bucket: string, prefix: string): Promise<string[][]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const rows: string[][] = [];
  for (const key of keys.sort()) for (const r of parseCsv(await getText(s3, bucket, key), 5_000_000)) rows.push(r.cells.slice(0, -1));
  return rows;
}

export function trainingContainerCommands(): Command[] {
  const snapshot = new Command('snapshot')
    .description('Write the training snapshot of a run (dataset + opt-in labeled predictions) and its pointer')
    .requiredOption('--bucket <name>', 'the data bucket')
    .requiredOption('--champion <path>', 'the serving model (folder or model.tar.gz)')
    .requiredOption('--run <id>', 'the run id (the state machine execution name)')
    .option('--labeled-prefix <prefix>', 'where the Athena UNLOAD of the labeled predictions wrote (key prefix)')
    .action(async (flags: { bucket: string; champion: string; run: string; labeledPrefix?: string }) => {
      const scratch = mkdtempSync(join(tmpdir(), 'mlship-snapshot-'));
      const s3 = bucketClient();
      try {
        const champion = readManifestFile(join(modelFolder(flags.champion, scratch, 'champion'), MANIFEST_FILE));
        const dataset = await readDataset(s3, flags.bucket, champion.name, undefined);
        // The UNLOAD sorted by time: its order is the split's.
        const traffic = flags.labeledPrefix
          ? { rows: await unloadedRows(s3, flags.bucket, flags.labeledPrefix), source: `s3://${flags.bucket}/${flags.labeledPrefix}` }
          : undefined;
        const written = await writeSnapshot(s3, flags.bucket, buildSnapshot({ manifest: champion, dataset, traffic }));
        const version = nextVersion(
          champion.version,
          (await listVersions(s3, flags.bucket, champion.name)).map((v) => v.version),
        );
        const { train: _t, validation: _v, ...pointer } = { ...written, version, parentVersion: champion.version };
        await s3.send(
          new PutObjectCommand({
            Bucket: flags.bucket,
            Key: `${trainingRunPrefix(champion.name, flags.run)}${RUN_SNAPSHOT_FILE}`,
            Body: JSON.stringify(pointer),
            ContentType: 'application/json',
          }),
        );
        process.stdout.write(`${JSON.stringify(pointer)}\n`);
      } finally {
        s3.destroy();
        rmSync(scratch, { recursive: true, force: true });
      }
    });

  const evaluate = new Command('evaluate')
    .description('Evaluate a trained candidate against the champion on the snapshot, record the decision, register it if accepted')
    .requiredOption('--bucket <name>', 'the data bucket')
    .requiredOption('--candidate <path>', 'the training job output (folder or model.tar.gz)')
    .requiredOption('--champion <path>', 'the serving model (folder or model.tar.gz)')
    .requiredOption('--run <id>', 'the run id')
    .option('--policy <json>', 'overrides of the hand-over policy', '{}')
    .option('--provenance <json>', 'code hash, parameters and libraries of the training job', '{}')
    .action(async (flags: { bucket: string; candidate: string; champion: string; run: string; policy: string; provenance: string }) => {
      const scratch = mkdtempSync(join(tmpdir(), 'mlship-evaluate-'));
      const s3 = bucketClient();
      try {
        const championDir = modelFolder(flags.champion, scratch, 'champion');
        const candidateDir = modelFolder(flags.candidate, scratch, 'candidate');
        const champion = readManifestFile(join(championDir, MANIFEST_FILE));
        const pointer = JSON.parse(
          await getText(s3, flags.bucket, `${trainingRunPrefix(champion.name, flags.run)}${RUN_SNAPSHOT_FILE}`),
        ) as Evaluation['snapshot'] & { version: string; heldOut: string };
        const { validation } = await readSnapshot(s3, flags.bucket, champion.name, pointer.sha256);
        const heldOutCsv = join(scratch, 'held-out.csv');
        writeFileSync(heldOutCsv, validation);
        const judged = await evaluateCandidate({ candidateDir, championDir, heldOutCsv, policy: handOverPolicy(JSON.parse(flags.policy)) });
        const provenance = JSON.parse(flags.provenance) as Partial<Pick<Evaluation, 'code' | 'parameters' | 'libraries'>>;
        const evaluation: Evaluation = {
          model: champion.name,
          version: readManifestFile(join(candidateDir, MANIFEST_FILE)).version,
          parentVersion: champion.version,
          createdAt: new Date().toISOString(),
          heldOut: { rows: pointer.heldOutRows, source: pointer.heldOut },
          ...judged,
          snapshot: {
            sha256: pointer.sha256,
            uri: pointer.uri,
            trainRows: pointer.trainRows,
            heldOutRows: pointer.heldOutRows,
            sources: pointer.sources,
          },
          code: { trainPySha256: provenance.code?.trainPySha256 ?? 'unknown' },
          parameters: provenance.parameters ?? {},
          libraries: { ...(provenance.libraries ?? {}), 'onnxruntime-node': onnxruntimeVersion() },
        };
        const registered = await handOver(s3, flags.bucket, {
          modelDir: candidateDir,
          scratch,
          run: flags.run,
          code: [],
          evaluation,
          progress: () => undefined,
        });
        process.stdout.write(`${JSON.stringify({ registered: registered ?? null, verdict: evaluation.verdict })}\n`);
        if (!registered) process.exitCode = 2;
      } finally {
        s3.destroy();
        rmSync(scratch, { recursive: true, force: true });
      }
    });
  return [snapshot, evaluate];
}

/** The bucket's client: AWS's endpoint, or the one MLSHIP_S3_URL names (the local S3, path-style), as the model download does. */
function bucketClient(): S3Client {
  const url = process.env[ENV.S3_URL];
  return new S3Client(url ? { endpoint: url, forcePathStyle: true } : {});
}

function onnxruntimeVersion(): string {
  return (JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
}
