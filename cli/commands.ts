/** What each `mlship` subcommand does, apart from its command-line wiring (cli/program.ts). */

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { modelPackageKey, PACKAGE_DIGEST_LENGTH } from '../contract/bucket';
import { ENV } from '../contract/env';
import { MANIFEST_FILE, type ModelManifest } from '../contract/manifest';
import { readManifestFile } from '../contract/model-files';
import { packModel } from '../contract/model-package';
import type { PredictResponse } from '../contract/prediction';
import type { PredictionRecord } from '../contract/prediction-log';
import { PredictionLogStore } from '../lambda/log/prediction-log-store';
import { createReplayHandler } from '../lambda/log/replay';
import { lazyS3 } from '../lambda/runtime/lazy-clients';
import { PROJECT_ROOT } from '../local/paths';
import { type DrainResult, drainQueue } from '../local/replay-loop';
import { ApiCallError, callApi } from './api';
import { predictRequest } from './invoke-input';
import type { Target } from './target';

/** One line of progress on a terminal (rewritten in place); nothing when stderr is a pipe or file. */
export function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${message}`);
}
export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
}

export async function invoke(target: Target, inputs: string[], opts: { idempotencyKey?: string }): Promise<PredictResponse> {
  const { contentType, body } = predictRequest(inputs);
  return callApi<PredictResponse>(target, '/predict', { method: 'POST', body, contentType, idempotencyKey: opts.idempotencyKey });
}

export interface UploadResult {
  s3Uri: string;
  bytes: number;
  sha256: string;
  manifest: ModelManifest;
}

/** Packs the model folder exactly as the deploy path does and puts it at `models/<name>/<version>/<digest>/model.tar.gz`. */
export async function uploadModel(target: Target, modelDir: string): Promise<UploadResult> {
  const dir = resolve(modelDir);
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifest = readManifestFile(manifestPath);
  const scratch = mkdtempSync(join(tmpdir(), 'mlship-upload-'));
  const s3 = new S3Client(target.s3);
  try {
    progress(`packing ${manifest.name} ${manifest.version}…`);
    const archive = join(scratch, 'model.tar.gz');
    const { sha256 } = await packModel(dir, archive);
    const body = readFileSync(archive);
    const key = modelPackageKey(manifest.name, manifest.version, sha256.slice(0, PACKAGE_DIGEST_LENGTH));
    progress(`uploading ${body.length} bytes to s3://${target.bucketName}/${key}…`);
    await s3.send(new PutObjectCommand({ Bucket: target.bucketName, Key: key, Body: body, ContentType: 'application/gzip' }));
    progressDone();
    return { s3Uri: `s3://${target.bucketName}/${key}`, bytes: body.length, sha256, manifest };
  } finally {
    s3.destroy();
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface ListOptions {
  limit?: number;
  version?: string;
  from?: string;
  to?: string;
}

export interface PredictionPage {
  items: PredictionRecord[];
  cursor?: string;
}

export function listPredictions(target: Target, opts: ListOptions): Promise<PredictionPage> {
  const q = new URLSearchParams();
  if (opts.limit !== undefined) q.set('limit', String(opts.limit));
  if (opts.version) q.set('version', opts.version);
  if (opts.from) q.set('from', opts.from);
  if (opts.to) q.set('to', opts.to);
  const qs = q.toString();
  return callApi<PredictionPage>(target, `/predictions${qs ? `?${qs}` : ''}`);
}

/** Prints new predictions as they arrive until `signal` aborts; the first poll prints the latest page. */
export async function followPredictions(
  target: Target,
  opts: ListOptions & { intervalMs: number; json: boolean },
  signal: AbortSignal,
): Promise<void> {
  const seen = new Set<string>();
  while (!signal.aborted) {
    const page = await listPredictions(target, opts);
    const fresh = page.items.filter((i) => !seen.has(i.id)).reverse();
    for (const item of fresh) {
      seen.add(item.id);
      process.stdout.write(`${opts.json ? JSON.stringify(item) : formatRow(item)}\n`);
    }
    await new Promise<void>((done) => {
      const t = setTimeout(done, opts.intervalMs);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          done();
        },
        { once: true },
      );
    });
  }
}

export function formatTable(items: PredictionRecord[]): string {
  if (items.length === 0) return 'No predictions yet.';
  return [HEADER, ...items.map(formatRow)].join('\n');
}

const HEADER = `${'time'.padEnd(24)}  ${'id'.padEnd(26)}  ${'prediction'.padEnd(16)}  ${'ms'.padStart(6)}  feedback`;

function formatRow(item: PredictionRecord): string {
  const predicted = item.label ?? (item.predictedValue !== undefined ? String(item.predictedValue) : '?');
  return `${item.createdAt.padEnd(24)}  ${item.id.padEnd(26)}  ${predicted.padEnd(16)}  ${String(item.latencyMs).padStart(6)}  ${item.feedback?.label ?? ''}`;
}

/** Records the true label; regression models take a number. `replace` replaces a label already given (else 409). */
export async function feedback(target: Target, id: string, label: string, opts: { replace?: boolean } = {}): Promise<unknown> {
  const model = await callApi<ModelManifest>(target, '/model');
  let value: string | number = label;
  if (model.output.kind === 'regression') {
    value = Number(label);
    if (label.trim() === '' || !Number.isFinite(value))
      throw new Error(`This is a regression model: the label must be a number, got "${label}".`);
  }
  const body = JSON.stringify(opts.replace ? { label: value, replace: true } : { label: value });
  try {
    return await callApi(target, `/predictions/${encodeURIComponent(id)}/feedback`, { method: 'POST', body });
  } catch (e) {
    if (!(e instanceof ApiCallError && e.status === 409)) throw e;
    const arg = /^[\w.+-]+$/.test(label) ? label : JSON.stringify(label);
    throw new ApiCallError(e.status, e.code, `${e.reason} With mlship: mlship feedback ${id} ${arg} --replace`);
  }
}

/**
 * Drains the log dead-letter queue through the replay handler itself (the same code the deployed replay
 * function runs), given the target's table, queue and bucket.
 */
export async function replay(target: Target, maxBatches: number): Promise<DrainResult> {
  const ddb = new DynamoDBClient({
    endpoint: target.awsEnv[ENV.DYNAMODB_URL],
    region: target.awsEnv.AWS_REGION,
    credentials: target.s3.credentials,
  });
  const s3 = new S3Client(target.s3);
  const sqs = new SQSClient(target.sqs);
  const handler = createReplayHandler({
    log: new PredictionLogStore(ddb, target.tableName),
    parking: { s3: lazyS3(s3), bucket: target.bucketName },
    queueUrl: target.logDlqUrl,
  });
  try {
    return await drainQueue(sqs, target.logDlqUrl, handler, { maxBatches });
  } finally {
    for (const c of [ddb, s3, sqs]) c.destroy();
  }
}

/** `mlship serve`: the container's own command line, in a child process that gets the signals. */
export function serve(args: string[]): Promise<number> {
  const tsxCli = require.resolve('tsx/cli');
  const main = join(PROJECT_ROOT, 'container', 'src', 'main.ts');
  const child = spawn(process.execPath, [tsxCli, main, 'serve', ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise((done) =>
    child.once('exit', (code) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      done(code ?? 1);
    }),
  );
}
