/**
 * Analytics benchmark: 10 million logged predictions with feedback for one model, as Parquet through
 * the analytics writer, queried with DuckDB — beside the same answers computed from a DynamoDB scan of
 * the local table, in the same run.
 *
 *   npx tsx bench/analytics/bench.ts [--rows 10000000] [--days 90] [--sample 20000] [--threads 2] [--fresh]
 *
 * 1. Writer: the log is generated day by day (bench/analytics/generate.ts). The first `--writer-rows`
 *    (default 1,000,000) go through the same row mapping and Parquet writer as the stream function, in
 *    files of up to 100,000 rows (what `mlship export` writes) — records/s of the writer alone, on this
 *    one thread; stream-sized files (1,000 rows, the event source batch) are measured on the first
 *    100,000 rows. The other days of the same generated log are written by DuckDB's own Parquet writer
 *    (COPY … PARTITION_BY, ZSTD, the same columns and layout), which fills the store in minutes where
 *    ours would take an hour of a busy 2-core machine; the bytes per prediction are ours.
 *    Compaction: the days our writer wrote are compacted by the compaction code (lambda/analytics/
 *    compact.ts, records/s and bytes measured); DuckDB writes the other closed days as compaction leaves
 *    them (one row per id — the generated log has no duplicates — sorted by id, `compacted_at` set); the
 *    last day stays open, as the stream writes it. Then the first 1,000 predictions of day 1 and their
 *    feedback are delivered again (a late batch after compaction), so the queries dedupe them too.
 * 2. Bytes per prediction: the Parquet files against the DynamoDB item size of the same records (the
 *    documented size rules, over the log items of a sample as `encodeRecord` writes them).
 * 3. Queries: accuracy-by-day and feature-drift over all rows with DuckDB (`--threads` cores), the
 *    median of three runs after one warm-up; a floor row runs accuracy-by-day without the per-id dedupe.
 *    Feature drift twice on the same store: the named query, which reads the binned counts the
 *    compactor writes for closed days (contract/feature-bins.ts), and the query before the counts
 *    (`featureDriftRowsSql`), which bins every row; their answers are checked equal, and the floor of
 *    reading the 32 columns the latter needs is printed beside them. A store without counts gets them
 *    first, as the next compaction run would add them (`countCompactedClosedDays`, timed): every closed
 *    day but day 1, which holds the late batch, and the open last day.
 * 4. Baseline: the same two answers from a Scan of the embedded DynamoDB (dynalite, as `npm start` runs
 *    it) over `--sample` items, computed with the quality job's own functions, extrapolated linearly to
 *    all rows (a Scan reads every item once, so its time grows with the item count).
 *
 * The generated store is kept in .mlship/bench/analytics and reused when the shape matches (--fresh
 * rewrites it; the writer figures are then printed from the run that wrote it).
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type AttributeValue, BatchWriteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { partitionDate, tableColumns, tablePrefix } from '../../contract/analytics';
import { featureDriftRowsSql, parameterCount, summarySql, versionQualitySql } from '../../contract/analytics-queries';
import { parseBaseline } from '../../contract/baseline';
import { errorStack } from '../../contract/errors';
import { readManifestFile } from '../../contract/model-files';
import { decodeRecord, encodeRecord, type PredictionRecord } from '../../contract/prediction-log';
import { compactClosedDays, countCompactedClosedDays } from '../../lambda/analytics/compact';
import { feedbackRow, predictionRow } from '../../lambda/analytics/log-rows';
import { parquetDecompressors } from '../../lambda/analytics/parquet';
import { objectsOf } from '../../lambda/analytics/store';
import { featureDrift, inputValues, type LoggedValue } from '../../lambda/quality/analyze';
import { DUCKDB_TYPE, openAnalyticsDb } from '../../local/analytics/duckdb';
import { folderObjectStore } from '../../local/analytics/folder-store';
import { dynamoClient, ensureTable, startDynamoDbThread } from '../../local/dynamodb';
import { dayOfLog, dynamoItemSize, type LogShape } from './generate';

const ROOT = resolve(__dirname, '../..');
const MODEL = join(ROOT, 'models/breast-cancer');

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const STORE = resolve(flag('store', join(ROOT, '.mlship/bench/analytics')));
const rows = Number(flag('rows', '10000000'));
const days = Number(flag('days', '90'));
const sample = Number(flag('sample', '20000'));
const threads = Number(flag('threads', '2'));
const writerRows = Number(flag('writer-rows', '1000000'));
const manifest = readManifestFile(join(MODEL, 'model.json'));
const baseline = parseBaseline(JSON.parse(readFileSync(join(MODEL, 'baseline.json'), 'utf8')));
if (manifest.output.kind !== 'classification') throw new Error('the bench model is a classifier');
if (manifest.input.kind !== 'tabular') throw new Error('the bench model takes tabular inputs');
const featureTypes = manifest.input.features.map((f) => f.type);
const shape: LogShape = {
  model: manifest.name,
  labels: manifest.output.labels,
  baseline,
  featureTypes,
  rows,
  days,
  start: new Date('2026-01-01T00:00:00Z'),
};
const since = partitionDate(shape.start);

interface WriteFigures {
  rows: number;
  /** Rows (and their bytes, feedback included) our writer wrote; the rest DuckDB's. */
  ourRows: number;
  ourBytes: number;
  duckRows: number;
  feedback: number;
  bytes: number;
  files: number;
  writerSeconds: number;
  streamBatch: { rowsPerSecond: number; bytesPerPrediction: number };
  /** Our compaction of the days our writer wrote: rows read per second, and the compacted bytes per prediction (feedback included). */
  compaction: { rows: number; seconds: number; bytesPerPrediction: number };
}

