/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * The container's `snapshot` and `evaluate` commands, as the training state machine's Processing jobs run
 * them, against a real S3 (s3rver): the snapshot and its pointer are written for the run, and a candidate
 * is evaluated against the champion on the snapshot's held-out rows, its decision recorded and the
 * version registered.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as tar from 'tar';
import { trainingContainerCommands } from '../../container/src/training/command';
import { getJson } from '../../container/src/training/s3-objects';
import { packModel } from '../../contract/model-package';
import type { Evaluation } from '../../contract/training';
import { PROJECT_ROOT, S3RVER_CREDENTIALS } from '../../local/paths';
import { type EmbeddedS3, startS3 } from '../../local/s3';

const BUCKET = 'mlship-training-test';
const MODEL_DIR = join(PROJECT_ROOT, 'models', 'breast-cancer');

describe('the container’s training commands', () => {
  let dir: string;
  let s3rver: EmbeddedS3;
  let s3: S3Client;
  const saved = { ...process.env };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlship-training-commands-'));
    s3rver = await startS3({ dir: join(dir, 's3'), bucket: BUCKET });
    Object.assign(process.env, {
      MLSHIP_S3_URL: s3rver.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    });
    s3 = new S3Client({ endpoint: s3rver.url, forcePathStyle: true, region: 'us-east-1', credentials: { ...S3RVER_CREDENTIALS } });
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'datasets/breast-cancer/dataset.csv',
        Body: readFileSync(join(MODEL_DIR, 'dataset.csv')),
      }),
    );
    // The Processing inputs: folders holding one model.tar.gz each.
    await packModel(MODEL_DIR, join(dir, 'champion', 'model.tar.gz'));
    const candidate = join(dir, 'candidate-model');
    cpSync(MODEL_DIR, candidate, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(candidate, 'model.json'), 'utf8'));
    writeFileSync(join(candidate, 'model.json'), JSON.stringify({ ...manifest, version: '1.0.1' }));
    mkdirSync(join(dir, 'candidate'));
    // A training job's model.tar.gz holds all of SM_MODEL_DIR: the manifest, the ONNX file, the baseline and the parity vectors.
    await tar.create({ file: join(dir, 'candidate', 'model.tar.gz'), cwd: candidate, gzip: true }, [
      'model.json',
      'model.onnx',
      'baseline.json',
      'parity.json',
    ]);
  });

  afterAll(async () => {
    process.env = saved;
    s3?.destroy();
    await s3rver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('snapshots the dataset for a run, then evaluates, records and registers the candidate', async () => {
    const [snapshot, evaluate] = trainingContainerCommands();
    // WHEN the snapshot step runs for run-1
    await snapshot?.parseAsync(['--bucket', BUCKET, '--champion', join(dir, 'champion'), '--run', 'run-1'], { from: 'user' });
    // THEN the run's pointer names the snapshot and the next version
    const pointer = await getJson<{ sha256: string; version: string; heldOutRows: number }>(
      s3,
      BUCKET,
      'training/runs/breast-cancer/run-1/snapshot.json',
    );
    expect(pointer.version).toBe('1.0.1');
    expect(pointer.heldOutRows).toBe(113);
    expect(pointer.sha256).toMatch(/^[0-9a-f]{64}$/);

    // WHEN the evaluate step runs with the candidate the training job wrote
    await evaluate?.parseAsync(
      [
        '--bucket',
        BUCKET,
        '--candidate',
        join(dir, 'candidate'),
        '--champion',
        join(dir, 'champion'),
        '--run',
        'run-1',
        '--provenance',
        '{"code":{"trainPySha256":"abc"}}',
      ],
      { from: 'user' },
    );
    // THEN the decision is recorded, and the version registered with both models' metrics on the same rows
    const decision = await getJson<Evaluation>(s3, BUCKET, 'training/runs/breast-cancer/run-1/decision.json');
    const registered = await getJson<Evaluation>(s3, BUCKET, 'models/breast-cancer/1.0.1/evaluation.json');
    expect(registered).toEqual(decision);
    expect(registered.verdict).toEqual({ handOver: true, reasons: [] });
    expect(registered.candidate).toEqual(registered.champion);
    expect(registered.snapshot.sha256).toBe(pointer.sha256);
    expect(registered.code.trainPySha256).toBe('abc');
    expect(process.exitCode).toBeUndefined();
  }, 60_000);
});
