/**
 * The batch mode: streams a CSV or JSON Lines dataset through the model on every core and writes one
 * prediction per accepted row, in input order, with the row's id. Bad rows go to a rejects file with the
 * contract's error code and message, and the run still finishes.
 *
 * Memory stays flat whatever the input size: the main thread only cuts the byte stream into chunks of
 * whole lines, at most a few chunks per worker are in hand at once (reading waits for room), and a chunk
 * counts as in hand until its predictions are written (writing waits for the output to drain).
 */

import { once } from 'node:events';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { LIMITS } from '../../../contract/limits';
import { MANIFEST_FILE } from '../../../contract/manifest';
import { readManifestFile } from '../../../contract/model-files';
import { outputHeader } from './format';
import { contentTypeOf, formatOf } from './formats';
import { type LineChunk, LineChunker, readFirstLine } from './lines';
import {
  describeLocation,
  type Location,
  type OpenedOutput,
  openInput,
  openOutput,
  parseLocation,
  resolveOutput,
  s3Client,
} from './locations';
import { WorkerPool } from './pool';
import { Progress } from './progress';
import { csvLayout } from './rows';
import type { BatchOptions, BatchSummary, CsvLayout, WorkerMessage } from './types';

export const DEFAULT_CHUNK_ROWS = 2048;
/** Chunks in hand per worker: one being predicted, one queued, one waiting to be written. */
const IN_FLIGHT_PER_WORKER = 3;

type Done = Extract<WorkerMessage, { kind: 'done' }>;