/** Changes when the store's layout does: a store of another layout is written again. */
const LAYOUT = 'zstd-compacted';
/** When the bench's compaction ran (a fixed time: the store is the same every run). */
const COMPACTED_AT = new Date('2026-06-01T00:00:00Z');

function dirBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).reduce((s, e) => {
    const p = join(dir, e);
    return s + (statSync(p).isDirectory() ? dirBytes(p) : e.endsWith('.parquet') ? statSync(p).size : 0);
  }, 0);
}

/** Appends the days our writer does not write to a DuckDB staging table, then copies them out as Parquet. */
async function duckdbWriter(): Promise<{ add(records: PredictionRecord[]): Promise<number>; finish(): Promise<number> }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const conn = await instance.connect();
  const columnsOfFeatures = tableColumns('predictions', manifest).flatMap((c) =>
    c.featureIndex === undefined ? [] : [{ ...c, featureIndex: c.featureIndex }],
  );
  await conn.run(
    `CREATE TABLE p (id VARCHAR, model VARCHAR, dt VARCHAR, version VARCHAR, ts VARCHAR, predicted_label VARCHAR, score FLOAT, latency_ms DOUBLE, api_key_id VARCHAR, ${columnsOfFeatures.map((c) => `${c.name} ${DUCKDB_TYPE[c.type]}`).join(', ')})`,
  );
  await conn.run('CREATE TABLE f (id VARCHAR, model VARCHAR, dt VARCHAR, version VARCHAR, ts VARCHAR, label VARCHAR, received_at VARCHAR)');
  let rowsWritten = 0;
  const lastDay = partitionDate(new Date(shape.start.getTime() + (shape.days - 1) * 86_400_000));
  const copy = async () => {
    const opts = "(FORMAT PARQUET, PARTITION_BY (model, dt), COMPRESSION ZSTD, OVERWRITE_OR_IGNORE true, FILENAME_PATTERN 'duckdb_{i}')";
    // Closed days as compaction leaves them (ids are unique in the generated log), the last day as the stream writes it.
    const compactedAt = `CASE WHEN dt < '${lastDay}' THEN CAST('${COMPACTED_AT.toISOString()}' AS TIMESTAMPTZ) END AS compacted_at`;
    await conn.run(
      `COPY (SELECT id, version, CAST(ts AS TIMESTAMPTZ) AS ts, predicted_label, score, CAST(NULL AS DOUBLE) AS predicted_value, latency_ms, api_key_id, CAST(NULL AS VARCHAR) AS input_key, ${compactedAt}, ${columnsOfFeatures.map((c) => c.name).join(', ')}, model, dt FROM p ORDER BY dt, id) TO '${join(STORE, 'analytics/predictions')}' ${opts}`,
    );
    await conn.run(
      `COPY (SELECT id, version, label, CAST(received_at AS TIMESTAMPTZ) AS received_at, ${compactedAt}, model, dt FROM f ORDER BY dt, id) TO '${join(STORE, 'analytics/feedback')}' ${opts}`,
    );
    await conn.run('DELETE FROM p');
    await conn.run('DELETE FROM f');
  };
  let days = 0;
  return {
    async add(records) {
      let feedbackRows = 0;
      const ap = await conn.createAppender('p');
      const af = await conn.createAppender('f');
      for (const r of records) {
        const row = predictionRow(manifest, r);
        const features = row.features;
        if (features === null) throw new Error(`record ${r.id} has no input values`);
        const dt = partitionDate(row.ts);
        ap.appendVarchar(row.id);
        ap.appendVarchar(row.model);
        ap.appendVarchar(dt);
        ap.appendVarchar(row.version);
        ap.appendVarchar(r.createdAt);
        ap.appendVarchar(row.predicted_label ?? '');
        ap.appendFloat(row.score ?? 0);
        ap.appendDouble(row.latency_ms);
        ap.appendVarchar(row.api_key_id ?? '');
        for (const c of columnsOfFeatures) {
          const v = features[c.featureIndex];
          if (v === null) ap.appendNull();
          else if (typeof v === 'string') ap.appendVarchar(v);
          else if (c.type === 'float') ap.appendFloat(v);
          else ap.appendDouble(v);
        }
        ap.endRow();
        const fb = feedbackRow(r);
        if (fb && r.feedback) {
          feedbackRows++;
          af.appendVarchar(fb.id);
          af.appendVarchar(fb.model);
          af.appendVarchar(dt);
          af.appendVarchar(fb.version);
          af.appendVarchar(r.createdAt);
          af.appendVarchar(fb.label);
          af.appendVarchar(r.feedback.givenAt);
          af.endRow();
        }
      }
      ap.closeSync();
      af.closeSync();
      rowsWritten += records.length;
      if (++days % 10 === 0) await copy();
      return feedbackRows;
    },
    async finish() {
      await copy();
      conn.closeSync();
      instance.closeSync();
      return rowsWritten;
    },
  };
}

