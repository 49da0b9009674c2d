/**
 * A batch model worker (one per core): its own onnxruntime session, and the whole per-row work — parse,
 * validate, predict, format — so the main thread only moves bytes. Started by `pool.ts`; in a bundled
 * image this file is its own entry (`batch-worker.js`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage, isApiError } from '../../../contract/errors';
import { packsFloat32, type Row } from '../../../contract/manifest';
import type { Prediction } from '../../../contract/prediction';
import { type LoadedModel, loadModel, type PackedAnswers } from '../model';
import { ByteSink } from './byte-sink';
import { detachOnce } from './detach';
import { AnswerWriter, formatPredictions, formatRejects } from './format';
import { jsonLayout, scanJsonChunk } from './json-rows';
import { answerPages } from './parquet-answers';
import { parseParquetRows, RowGroupReader } from './parquet-read';
import { idsOf, type ParsedChunk, parseJsonChunk, type Reject, scanCsvChunk } from './rows';
import type { AnswerColumns, AnswerPages, ChunkRequest, WorkerBoot, WorkerInit, WorkerMessage } from './types';

async function start(port: NonNullable<typeof parentPort>, boot: WorkerBoot): Promise<void> {
  detachOnce();
  const send = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  // The first message is the run's settings (the main thread opens the input while the model loads); the
  // chunks that follow wait for the handler those settings make, then go one at a time, in arrival order.
  let settle: (init: WorkerInit) => void = () => undefined;
  const settings = new Promise<WorkerInit>((resolve) => (settle = resolve));
  let handlerReady: (handle: (req: ChunkRequest) => Promise<void>) => void = () => undefined;
  const handler = new Promise<(req: ChunkRequest) => Promise<void>>((resolve) => (handlerReady = resolve));
  let queue = Promise.resolve();
  let configured = false;
  port.on('message', (m: WorkerInit | ChunkRequest) => {
    if (!configured) {
      configured = true;
      settle(m as WorkerInit);
      return;
    }
    queue = queue.then(async () => (await handler)(m as ChunkRequest));
  });
  let model: LoadedModel;
  try {
    model = await loadModel(boot.modelDir, { manifest: boot.manifest });
  } catch (e) {
    send({ kind: 'failed', message: errorMessage(e) });
    return;
  }
  send({ kind: 'ready' });
  const init = await settings;
  const manifest = model.manifest;
  const labels = manifest.output.kind === 'classification' ? manifest.output.labels : undefined;
  const decoder = new TextDecoder();
  const f = model.featureCount;

  // Room for a chunk's answers in most runs (2,048 CSV answers of two classes take about 80 KB).
  const sink = new ByteSink(1 << 18);
  const answers = new AnswerWriter(manifest, init.outputFormat, sink);
  const fastCsv = init.format === 'csv' && manifest.input.kind === 'tabular' && init.layout !== undefined;
  const groups = init.parquet ? new RowGroupReader(init.parquet) : undefined;
  const packs = model.takesPacked && packsFloat32(manifest);
  const parquetOut = init.outputFormat === 'parquet';
  const fastJson = init.format === 'jsonl' ? jsonLayout(manifest, init.idColumn) : undefined;

  /** Packed values of the last CSV or JSON Lines chunk, for the next one to reuse. */
  let spare: Float32Array | undefined;

  /** The chunk's rows: CSV bytes, JSON Lines bytes (as text for models whose rows are not float32), or a Parquet row group. */
  async function parse(req: ChunkRequest): Promise<ParsedChunk> {
    if (req.group && groups && init.parquet) {
      const columns = await groups.columns({ ...req.group, bytes: req.bytes });
      return parseParquetRows(manifest, init.parquet, columns, req.group.rows, req.firstLine, packs);
    }
    if (fastCsv && manifest.input.kind === 'tabular' && init.layout) {
      const parsed = scanCsvChunk(manifest.input, init.layout, req.bytes, req.firstLine, req.lines, true, spare);
      // The next chunk may refill these values once the model has read them (chunks go one at a time).
      spare = parsed.packed.byteOffset === 0 ? new Float32Array(parsed.packed.buffer) : undefined;
      return parsed;
    }
    if (fastJson) {
      const parsed = scanJsonChunk(fastJson, req.bytes, req.firstLine, req.lines, spare);
      spare = parsed.packed.byteOffset === 0 ? new Float32Array(parsed.packed.buffer) : undefined;
      return parsed;
    }
    return parseJsonChunk(manifest, init.idColumn, decoder.decode(req.bytes), req.firstLine);
  }

  handlerReady(async (req: ChunkRequest) => {
    try {
      if (req.answers) sink.recycle(req.answers);
      const t0 = performance.now();
      const parsed = await parse(req);
      const t1 = performance.now();
      let t2: number;
      let columns: AnswerPages | undefined;
      const packed = !parsed.instances && model.takesPacked ? await runPacked(model, parsed) : undefined;
      if (packed) {
        t2 = performance.now();
        if (parquetOut) columns = answerPages(labels ?? [], packedColumns(idsOf(parsed), packed));
        else answers.write(parsed, packed);
      } else {
        const { ids, rows, lines } = decodeInstances(model, parsed);
        const predictions = rows.length ? await runRows(model, ids, rows, lines, parsed.rejects) : [];
        t2 = performance.now();
        if (parquetOut) columns = answerPages(labels ?? [], predictionColumns(ids, predictions, labels));
        else sink.text(formatPredictions(ids, predictions, labels, init.outputFormat));
      }
      const output = sink.take();
      const t3 = performance.now();
      const transfer = [output.buffer as ArrayBuffer];
      if (columns) transfer.push(columns.pages.buffer as ArrayBuffer);
      // Nothing reads the chunk's bytes any more (ids and rejects are written): back to the chunker.
      const spent = req.group ? undefined : (req.bytes.buffer as ArrayBuffer);
      if (spent) transfer.push(spent);
      send(
        {
          kind: 'done',
          seq: req.seq,
          output,
          ...(columns ? { columns } : {}),
          rejects: formatRejects(parsed.rejects),
          rows: parsed.rows,
          rejected: parsed.rejects.length,
          stages: { parseMs: t1 - t0, runMs: t2 - t1, formatMs: t3 - t2 },
          ...(spent ? { spent } : {}),
        },
        transfer,
      );
    } catch (e) {
      send({ kind: 'failed', message: `chunk at line ${req.firstLine}: ${errorMessage(e)}` });
    }
  });

  /** One run over the packed rows, or undefined when some row is answered NaN (the row-by-row path finds which). */
  async function runPacked(m: LoadedModel, parsed: ParsedChunk): Promise<PackedAnswers | undefined> {
    try {
      return await m.runPacked(parsed.packed, parsed.ids.length);
    } catch (e) {
      if (!isApiError(e) || e.code !== 'NON_FINITE_OUTPUT') throw e;
      return undefined;
    }
  }

  /**
   * Predicts the rows; when the model answers NaN or Infinity for some, those rows are rejected with
   * NON_FINITE_OUTPUT (found row by row, named by their line) and the others keep their predictions.
   */
  async function runRows(
    m: LoadedModel,
    ids: (string | number)[],
    rows: Row[],
    lines: ArrayLike<number> | undefined,
    rejects: Reject[],
  ): Promise<Prediction[]> {
    try {
      return await m.run(rows);
    } catch (e) {
      if (!isApiError(e) || e.code !== 'NON_FINITE_OUTPUT') throw e;
    }
    const kept: Prediction[] = [];
    const keptIds: (string | number)[] = [];
    for (const [i, row] of rows.entries()) {
      const id = idOf(ids, i);
      try {
        kept.push(...(await m.run([row])));
        keptIds.push(id);
      } catch (e) {
        if (!isApiError(e) || e.code !== 'NON_FINITE_OUTPUT') throw e;
        rejects.push({
          id,
          line: lines?.[i] ?? 0,
          code: e.code,
          message: e.message.replace('instances[0]', 'this row'),
        });
      }
    }
    ids.splice(0, ids.length, ...keptIds);
    return kept;
  }

  /**
   * Views into the packed values, or decoded instances (images), dropping rows that fail to decode; the
   * lines of the rows kept, so a later reject still names its own.
   */
  function decodeInstances(
    m: LoadedModel,
    parsed: ParsedChunk,
  ): { ids: (string | number)[]; rows: Row[]; lines: ArrayLike<number> | undefined } {
    if (!parsed.instances) {
      const ids = idsOf(parsed);
      const rows = new Array<Float32Array>(parsed.ids.length);
      for (let i = 0; i < rows.length; i++) rows[i] = parsed.packed.subarray(i * f, (i + 1) * f);
      return { ids, rows, lines: parsed.lines };
    }
    const ids: (string | number)[] = [];
    const rows: Row[] = [];
    const lines: number[] = [];
    for (const [i, inst] of parsed.instances.entries()) {
      const id = idOf(parsed.ids, i);
      const line = parsed.lines?.[i] ?? 0;
      try {
        rows.push(...m.toRows([inst]));
        ids.push(id);
        lines.push(line);
      } catch (e) {
        if (!isApiError(e)) throw e;
        parsed.rejects.push({ id, line, code: e.code, message: e.message });
      }
    }
    return { ids, rows, lines };
  }
}

