/**
 * A training snapshot: the rows one run trains and is judged on, written once under a name that is the
 * sha256 of its content (`training/snapshots/<model>/<sha256>/`), so a run can always be repeated on
 * exactly its data and two runs on the same data share one snapshot.
 *
 * - The dataset: `datasets/<model>/dataset.csv` in the bucket, or `--data FILE|s3://…`.
 * - Opt-in, the labeled traffic: each logged prediction with feedback, its inputs as the model saw them
 *   and the latest feedback as the label (DuckDB over the analytics store). It is split by time: the most
 *   recent share is held out (the model is judged on the traffic it will meet next), the rest trains.
 * - Without labeled traffic, every fifth dataset row is held out (a fixed rule: same data, same split).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { featureColumnsOf, labeledPredictionsSql, parameterCount } from '../../../contract/analytics-queries';
import { DATASET_FILE, datasetPrefix, SNAPSHOT_FILES, trainingSnapshotPrefix } from '../../../contract/bucket';
import { parseCsv } from '../../../contract/csv';
import type { ModelManifest } from '../../../contract/manifest';
import { TRAINING_LIMITS } from '../../../contract/training';
import { answerColumn } from '../evaluate/held-out';
/** Rows of a query result, as DuckDB's and Athena's readers give them. */
export interface QueryRows {
  rows: Record<string, unknown>[];
}

import { getText, isMissing, objectExists } from './s3-objects';

/** The most rows a snapshot's dataset may hold (the CSV is read into memory). */
const MAX_DATASET_ROWS = 5_000_000;

export interface SnapshotDoc {
  model: string;
  sha256: string;
  sources: string[];
  header: string[];
  trainRows: number;
  heldOutRows: number;
  /** How the held-out rows were chosen. */
  heldOut: string;
}

export interface Snapshot extends SnapshotDoc {
  uri: string;
  prefix: string;
  /** The two channels as CSV text. */
  train: string;
  validation: string;
  /** True when this run wrote it (false: the same content was already there). */
  written: boolean;
}

/** Reads `--data`: a local file, an `s3://bucket/key` object, or (none given) the model's dataset in the bucket. */
export async function readDataset(
  s3: S3Client,
  bucket: string,
  model: string,
  data: string | undefined,
): Promise<{ text: string; source: string }> {
  if (data !== undefined && !data.startsWith('s3://')) return { text: readFileSync(data, 'utf8'), source: data };
  const [b, key] =
    data === undefined
      ? [bucket, `${datasetPrefix(model)}${DATASET_FILE}`]
      : [data.slice(5, data.indexOf('/', 5)), data.slice(data.indexOf('/', 5) + 1)];
  try {
    return { text: await getText(s3, b, key), source: `s3://${b}/${key}` };
  } catch (e) {
    if (isMissing(e))
      throw new Error(
        `No training data at s3://${b}/${key}. Upload a CSV there (header: the features and ${data === undefined ? 'label or target' : 'the answer column'}), or pass --data FILE.`,
      );
    throw e;
  }
}

/** The CSV rows of the dataset in the snapshot's column order (features in manifest order, then the answer). */
function datasetRows(text: string, source: string, header: readonly string[]): string[][] {
  const [first, ...records] = parseCsv(text, MAX_DATASET_ROWS);
  if (first === undefined) throw new Error(`${source} is empty.`);
  const at = new Map(first.cells.map((c, i) => [c, i]));
  const missing = header.filter((c) => !at.has(c));
  if (missing.length > 0) throw new Error(`${source}: the header lacks ${missing.join(', ')}.`);
  return records.map((r) => {
    if (r.cells.length !== first.cells.length)
      throw new Error(`${source} line ${r.line + 1}: ${r.cells.length} cells, the header has ${first.cells.length}.`);
    return header.map((c) => r.cells[at.get(c) as number] as string);
  });
}

/** Labeled traffic rows (oldest first) in the snapshot's column order, from the analytics query's result. */
export function trafficRows(manifest: ModelManifest, result: QueryRows): string[][] {
  const columns = featureColumnsOf(manifest).map((c) => c.name);
  return result.rows.map((row) => [...columns.map((c) => cellText(row[c])), cellText(row.actual)]);
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : String(v);
}

/** Quotes a CSV cell when it needs it (RFC 4180). */
function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function csvText(header: readonly string[], rows: readonly string[][]): string {
  return [header, ...rows]
    .map((r) => r.map(csvCell).join(','))
    .join('\n')
    .concat('\n');
}