async function writeStore(): Promise<WriteFigures> {
  rmSync(STORE, { recursive: true, force: true });
  const duck = await duckdbWriter();
  let ourRows = 0;
  let ourBytes = 0;
  let duckRows = 0;
  let writerNs = 0n;
  let written = 0;
  let feedback = 0;
  let files = 0;
  let streamBatch = { rowsPerSecond: 0, bytesPerPrediction: 0 };
  const put = async (table: 'predictions' | 'feedback', batch: object[]) => {
    const t = process.hrtime.bigint();
    const objects = await objectsOf(table, batch as never, manifest);
    writerNs += process.hrtime.bigint() - t;
    for (const o of objects) {
      const file = join(STORE, o.key);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, o.body);
      files++;
    }
  };
  for (let day = 0; day < days; day++) {
    const records = dayOfLog(shape, day);
    if (written >= writerRows) {
      feedback += await duck.add(records);
      duckRows += records.length;
      written += records.length;
      process.stderr.write(`\rwriting the store: day ${day + 1}/${days}, ${written.toLocaleString('en-US')} predictions (DuckDB writer)`);
      continue;
    }
    if (day === 0) {
      // Stream-sized batches: what the deployed writer gets from the event source (1,000 log items).
      const first = records.slice(0, 100_000).map(encodeRecord);
      const t = process.hrtime.bigint();
      let bytes = 0;
      for (let i = 0; i < first.length; i += 1000)
        bytes += (
          await objectsOf(
            'predictions',
            first.slice(i, i + 1000).map((item) => predictionRow(manifest, decodeRecord(item))),
            manifest,
          )
        ).reduce((s, o) => s + o.body.byteLength, 0);
      const s = Number(process.hrtime.bigint() - t) / 1e9;
      streamBatch = { rowsPerSecond: first.length / s, bytesPerPrediction: bytes / first.length };
    }
    for (let i = 0; i < records.length; i += 100_000) {
      // Log items as the table holds them; the writer decodes them as the stream function does.
      const items = records.slice(i, i + 100_000).map(encodeRecord);
      const t = process.hrtime.bigint();
      const chunk = items.map(decodeRecord);
      const p = chunk.map((r) => predictionRow(manifest, r));
      const f = chunk.flatMap((r) => feedbackRow(r) ?? []);
      writerNs += process.hrtime.bigint() - t;
      await put('predictions', p);
      if (f.length > 0) await put('feedback', f);
      written += p.length;
      feedback += f.length;
      ourRows += p.length;
    }
    ourBytes = dirBytes(STORE);
    process.stderr.write(`\rwriting the store: day ${day + 1}/${days}, ${written.toLocaleString('en-US')} predictions`);
  }
  await duck.finish();
  await nameDuckdbFiles();
  process.stderr.write('\ncompacting the days the analytics writer wrote\n');
  const c = process.hrtime.bigint();
  const compacted = await compactClosedDays(folderObjectStore(STORE), manifest, { now: COMPACTED_AT });
  const compactSeconds = Number(process.hrtime.bigint() - c) / 1e9;
  const compactedRows = compacted.partitions.filter((x) => x.table === 'predictions').reduce((n, x) => n + x.rowsIn, 0);
  const compactedBytes = compacted.partitions.reduce((n, x) => n + x.bytesOut, 0);
  // A late batch after compaction: day 1's first 1,000 predictions and their feedback, delivered again.
  const again = dayOfLog(shape, 0).slice(0, 1000);
  for (const [table, rowsOfTable] of [
    ['predictions', again.map((r) => predictionRow(manifest, r))],
    ['feedback', again.flatMap((r) => feedbackRow(r) ?? [])],
  ] as const)
    for (const o of await objectsOf(table, rowsOfTable, manifest)) {
      mkdirSync(dirname(join(STORE, o.key)), { recursive: true });
      writeFileSync(join(STORE, o.key), o.body);
    }
  const figures: WriteFigures = {
    rows: written,
    ourRows,
    ourBytes,
    duckRows,
    feedback,
    bytes: dirBytes(STORE),
    files,
    writerSeconds: Number(writerNs) / 1e9,
    streamBatch,
    compaction: {
      rows: compactedRows,
      seconds: compactSeconds,
      bytesPerPrediction: compactedRows > 0 ? compactedBytes / compactedRows : 0,
    },
  };
  writeFileSync(join(STORE, 'figures.json'), JSON.stringify({ shape: { rows, days, layout: LAYOUT }, figures }));
  return figures;
}