export async function runBatch(opts: BatchOptions): Promise<BatchSummary> {
  const startedAt = Date.now();
  const env = opts.env ?? process.env;
  const idColumn = opts.idColumn ?? 'id';
  const chunkRows = checkedInt('chunkRows', opts.chunkRows ?? DEFAULT_CHUNK_ROWS, 1, LIMITS.maxRowsPerInvocation);
  const workers = checkedInt('workers', opts.workers ?? os.availableParallelism(), 1, 256);
  const input = parseLocation(opts.input);
  const output = resolveOutput(opts.output, input);
  const rejectsAt = parseLocation(opts.rejects ?? `${describeLocation(output)}.rejects.jsonl`);
  const format = opts.format ?? formatOf(input) ?? 'csv';
  const outputFormat = opts.outputFormat ?? formatOf(output) ?? format;
  if (sameLocation(input, output) || sameLocation(input, rejectsAt) || sameLocation(output, rejectsAt)) {
    throw new Error('The input, the output and the rejects file must be three different places.');
  }
  let client: S3Client | undefined;
  const s3 = () => (client ??= s3Client(env));
  const manifest = readManifestFile(path.join(opts.model, MANIFEST_FILE));

  const source = await openInput(input, s3);
  const chunks = source.stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  let layout: CsvLayout | undefined;
  let pending: Uint8Array | undefined;
  let bytesRead = 0;
  let pool: WorkerPool;
  let out: OpenedOutput;
  try {
    if (format === 'csv') {
      const header = await readFirstLine(chunks);
      layout = csvLayout(manifest, header.line, idColumn);
      pending = header.rest;
      bytesRead = Buffer.byteLength(header.line) + 1;
    }
    pool = await WorkerPool.start(workers, { modelDir: opts.model, format, outputFormat, idColumn, layout }, opts.workerScript);
  } catch (e) {
    source.stream.destroy();
    client?.destroy();
    throw e;
  }
  try {
    out = await openOutput(output, s3, contentTypeOf(outputFormat));
  } catch (e) {
    source.stream.destroy();
    await pool.close();
    client?.destroy();
    throw e;
  }
  let rejectsOut: OpenedOutput | undefined;
  const totals = { rows: 0, rejected: 0, bytes: 0 };
  const progress = new Progress(
    startedAt,
    source.bytes,
    () => ({ ...totals, bytes: bytesRead }),
    opts.progress ?? process.stderr.isTTY === true,
  );

  // Ordered writing: results wait in `ready` until every earlier chunk has been written.
  const ready = new Map<number, Done>();
  let nextSeq = 0;
  let nextToWrite = 0;
  let inHand = 0;
  let writing = Promise.resolve();
  let failure: unknown;
  let wake: (() => void) | undefined;
  const signal = () => {
    wake?.();
    wake = undefined;
  };
  const waitForRoom = async (limit: number) => {
    while (inHand > limit && failure === undefined) await new Promise<void>((r) => (wake = r));
    if (failure !== undefined) throw failure;
  };

  const stages = { readMs: 0, parseMs: 0, runMs: 0, formatMs: 0, writeMs: 0 };
  const writeDone = async (d: Done) => {
    stages.parseMs += d.stages.parseMs;
    stages.runMs += d.stages.runMs;
    stages.formatMs += d.stages.formatMs;
    const t = performance.now();
    if (d.output.byteLength > 0) await write(out.stream, d.output);
    stages.writeMs += performance.now() - t;
    if (d.rejects) {
      rejectsOut ??= await openOutput(rejectsAt, s3, 'application/jsonlines');
      await write(rejectsOut.stream, d.rejects);
    }
    totals.rows += d.rows;
    totals.rejected += d.rejected;
  };
  const dispatch = (chunk: LineChunk) => {
    const seq = nextSeq++;
    inHand++;
    pool.submit({ seq, bytes: chunk.bytes, firstLine: chunk.firstLine }).then(
      (d) => {
        ready.set(seq, d);
        while (ready.has(nextToWrite)) {
          const next = ready.get(nextToWrite) as Done;
          ready.delete(nextToWrite++);
          writing = writing
            .then(() => writeDone(next))
            .then(
              () => {
                inHand--;
                signal();
              },
              (e: unknown) => {
                failure ??= e;
                signal();
              },
            );
        }
      },
      (e: unknown) => {
        failure ??= e;
        signal();
      },
    );
  };

  try {
    const header = outputHeader(manifest, outputFormat);
    if (header) await write(out.stream, header);
    const chunker = new LineChunker(chunkRows, format === 'csv' ? 2 : 1);
    for (;;) {
      let data: Uint8Array;
      if (pending) {
        data = pending;
        pending = undefined;
      } else {
        const t = performance.now();
        const next = await chunks.next();
        stages.readMs += performance.now() - t;
        if (next.done) break;
        data = next.value;
        bytesRead += data.byteLength;
      }
      for (const chunk of chunker.push(data)) {
        await waitForRoom(workers * IN_FLIGHT_PER_WORKER - 1);
        dispatch(chunk);
      }
    }
    for (const chunk of chunker.end()) dispatch(chunk);
    await waitForRoom(0);
    await writing;
    if (failure !== undefined) throw failure;
    out.stream.end();
    await out.done();
    if (rejectsOut) {
      rejectsOut.stream.end();
      await rejectsOut.done();
    }
  } catch (e) {
    failure ??= e;
    source.stream.destroy();
    await out.abort();
    await rejectsOut?.abort();
    throw failure;
  } finally {
    progress.stop();
    await pool.close();
    client?.destroy();
  }

  const elapsedMs = Date.now() - startedAt;
  return {
    rows: totals.rows,
    predicted: totals.rows - totals.rejected,
    rejected: totals.rejected,
    elapsedMs,
    rowsPerSecond: Math.round((totals.rows * 1000) / Math.max(elapsedMs, 1)),
    peakRssMiB: Math.round(progress.peakRssMiB()),
    stages: roundStages(stages),
    output: describeLocation(output),
    ...(rejectsOut ? { rejects: describeLocation(rejectsAt) } : {}),
  };
}

function roundStages<T extends Record<string, number>>(s: T): T {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Math.round(v)])) as T;
}

function write(stream: Writable, data: string | Uint8Array): Promise<void> {
  if (stream.write(data)) return Promise.resolve();
  return once(stream, 'drain').then(() => undefined);
}

function checkedInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${v}.`);
  return v;
}

function sameLocation(a: Location, b: Location): boolean {
  return describeLocation(a) === describeLocation(b);
}
