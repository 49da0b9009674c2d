/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * The retraining loop end to end on the local system: `npm start` has put the example datasets under
 * `datasets/<name>/`; predictions are served and fed back; `train` snapshots the dataset and the labeled
 * traffic (holding the most recent out), runs breast-cancer's train.py under the script-mode contract,
 * evaluates the candidate and the champion, and registers a version that serves and that
 * `--reproduce` retrains to the same predictions; `--shadow` puts it in the shadow of the running system
 * without a restart. A poisoned run (labels shuffled) is refused.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as tar from 'tar';
import type { Target } from '../../cli/target';
import { formatRegistered, registeredVersions } from '../../cli/train/command';
import { describeHandOver, handOverToShadow } from '../../cli/train/hand-over';
import { reproduce } from '../../cli/train/reproduce';
import { train } from '../../cli/train/train';
import { versionsReport } from '../../cli/versions';
import { heldOutMetrics } from '../../container/src/evaluate/evaluate';
import { loadModel } from '../../container/src/model';
import { downloadVersion, listVersions, registerVersion, TrainingBusyError, takeTrainingLock } from '../../container/src/training/registry';
import { modelPackageKey, REGISTRY_FILES, registryPrefix } from '../../contract/bucket';
import { parseCsv } from '../../contract/csv';
import { ENV } from '../../contract/env';
import { type PredictionRecord, shadowRecordsOf } from '../../contract/prediction-log';
import { PredictionLogStore } from '../../lambda/log/prediction-log-store';
import { dynamoClient } from '../../local/dynamodb';
import { LOCAL_NAMES, PROJECT_ROOT, S3RVER_CREDENTIALS } from '../../local/paths';
import { type LocalSystem, startLocal } from '../../local/system';
import { describeWithTools } from '../support/external-tools';
import { until } from '../support/poll';

const MODEL_DIR = join(PROJECT_ROOT, 'models', 'breast-cancer');
const SERVED = 100;

function targetOf(local: LocalSystem): Target {
  const credentials = { ...S3RVER_CREDENTIALS };
  return {
    kind: 'local',
    label: 'test',
    apiUrl: local.url,
    apiKey: local.apiKey,
    bucketName: local.bucketName,
    tableName: local.tableName,
    logDlqUrl: local.logDlqUrl,
    awsEnv: { AWS_REGION: LOCAL_NAMES.region, [ENV.DYNAMODB_URL]: local.dynamodbUrl },
    s3: { endpoint: local.s3Url, forcePathStyle: true, credentials, region: LOCAL_NAMES.region },
    sqs: { endpoint: local.sqsUrl, region: LOCAL_NAMES.region, credentials },
  };
}