async function storeFigures(): Promise<WriteFigures> {
  const file = join(STORE, 'figures.json');
  if (!process.argv.includes('--fresh') && existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as {
      shape: { rows: number; days: number; layout?: string };
      figures: WriteFigures;
    };
    if (saved.shape.rows === rows && saved.shape.days === days && saved.shape.layout === LAYOUT) {
      process.stderr.write(`reusing the store in ${STORE} (--fresh rewrites it)\n`);
      return saved.figures;
    }
  }
  return writeStore();
}

/**
 * Median of `runs` runs after one warm-up: wall seconds, and CPU seconds of this process (DuckDB's
 * threads included), which the other jobs on a shared machine disturb far less; with the 1-minute load
 * average at the end.
 */
async function time<T>(f: () => Promise<T>, runs = 3): Promise<{ seconds: number; cpu: number; load: number; result: T }> {
  let result = await f();
  const runsOf: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    result = await f();
    const used = process.cpuUsage(c);
    runsOf.push({ wall: Number(process.hrtime.bigint() - t) / 1e9, cpu: (used.user + used.system) / 1e6 });
  }
  runsOf.sort((a, b) => a.wall - b.wall);
  const median = runsOf[Math.floor(runsOf.length / 2)];
  return { seconds: median.wall, cpu: median.cpu, load: loadavg()[0], result };
}

const fmt = (t: { seconds: number; cpu: number; load: number }) =>
  `${t.seconds.toFixed(2)} s (${t.cpu.toFixed(2)} s CPU, load ${t.load.toFixed(1)})`;

/**
 * DuckDB's COPY names its files `duckdb_<i>.parquet`; compaction (and its counts) only knows the store's
 * own keys. Each day's file is one version's: it takes the name compaction gives a closed day
 * (`<version>~compacted.parquet`), or a batch name on the open day. Files already named are left as they are.
 */
