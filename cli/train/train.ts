/**
 * `mlship train` on the local system: snapshot → train → evaluate → register, then, as a separate last
 * step, the hand-over decision. One run at a time per model (a lock object in the bucket); the registry
 * entry is written last, so a run that fails anywhere leaves no registered version.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { evaluateCandidate } from '../../container/src/evaluate/evaluate';
import { handOver } from '../../container/src/training/handover';
import { listVersions, nextVersion, takeTrainingLock } from '../../container/src/training/registry';
import { buildSnapshot, labeledQuery, readDataset, trafficRows, writeSnapshot } from '../../container/src/training/snapshot';
import { MANIFEST_FILE, type ModelManifest } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import { type Evaluation, type HandOverPolicy, handOverPolicy } from '../../contract/training';
import { openAnalyticsDb } from '../../local/analytics/duckdb';
import { mirrorAnalytics } from '../../local/analytics/mirror';
import type { Target } from '../target';
import { libraryVersions, runTrainingScript, trainingCode } from './run-script';

export interface TrainOptions {
  /** The model folder: train.py and the champion (model.json + its ONNX file). */
  modelDir: string;
  /** Training data: a CSV file or `s3://bucket/key`. @default - `datasets/<name>/dataset.csv` in the bucket */
  data?: string;
  /** Add the labeled predictions of the analytics store (inputs as served, latest feedback as the label). @default false */
  withFeedback?: boolean;
  /** How far back the labeled predictions go, in days. @default 30 */
  sinceDays?: number;
  /** Hyperparameters for train.py (`--name value`). */
  parameters?: Record<string, string>;
  /** Overrides of the hand-over policy's tolerances. */
  policy?: Partial<HandOverPolicy>;
  /** Where the analytics store is mirrored for DuckDB (the local data folder). */
  dataDir: string;
  maxRuntimeSeconds?: number;
  /** Progress lines. */
  onProgress?: (message: string) => void;
  /** Clock (tests). */
  now?: () => Date;
}

export interface TrainResult {
  evaluation: Evaluation;
  /** `s3://…/models/<name>/<version>/` when the policy accepted the candidate and it was registered. */
  registered?: string;
  snapshotWritten: boolean;
  trainLog: string;
  trainSeconds: number;
}

/** Parses `30d` (days) for `--since`. */
export function parseSince(raw: string): number {
  const m = /^(\d{1,4})d$/.exec(raw.trim());
  if (!m || Number(m[1]) < 1) throw new Error(`--since takes a number of days such as 30d, got "${raw}".`);
  return Number(m[1]);
}

/** `name=value` pairs of `--param` as hyperparameters; names as train.py spells its options (without `--`). */
export function parseParameters(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const at = p.indexOf('=');
    const name = p.slice(0, at);
    if (at < 1 || !/^[a-z][a-z0-9-]*$/.test(name))
      throw new Error(`--param takes name=value (a train.py option without its dashes), got "${p}".`);
    if (name === 'model-version') throw new Error('The run sets --model-version itself (the next registered version).');
    out[name] = p.slice(at + 1);
  }
  return out;
}

function s3Of(target: Target): S3Client {
  return new S3Client(target.s3);
}

/** Labeled predictions of the last `days` days, oldest first, from the analytics store mirrored for DuckDB. */
async function labeledTraffic(s3: S3Client, target: Target, manifest: ModelManifest, dataDir: string, days: number, now: Date) {
  const root = join(dataDir, 'analytics');
  await mirrorAnalytics(s3, target.bucketName, root);
  const db = await openAnalyticsDb(root, manifest);
  try {
    const since = new Date(now.getTime() - days * 86_400_000).toISOString().slice(0, 10);
    const { sql, params } = labeledQuery(manifest, since);
    const rows = trafficRows(manifest, await db.query(sql, params));
    return { rows, source: `labeled predictions of ${manifest.name} since ${since} (${rows.length})` };
  } finally {
    db.close();
  }
}