/** Packed answers as the columns of a Parquet output. */
function packedColumns(ids: readonly (string | number)[], a: PackedAnswers): AnswerColumns {
  return a.kind === 'regression' ? { ids, values: Float64Array.from(a.values) } : { ids, label: a.label, probabilities: a.probabilities };
}

/** Prediction objects (the row-by-row and image paths) as the columns of a Parquet output. */
function predictionColumns(
  ids: readonly (string | number)[],
  predictions: readonly Prediction[],
  labels: readonly string[] | undefined,
): AnswerColumns {
  if (!labels) return { ids, values: Float64Array.from(predictions, (p) => ('value' in p ? p.value : Number.NaN)) };
  const k = labels.length;
  const label = new Uint32Array(predictions.length);
  const probabilities = new Float64Array(predictions.length * k);
  predictions.forEach((p, i) => {
    if (!('label' in p)) return;
    label[i] = labels.indexOf(p.label);
    for (const [j, l] of labels.entries()) probabilities[i * k + j] = p.probabilities[l] ?? Number.NaN;
  });
  return { ids, label, probabilities };
}

/** The id of row `i` of a chunk, whose ids and rows are parallel arrays. */
function idOf(ids: readonly (string | number)[], i: number): string | number {
  const id = ids[i];
  if (id === undefined) throw new Error(`Row ${i} of the chunk has no id (${ids.length} ids).`);
  return id;
}

if (parentPort) void start(parentPort, workerData as WorkerBoot);