async function nameDuckdbFiles(): Promise<number> {
  const { parquetReadObjects } = await import('hyparquet');
  const compressors = await parquetDecompressors();
  let renamed = 0;
  for (const table of ['predictions', 'feedback'] as const) {
    const dir = join(STORE, tablePrefix(table), `model=${manifest.name}`);
    if (!existsSync(dir)) continue;
    for (const day of readdirSync(dir)) {
      const files = readdirSync(join(dir, day)).filter((f) => /^duckdb_\d+\.parquet$/.test(f));
      if (files.length > 1) throw new Error(`${table} ${day}: ${files.length} DuckDB files, one expected`);
      const [file] = files;
      if (file === undefined) continue;
      const body = readFileSync(join(dir, day, file));
      const [first] = (await parquetReadObjects({
        file: body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
        compressors,
        columns: ['version', 'compacted_at'],
        rowEnd: 1,
      })) as { version: string; compacted_at: Date | null }[];
      if (first === undefined) throw new Error(`${table} ${day}/${file} is empty`);
      const batch = first.compacted_at === null ? 'duckdb' : 'compacted';
      renameSync(join(dir, day, file), join(dir, day, `${first.version}~${batch}.parquet`));
      renamed++;
    }
  }
  return renamed;
}

/** The last day of the generated log, which the store keeps open. */
const LAST_DAY = new Date(shape.start.getTime() + (shape.days - 1) * 86_400_000);

/**
 * The binned counts of the closed days compacted without them (all of them in a store written before
 * the counts existed; none on a second run): rows read per second, with the load at the end.
 */
async function ensureFeatureBins(): Promise<{ days: number; rows: number; seconds: number; load: number }> {
  const renamed = await nameDuckdbFiles();
  if (renamed > 0) process.stderr.write(`named ${renamed} files of DuckDB's COPY as the store names them\n`);
  process.stderr.write('counting the closed days into binned feature counts (only those without)\n');
  const t = process.hrtime.bigint();
  const r = await countCompactedClosedDays(folderObjectStore(STORE), manifest, { now: LAST_DAY, baseline });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  return { days: r.featureBins.length, rows: r.featureBins.reduce((n, b) => n + b.rowsIn, 0), seconds, load: loadavg()[0] };
}

type DriftRow = { version: unknown; feature_index: unknown; predictions: unknown; psi: unknown };

/** Throws unless the two drift answers agree: the same rows and counts, PSI to 1e-9. */
function checkSameDrift(a: DriftRow[], b: DriftRow[]): string {
  const key = (r: DriftRow) => `${r.version} ${r.feature_index}`;
  const byKey = new Map(b.map((r) => [key(r), r]));
  if (a.length !== b.length) throw new Error(`feature-drift: ${a.length} rows from the counts, ${b.length} from the rows`);
  let worst = 0;
  for (const r of a) {
    const o = byKey.get(key(r));
    if (o === undefined || String(o.predictions) !== String(r.predictions))
      throw new Error(`feature-drift ${key(r)}: ${r.predictions} predictions from the counts, ${o?.predictions} from the rows`);
    worst = Math.max(worst, Math.abs(Number(o.psi) - Number(r.psi)));
  }
  if (!(worst <= 1e-9)) throw new Error(`feature-drift: PSI differs by ${worst}`);
  return `same ${a.length} rows, counts equal, PSI within ${worst.toExponential(1)}`;
}