// train.py needs Python's training stack (scikit-learn, onnx); without it the suite is skipped and named.
describeWithTools(['python3-sklearn'], 'mlship train on the local system', () => {
  let local: LocalSystem;
  let target: Target;
  let s3: S3Client;
  let dataDir: string;
  const header = parseCsv(readFileSync(join(MODEL_DIR, 'dataset.csv'), 'utf8'), 10_000)[0]?.cells ?? [];
  const rows = parseCsv(readFileSync(join(MODEL_DIR, 'dataset.csv'), 'utf8'), 10_000).slice(1);
  const labelAt = header.indexOf('label');
  /** The served rows with their ids, in the order they were served (oldest first). */
  const served: { id: string; label: string; input: number[] }[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mlship-train-test-'));
    local = await startLocal({ port: 0, inMemory: true, modelDir: MODEL_DIR, replayIntervalMs: 0, analyticsIntervalMs: 0 });
    target = targetOf(local);
    s3 = new S3Client(target.s3);
    const api = (path: string, body: unknown) =>
      fetch(local.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': local.apiKey },
        body: JSON.stringify(body),
      });
    // Serve rows spread over the dataset, one request each so their times order them, then feed back the truth.
    for (let i = 0; i < SERVED; i++) {
      const r = rows[(i * 5 + 2) % rows.length]?.cells ?? [];
      const input = r.filter((_, j) => j !== labelAt).map(Number);
      const answer = (await (await api('/predict', { instances: [input] })).json()) as { predictions: { id: string }[] };
      served.push({ id: answer.predictions[0]?.id ?? '', label: r[labelAt] ?? '', input });
    }
    for (const s of served) expect((await api(`/predictions/${s.id}/feedback`, { label: s.label })).status).toBe(200);
    await local.flushAnalytics();
  }, 120_000);

  afterAll(async () => {
    s3?.destroy();
    await local?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('finds each example model’s dataset under datasets/<name>/ after start', async () => {
    for (const name of ['breast-cancer', 'digits', 'diabetes-risk', 'diabetes-progression']) {
      await expect(
        s3.send(new HeadObjectCommand({ Bucket: local.bucketName, Key: `datasets/${name}/dataset.csv` })),
      ).resolves.toBeDefined();
    }
  });

  let version = '';

  it('registers a version whose evaluation is right, which serves, once', async () => {
    // WHEN the model is retrained on its dataset and the labeled traffic
    const result = await train(target, { modelDir: MODEL_DIR, withFeedback: true, dataDir });
    const e = result.evaluation;
    version = e.version;
    // THEN the most recent 30 % of the labeled traffic was held out, and the candidate passed
    expect(e.version).toBe('1.0.1');
    expect(e.parentVersion).toBe('1.0.0');
    expect(e.heldOut.rows).toBe(30);
    expect(e.parity.passed).toBe(true);
    expect(e.verdict).toEqual({ handOver: true, reasons: [] });
    expect(result.registered).toBe(`s3://${local.bucketName}/${registryPrefix('breast-cancer', '1.0.1')}`);
    expect(e.snapshot.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(e.libraries).sort()).toEqual(['numpy', 'onnx', 'onnxruntime-node', 'python', 'sklearn']);
    expect(e.parameters).toEqual({ 'model-version': '1.0.1' });

    // AND the registered package loads as the server loads it, and its metrics on the held-out traffic are the recorded ones
    const dir = mkdtempSync(join(tmpdir(), 'mlship-registered-'));
    try {
      await downloadVersion(s3, local.bucketName, 'breast-cancer', version, dir);
      await tar.x({ file: join(dir, 'model.tar.gz'), cwd: dir });
      const model = await loadModel(dir);
      const recent = served.slice(SERVED - 30);
      const predictions = await model.run(recent.map((s) => Float32Array.from(s.input)));
      await model.close();
      expect(
        heldOutMetrics(
          model.manifest,
          recent.map((s) => s.label),
          predictions,
        ),
      ).toEqual(e.candidate);
      expect(e.candidate.kind === 'classification' && e.candidate.accuracy).toBeGreaterThan(0.85);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // AND the version is listed, and never overwritten
    expect((await listVersions(s3, local.bucketName, 'breast-cancer')).map((v) => v.version)).toEqual(['1.0.1']);
    await expect(
      registerVersion(s3, local.bucketName, { modelDir: MODEL_DIR, archive: '/nonexistent', code: [], evaluation: e }),
    ).rejects.toThrow(/registered already/);
    const pkg = await s3.send(new HeadObjectCommand({ Bucket: local.bucketName, Key: modelPackageKey('breast-cancer', version) }));
    expect(pkg.ContentLength).toBeGreaterThan(0);
  }, 120_000);

  it('--shadow: puts the accepted version in the shadow of the running system, without a restart', async () => {
    // WHEN the registered version is handed over while the system runs
    const h = await handOverToShadow(target, { model: 'breast-cancer', version });
    // THEN the routing state names it as the challenger in shadow, marked as taken from the registry
    expect(h).toMatchObject({ handedOver: true, after: { champion: '1.0.0', challenger: version, mode: 'shadow', percent: 100 } });
    expect(h.handedOver && h.after.registered).toEqual([version]);
    expect(describeHandOver(version, h)).toMatch(/1\.0\.1 is the challenger in shadow of 1\.0\.0/);
    // AND the next predictions are answered by the champion and shadowed by the new version, which the
    // model server loaded from the registry on the first request naming it (its first shadows may time out)
    const from = new Date();
    const log = new PredictionLogStore(dynamoClient(local.dynamodbUrl), local.tableName);
    let shadowed: PredictionRecord | undefined;
    await until(`a shadow prediction of ${version}`, async () => {
      const res = await fetch(`${local.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': local.apiKey },
        body: JSON.stringify({ instances: [served[0]?.input] }),
      });
      expect(res.headers.get('x-mlship-model')).toBe('breast-cancer/1.0.0');
      // The shadow prediction is logged inside the answered item.
      const { records } = await log.readWindow('breast-cancer', from, new Date(Date.now() + 1000), 1000);
      shadowed = shadowRecordsOf(records).find((r) => r.modelVersion === version && r.shadowError === undefined);
      return shadowed !== undefined;
    });
    expect(shadowed?.label).toBe(served[0]?.label);
    // AND mlship versions shows it as the challenger in shadow, with its shadow predictions
    const report = await versionsReport(target, local.manifest, 3_600_000);
    expect(report.state).toMatchObject({ challenger: version, mode: 'shadow', updatedBy: 'training' });
    expect(report.versions.find((v) => v.version === version)).toMatchObject({ role: 'challenger', shadowing: true });
    expect(report.versions.find((v) => v.version === version)?.shadow).toBeGreaterThan(0);
    // AND `mlship versions --all` lists it among the registered versions with its held-out metrics
    const registered = await registeredVersions(target, 'breast-cancer');
    expect(formatRegistered('breast-cancer', registered)).toMatch(/^1\.0\.1 .* acc [01]\.\d{4}/m);
    // AND a second hand-over of the same version changes nothing
    expect(await handOverToShadow(target, { model: 'breast-cancer', version })).toMatchObject({ handedOver: true });
  }, 60_000);

  it('reproduces the registered version from its snapshot, code and parameters', async () => {
    const r = await reproduce(target, 'breast-cancer', version);
    expect(r).toMatchObject({ samePredictions: true, model: 'breast-cancer', version });
    expect(r.maxDifference).toBeLessThan(1e-6);
  }, 120_000);

  it('refuses a poisoned run (labels shuffled) and registers nothing', async () => {
    // GIVEN the dataset with its labels shuffled (seeded)
    const poisoned = join(dataDir, 'poisoned.csv');
    let seed = 7;
    const labels = rows.map((r) => r.cells[labelAt] ?? '');
    for (let i = labels.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [labels[i], labels[j]] = [labels[j] as string, labels[i] as string];
    }
    writeFileSync(
      poisoned,
      [header.join(','), ...rows.map((r, i) => r.cells.map((c, j) => (j === labelAt ? labels[i] : c)).join(','))].join('\n'),
    );
    // WHEN a run trains on it, judged on the same held-out traffic
    const result = await train(target, { modelDir: MODEL_DIR, data: poisoned, withFeedback: true, dataDir });
    // THEN the policy refuses it with the reason, and the registry is unchanged
    expect(result.registered).toBeUndefined();
    expect(result.evaluation.verdict.handOver).toBe(false);
    expect(result.evaluation.verdict.reasons.join(' ')).toMatch(/accuracy .* below the champion's/);
    expect((await listVersions(s3, local.bucketName, 'breast-cancer')).map((v) => v.version)).toEqual(['1.0.1']);
    await expect(
      s3.send(
        new GetObjectCommand({
          Bucket: local.bucketName,
          Key: `${registryPrefix('breast-cancer', result.evaluation.version)}${REGISTRY_FILES.evaluation}`,
        }),
      ),
    ).rejects.toThrow();
  }, 120_000);

  it('runs one training at a time per model', async () => {
    const release = await takeTrainingLock(s3, local.bucketName, 'breast-cancer', 'another run');
    try {
      await expect(train(target, { modelDir: MODEL_DIR, dataDir })).rejects.toThrow(TrainingBusyError);
    } finally {
      await release();
    }
  });
});