/** The query the snapshot runs over the analytics store (its `?` parameters all take the first day). */
export function labeledQuery(manifest: ModelManifest, since: string): { sql: string; params: string[] } {
  const sql = labeledPredictionsSql(manifest);
  return { sql, params: new Array<string>(parameterCount(sql)).fill(since) };
}

export interface BuildSnapshotOptions {
  manifest: ModelManifest;
  dataset: { text: string; source: string };
  /** Labeled traffic rows, oldest first (opt-in); none leaves the dataset split. */
  traffic?: { rows: string[][]; source: string };
}

/** The snapshot's two channels and its content hash (nothing written yet). */
export function buildSnapshot(opts: BuildSnapshotOptions): Omit<Snapshot, 'uri' | 'prefix' | 'written'> {
  const { manifest } = opts;
  if (manifest.input.kind !== 'tabular') throw new Error('Training snapshots hold CSV rows: the model must take tabular input.');
  const header = [...manifest.input.features.map((f) => f.name), answerColumn(manifest)];
  const rows = datasetRows(opts.dataset.text, opts.dataset.source, header);
  let train: string[][];
  let validation: string[][];
  let heldOut: string;
  const sources = [opts.dataset.source];
  const traffic = opts.traffic?.rows ?? [];
  if (traffic.length > 0) {
    const held = Math.max(1, Math.round(traffic.length * TRAINING_LIMITS.trafficHeldOutShare));
    train = [...rows, ...traffic.slice(0, traffic.length - held)];
    validation = traffic.slice(traffic.length - held);
    heldOut = `the most recent ${held} of ${traffic.length} labeled predictions`;
    sources.push(opts.traffic?.source ?? 'labeled predictions');
  } else {
    const every = Math.round(1 / TRAINING_LIMITS.heldOutShare);
    train = rows.filter((_, i) => i % every !== every - 1);
    validation = rows.filter((_, i) => i % every === every - 1);
    heldOut = `every ${every}th dataset row (${validation.length} of ${rows.length})`;
  }
  if (train.length === 0 || validation.length === 0)
    throw new Error(`Too few rows to train and hold out (${rows.length + traffic.length}).`);
  const trainText = csvText(header, train);
  const validationText = csvText(header, validation);
  const sha256 = createHash('sha256').update(trainText).update('\0').update(validationText).digest('hex');
  return {
    model: manifest.name,
    sha256,
    sources,
    header,
    trainRows: train.length,
    heldOutRows: validation.length,
    heldOut,
    train: trainText,
    validation: validationText,
  };
}

/** Writes the snapshot once: when its content is already there (same hash), nothing is written. */
export async function writeSnapshot(s3: S3Client, bucket: string, built: Omit<Snapshot, 'uri' | 'prefix' | 'written'>): Promise<Snapshot> {
  const prefix = trainingSnapshotPrefix(built.model, built.sha256);
  const uri = `s3://${bucket}/${prefix}`;
  const { train, validation, ...doc } = built;
  const exists = await objectExists(s3, bucket, `${prefix}${SNAPSHOT_FILES.manifest}`);
  if (!exists) {
    const put = (key: string, body: string, contentType: string) =>
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${key}`, Body: body, ContentType: contentType }));
    await put(SNAPSHOT_FILES.train, train, 'text/csv');
    await put(SNAPSHOT_FILES.validation, validation, 'text/csv');
    // The description last: a snapshot is complete when it is there.
    await put(SNAPSHOT_FILES.manifest, `${JSON.stringify(doc, null, 1)}\n`, 'application/json');
  }
  return { ...built, uri, prefix, written: !exists };
}

/** Reads a recorded snapshot back (for `--reproduce`), checking its content against its name. */
export async function readSnapshot(
  s3: S3Client,
  bucket: string,
  model: string,
  sha256: string,
): Promise<{ train: string; validation: string }> {
  const prefix = trainingSnapshotPrefix(model, sha256);
  const get = (key: string) => getText(s3, bucket, `${prefix}${key}`);
  const train = await get(SNAPSHOT_FILES.train);
  const validation = await get(SNAPSHOT_FILES.validation);
  const actual = createHash('sha256').update(train).update('\0').update(validation).digest('hex');
  if (actual !== sha256) throw new Error(`The snapshot s3://${bucket}/${prefix} does not hash to its name (got ${actual}).`);
  return { train, validation };
}