/** The queries and their floors over a store: what the query costs, and reading the same columns with no work on them. */
async function measureQueries(root: string, threadCount: number) {
  const db = await openAnalyticsDb(root, manifest, { threads: threadCount });
  try {
    const features = tableColumns('predictions', manifest).filter((c) => c.featureIndex !== undefined);
    const accuracy = await time(() => db.named('accuracy-by-day', baseline, since));
    const drift = await time(() => db.named('feature-drift', baseline, since));
    const rowsSql = featureDriftRowsSql(manifest, baseline);
    const driftFromRows = await time(() => db.query(rowsSql, new Array<string>(parameterCount(rowsSql)).fill(since)));
    const sameDrift = checkSameDrift(drift.result.rows as DriftRow[], driftFromRows.result.rows as DriftRow[]);
    const summary = await time(() => db.query(summarySql(manifest), new Array<string>(parameterCount(summarySql(manifest))).fill(since)));
    const run = (sql: string) => db.query(sql, new Array<string>(parameterCount(sql)).fill(since));
    // The summary's second query: a binary classifier's cells with its ROC AUC; beside it the same cells
    // alone (the query a classifier of three labels gets) and the roc-auc query run on its own.
    const versionQuality = await time(() => run(versionQualitySql(manifest)));
    const threeLabels = {
      name: manifest.name,
      output: { kind: 'classification' as const, tensor: 'p', softmax: false, labels: [...shape.labels, 'other'] },
    };
    const versionCells = await time(() => run(versionQualitySql(threeLabels)));
    const rocAuc = await time(() => db.named('roc-auc', baseline, since));
    // Floors: the columns each query needs, decompressed and decoded, with the least work on them.
    const accuracyColumns = await time(() =>
      db.query(
        'SELECT (SELECT min(id) || min(dt) || min(version) || min(predicted_label) FROM predictions WHERE dt >= ?) AS p, (SELECT min(id) || min(label) || CAST(min(received_at) AS VARCHAR) FROM feedback WHERE dt >= ?) AS f',
        [since, since],
      ),
    );
    const driftColumns = await time(() =>
      db.query(`SELECT min(id), min(version), ${features.map((c) => `min(${c.name})`).join(', ')} FROM predictions WHERE dt >= ?`, [since]),
    );
    const noDedupe = await time(() =>
      db.query(
        'SELECT p.dt, p.version, count(*) AS n, count(f.id) AS fb FROM predictions p LEFT JOIN feedback f ON f.id = p.id WHERE p.dt >= ? GROUP BY p.dt, p.version',
        [since],
      ),
    );
    const count = Number((await db.query('SELECT count(*) AS n FROM predictions')).rows[0].n);
    return {
      accuracy,
      drift,
      driftFromRows,
      sameDrift,
      summary,
      versionQuality,
      versionCells,
      rocAuc,
      accuracyColumns,
      driftColumns,
      noDedupe,
      count,
    };
  } finally {
    db.close();
  }
}

/** The two answers from a Scan, computed as the quality job computes them; seconds for `sample` items. */
async function scanBaseline(): Promise<{ loadSeconds: number; seconds: number; cpu: number; accuracyRows: number; driftRows: number }> {
  const ddb = await startDynamoDbThread({});
  const client = dynamoClient(ddb.url);
  const table = 'mlship-bench-analytics';
  try {
    await ensureTable(client, table);
    const t0 = process.hrtime.bigint();
    const items: PredictionRecord[] = [];
    // The sample spreads over the days like the whole log.
    for (let day = 0; day < days && items.length < sample; day++) items.push(...dayOfLog(shape, day).slice(0, Math.ceil(sample / days)));
    const batch = items.slice(0, sample);
    for (let i = 0; i < batch.length; i += 25) {
      const requests = batch.slice(i, i + 25).map((r) => ({ PutRequest: { Item: encodeRecord(r) } }));
      let unprocessed: typeof requests | undefined = requests;
      while (unprocessed && unprocessed.length > 0) {
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: unprocessed } }));
        unprocessed = out.UnprocessedItems?.[table] as typeof requests | undefined;
      }
    }
    const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

    const t = process.hrtime.bigint();
    // CPU of this process only: dynalite answers the Scan on its own thread of the same process, so it is included.
    const c = process.cpuUsage();
    const scanned: PredictionRecord[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: startKey }));
      for (const it of page.Items ?? []) scanned.push(decodeRecord(it));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    // accuracy-by-day: predictions, feedback and hits per day and version
    const acc = new Map<string, { n: number; fb: number; hit: number }>();
    // feature-drift: inputs per version, then the quality job's PSI per feature
    const inputs = new Map<string, LoggedValue[][]>();
    for (const r of scanned) {
      const k = `${r.createdAt.slice(0, 10)} ${r.modelVersion}`;
      const a = acc.get(k) ?? { n: 0, fb: 0, hit: 0 };
      a.n++;
      if (r.feedback) {
        a.fb++;
        if (r.feedback.label === r.label) a.hit++;
      }
      acc.set(k, a);
      const v = inputValues(manifest, r.inputValues);
      if (v) {
        let rows = inputs.get(r.modelVersion);
        if (rows === undefined) {
          rows = [];
          inputs.set(r.modelVersion, rows);
        }
        rows.push(v);
      }
    }
    let driftRows = 0;
    for (const rowsOfVersion of inputs.values()) driftRows += featureDrift(baseline.features, rowsOfVersion).length;
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const used = process.cpuUsage(c);
    if (scanned.length !== batch.length) throw new Error(`scanned ${scanned.length} of ${batch.length}`);
    return { loadSeconds, seconds, cpu: (used.user + used.system) / 1e6, accuracyRows: acc.size, driftRows };
  } finally {
    client.destroy();
    await ddb.close();
  }
}