/** Runs the loop up to the registry; the hand-over is `handOver()`, the caller's next step. */
export async function train(target: Target, opts: TrainOptions): Promise<TrainResult> {
  const progress = opts.onProgress ?? (() => undefined);
  const now = opts.now ?? (() => new Date());
  const modelDir = resolve(opts.modelDir);
  const champion = readManifestFile(join(modelDir, MANIFEST_FILE));
  const code = trainingCode(modelDir);
  const policy = handOverPolicy(opts.policy ?? {});
  const s3 = s3Of(target);
  const scratch = mkdtempSync(join(tmpdir(), 'mlship-train-'));
  let release: (() => Promise<void>) | undefined;
  try {
    release = await takeTrainingLock(s3, target.bucketName, champion.name, `mlship train pid ${process.pid}`);

    progress('snapshot: reading the training data');
    const dataset = await readDataset(s3, target.bucketName, champion.name, opts.data);
    const traffic = opts.withFeedback ? await labeledTraffic(s3, target, champion, opts.dataDir, opts.sinceDays ?? 30, now()) : undefined;
    const snapshot = await writeSnapshot(s3, target.bucketName, buildSnapshot({ manifest: champion, dataset, traffic }));
    progress(`snapshot ${snapshot.sha256.slice(0, 12)}: ${snapshot.trainRows} rows to train on, ${snapshot.heldOutRows} held out`);

    const registered = await listVersions(s3, target.bucketName, champion.name);
    const version = nextVersion(
      champion.version,
      registered.map((v) => v.version),
    );
    const parameters = { ...(opts.parameters ?? {}), 'model-version': version };

    progress(`training ${champion.name} ${version} with ${code.files[0]?.path}`);
    const run = await runTrainingScript({
      code,
      workDir: join(scratch, 'job'),
      train: snapshot.train,
      validation: snapshot.validation,
      parameters,
      maxRuntimeSeconds: opts.maxRuntimeSeconds,
    });

    progress('evaluating the candidate and the champion on the held-out rows');
    const heldOutCsv = join(scratch, 'held-out.csv');
    writeFileSync(heldOutCsv, snapshot.validation);
    const judged = await evaluateCandidate({ candidateDir: run.modelDir, championDir: modelDir, heldOutCsv, policy });
    const candidateManifest = readManifestFile(join(run.modelDir, MANIFEST_FILE));
    if (candidateManifest.name !== champion.name || candidateManifest.version !== version)
      throw new Error(
        `train.py wrote ${candidateManifest.name} ${candidateManifest.version}; the run expected ${champion.name} ${version} (it must honour --model-version).`,
      );
    const evaluation: Evaluation = {
      model: champion.name,
      version,
      parentVersion: champion.version,
      createdAt: now().toISOString(),
      heldOut: { rows: snapshot.heldOutRows, source: snapshot.heldOut },
      ...judged,
      snapshot: {
        sha256: snapshot.sha256,
        uri: snapshot.uri,
        trainRows: snapshot.trainRows,
        heldOutRows: snapshot.heldOutRows,
        sources: snapshot.sources,
      },
      code: { trainPySha256: code.trainPySha256 },
      parameters,
      libraries: await libraryVersions(),
    };
    const result: TrainResult = { evaluation, snapshotWritten: snapshot.written, trainLog: run.log, trainSeconds: run.seconds };
    result.registered = await handOver(s3, target.bucketName, {
      run: `${evaluation.createdAt.replace(/[:.]/g, '-')}-${version}`,
      modelDir: run.modelDir,
      scratch,
      code: code.files,
      evaluation,
      progress,
    });
    return result;
  } finally {
    await release?.().catch(() => undefined);
    s3.destroy();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A run's outcome in a few lines: the metrics of both, the parity, where it is registered and the verdict. */
export function describeRun(r: TrainResult): string {
  const e = r.evaluation;
  const fmt = (m: Evaluation['candidate'] | null) =>
    m === null
      ? 'none'
      : m.kind === 'classification'
        ? `accuracy ${num(m.accuracy)}, macro F1 ${num(m.macroF1)}, ROC AUC ${num(m.rocAuc)} (${m.count} rows)`
        : `MAE ${num(m.mae)}, RMSE ${num(m.rmse)}, R² ${num(m.r2)} (${m.count} rows)`;
  return [
    `${e.model} ${e.version} (parent ${e.parentVersion ?? 'none'}), trained in ${r.trainSeconds.toFixed(1)} s on snapshot ${e.snapshot.sha256.slice(0, 12)}`,
    `  candidate: ${fmt(e.candidate)}`,
    `  champion:  ${fmt(e.champion)}`,
    `  parity:    ${e.parity.passed ? `${e.parity.rows} rows within tolerance` : e.parity.detail}`,
    e.verdict.handOver ? `  registered at ${r.registered}` : `  refused, not registered: ${e.verdict.reasons.join('; ')}`,
  ].join('\n');
}

function num(v: number | null): string {
  return v === null ? 'n/a' : v.toFixed(4);
}