/** The summary's per-version quality query, its ROC AUC in the same pass against the cells alone and a separate roc-auc query. */
function versionQualityLines(q: Awaited<ReturnType<typeof measureQueries>>): string[] {
  return [
    `| summary's per-version quality, cells and ROC AUC in one pass | ${fmt(q.versionQuality)} |`,
    `| beside it: the same cells alone | ${fmt(q.versionCells)} |`,
    `| beside it: roc-auc as a query of its own | ${fmt(q.rocAuc)} |`,
  ];
}

/** `--queries-only`: the queries and floors over an existing store (e.g. one rewritten with another codec by codecs.ts). */
async function queriesOnly(): Promise<void> {
  const bins = await ensureFeatureBins();
  const q = await measureQueries(STORE, threads);
  const bytes = dirBytes(STORE);
  const lines = [
    `store ${STORE}: ${q.count.toLocaleString('en-US')} predictions, ${(bytes / 2 ** 20).toFixed(1)} MiB (${(bytes / q.count).toFixed(1)} bytes per prediction incl. feedback)`,
    `| accuracy-by-day | ${fmt(q.accuracy)} |`,
    `| floor: its columns read | ${fmt(q.accuracyColumns)} |`,
    `| floor: join without dedupe | ${fmt(q.noDedupe)} |`,
    `| feature-drift (closed days from the binned counts) | ${fmt(q.drift)} |`,
    `| feature-drift before the counts (every row binned) | ${fmt(q.driftFromRows)} |`,
    `| floor: the columns the latter reads | ${fmt(q.driftColumns)} |`,
    `| (the two answers: ${q.sameDrift}) | |`,
    `| counts written for ${bins.days} closed days (${bins.rows.toLocaleString('en-US')} rows read) | ${bins.seconds.toFixed(1)} s (load ${bins.load.toFixed(1)}) |`,
    `| dashboard summary | ${fmt(q.summary)} |`,
    ...versionQualityLines(q),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--queries-only')) return queriesOnly();
  process.stderr.write(
    `analytics bench: ${rows.toLocaleString('en-US')} predictions over ${days} days, DuckDB on ${threads} threads, scan sample ${sample.toLocaleString('en-US')}\n`,
  );
  const w = await storeFigures();

  // DynamoDB item size of the same records, as the log writer encodes them (index keys included).
  const probe = dayOfLog(shape, 0).slice(0, 10_000);
  const ddbBytes = probe.reduce((s, r) => s + dynamoItemSize(encodeRecord(r)), 0) / probe.length;

  const bins = await ensureFeatureBins();
  const queries = await measureQueries(STORE, threads);
  const { accuracy, drift, driftFromRows, sameDrift, summary, accuracyColumns, driftColumns, noDedupe, count } = queries;
  // The query figures first (the scan baseline below takes minutes to load).
  process.stderr.write(
    `queries: accuracy-by-day ${fmt(accuracy)}; its columns ${fmt(accuracyColumns)}; join without dedupe ${fmt(noDedupe)}; feature-drift ${fmt(drift)}; before the counts ${fmt(driftFromRows)}; its columns ${fmt(driftColumns)}; ${sameDrift}; summary ${fmt(summary)}\n`,
  );

  const scan = await scanBaseline();
  const scanPerItem = scan.seconds / sample;
  const scanAll = scanPerItem * rows;

  const parquetPerPrediction = w.ourBytes / w.ourRows;
  const lines = [
    `rows in the store: ${count.toLocaleString('en-US')} predictions (${w.feedback.toLocaleString('en-US')} with feedback), ${(w.bytes / 2 ** 20).toFixed(1)} MiB: ${w.ourRows.toLocaleString('en-US')} by the analytics writer in ${w.files} files, ${w.duckRows.toLocaleString('en-US')} by DuckDB's COPY`,
    '',
    '| what | figure |',
    '|---|--:|',
    `| Parquet writer, 100k-row files (export), one thread | ${Math.round(w.ourRows / w.writerSeconds).toLocaleString('en-US')} records/s |`,
    `| Parquet writer, 1,000-row files (stream batches), one thread | ${Math.round(w.streamBatch.rowsPerSecond).toLocaleString('en-US')} records/s |`,
    `| bytes per prediction, Parquet (100k-row files, incl. feedback) | ${parquetPerPrediction.toFixed(1)} |`,
    `| bytes per prediction, Parquet (1,000-row files) | ${w.streamBatch.bytesPerPrediction.toFixed(1)} |`,
    `| bytes per prediction, compacted days (one file per day, incl. feedback) | ${w.compaction.bytesPerPrediction.toFixed(1)} |`,
    `| bytes per prediction, DynamoDB item size (same records) | ${ddbBytes.toFixed(1)} |`,
    `| Parquet / DynamoDB | ${(parquetPerPrediction / ddbBytes).toFixed(3)} (100k-row files), ${(w.streamBatch.bytesPerPrediction / ddbBytes).toFixed(3)} (1,000-row files), ${(w.compaction.bytesPerPrediction / ddbBytes).toFixed(3)} (compacted) (target ≤ 0.2) |`,
    `| compaction of the days our writer wrote (read, dedupe, write, one thread) | ${Math.round(w.compaction.rows / w.compaction.seconds).toLocaleString('en-US')} records/s (${w.compaction.rows.toLocaleString('en-US')} rows in ${w.compaction.seconds.toFixed(1)} s) |`,
    `| DuckDB accuracy-by-day, all rows (target ≤ 2 s) | ${fmt(accuracy)}, ${accuracy.result.rows.length} rows |`,
    `| floor: reading its columns (id, dt, version, label; feedback id, label, time), no dedupe, no join | ${fmt(accuracyColumns)} |`,
    `| floor: its join without the per-id dedupe | ${fmt(noDedupe)} |`,
    `| DuckDB feature-drift, all rows, closed days from the binned counts (target ≤ 2 s) | ${fmt(drift)}, ${drift.result.rows.length} rows |`,
    `| DuckDB feature-drift before the counts, every row binned | ${fmt(driftFromRows)} (${sameDrift}) |`,
    `| floor: reading the latter's columns (id, version, 30 features), no dedupe, no binning | ${fmt(driftColumns)} |`,
    `| binned counts written for ${bins.days} closed days (${bins.rows.toLocaleString('en-US')} rows read, one thread) | ${bins.seconds.toFixed(1)} s (load ${bins.load.toFixed(1)}) |`,
    `| DuckDB dashboard summary (90 days), all rows | ${fmt(summary)} |`,
    ...versionQualityLines(queries),
    `| DynamoDB Scan + both answers, ${sample.toLocaleString('en-US')} items (measured) | ${scan.seconds.toFixed(3)} s (${scan.cpu.toFixed(2)} s CPU, ${scan.accuracyRows} day-version rows, ${scan.driftRows} drift rows) |`,
    `| DynamoDB Scan + both answers, ${rows.toLocaleString('en-US')} items (extrapolated) | ${scanAll.toFixed(1)} s (${((scan.cpu / sample) * rows).toFixed(1)} s CPU) |`,
    `| speed-up, both DuckDB queries against the scan path (target ≥ 100×) | ${(scanAll / (accuracy.seconds + drift.seconds)).toFixed(0)}× wall, ${(((scan.cpu / sample) * rows) / (accuracy.cpu + drift.cpu)).toFixed(0)}× CPU |`,
    `| (loading the scan sample into the embedded DynamoDB took ${scan.loadSeconds.toFixed(1)} s) | |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

void main().catch((e: unknown) => {
  process.stderr.write(`${errorStack(e)}\n`);
  process.exitCode = 1;
});
