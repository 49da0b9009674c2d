/**
 * Rows to a Parquet file, with the schema built from the table's column specs (`contract/analytics.ts`).
 * hyparquet-writer is pure JavaScript (no native code, ~100 KB bundled) and ZSTD is zstd 1.5.7 built to
 * WebAssembly (@hpcc-js/wasm-zstd, the module inlined in its JavaScript), so the stream function and the
 * local system write byte-for-byte the same files on any Node.
 */
import { gunzipSync } from 'node:zlib';
import { Zstd } from '@hpcc-js/wasm-zstd';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { type AnalyticsTable, type ColumnSpec, type FeatureCell, tableColumns } from '../../contract/analytics';
import { FEATURE_BINS_COLUMNS, type FeatureBinCount } from '../../contract/feature-bins';
import type { ModelManifest } from '../../contract/manifest';

type SchemaElement = Record<string, unknown>;

function schemaOf(columns: readonly ColumnSpec[]): SchemaElement[] {
  const out: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  for (const c of columns) {
    const repetition_type = c.nullable ? 'OPTIONAL' : 'REQUIRED';
    switch (c.type) {
      case 'string':
        out.push({ name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type });
        break;
      case 'double':
        out.push({ name: c.name, type: 'DOUBLE', repetition_type });
        break;
      case 'float':
        out.push({ name: c.name, type: 'FLOAT', repetition_type });
        break;
      case 'timestamp':
        // Milliseconds, the precision of the log's ISO times; Athena and DuckDB both read TIMESTAMP_MILLIS.
        out.push({
          name: c.name,
          type: 'INT64',
          converted_type: 'TIMESTAMP_MILLIS',
          logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
          repetition_type,
        });
        break;
    }
  }
  return out;
}

/**
 * Encodings where the default (dictionary, else PLAIN) wastes space: ids are time-ordered within a file,
 * so consecutive ones share their time prefix; times increase, so their deltas are small integers.
 */
const ENCODINGS: Record<string, { encoding: string }> = {
  id: { encoding: 'DELTA_BYTE_ARRAY' },
  timestamp: { encoding: 'DELTA_BINARY_PACKED' },
};

/** Schemas per manifest and table: a function writes for one model, so this holds one or two entries. */
const schemas = new WeakMap<ModelManifest, Map<AnalyticsTable, { columns: ColumnSpec[]; schema: SchemaElement[] }>>();

function layoutOf(table: AnalyticsTable, manifest: ModelManifest) {
  let byTable = schemas.get(manifest);
  if (byTable === undefined) {
    byTable = new Map();
    schemas.set(manifest, byTable);
  }
  let layout = byTable.get(table);
  if (layout === undefined) {
    const columns = tableColumns(table, manifest);
    layout = { columns, schema: schemaOf(columns) };
    byTable.set(table, layout);
  }
  return layout;
}

/**
 * The values of one column: a row field, or one input feature of the row's `features`. Number columns
 * without nulls go as typed arrays: a boxed number per value would leave the garbage collector most of
 * the writer's work.
 */
function columnValues(c: ColumnSpec, rows: readonly object[]): unknown[] | Float32Array | Float64Array {
  const index = c.featureIndex;
  const values =
    index === undefined
      ? rows.map((r) => (r as Record<string, unknown>)[c.name] ?? null)
      : rows.map((r) => (r as { features: FeatureCell[] | null }).features?.[index] ?? null);
  if ((c.type === 'float' || c.type === 'double') && !values.includes(null))
    return c.type === 'float' ? Float32Array.from(values as number[]) : Float64Array.from(values as number[]);
  return values;
}

/**
 * ZSTD level 6: DuckDB decodes ZSTD in half GZIP's CPU time (bench/analytics/codecs.ts), and at level 6
 * a day of predictions takes 98 bytes a row where level 3 took 108 and GZIP 6 about 104 (levels 9 and 12
 * gain nothing more; 19 gains 3 % at half the speed). Athena, Trino, Spark and DuckDB all read Parquet's
 * ZSTD codec, which is plain zstd frames, one per page.
 */
const ZSTD_LEVEL = 6;
let zstd: Promise<Zstd> | undefined;
/** The WebAssembly module is compiled once per process, on the first file. */
const loadZstd = () => (zstd ??= Zstd.load());

/**
 * Decompressors for hyparquet's reader: the codecs our files have had (GZIP before ZSTD; hyparquet
 * decodes SNAPPY itself).
 */
export async function parquetDecompressors(): Promise<Record<string, (input: Uint8Array, outputLength: number) => Uint8Array>> {
  const z = await loadZstd();
  return {
    GZIP: (input) => new Uint8Array(gunzipSync(input)),
    ZSTD: (input) => z.decompress(input),
  };
}

/** One Parquet file of `rows` (objects holding at least the table's columns). Throws on an empty list. */
export async function toParquet(table: AnalyticsTable, rows: readonly object[], manifest: ModelManifest): Promise<Uint8Array> {
  return writeParquet(layoutOf(table, manifest), rows);
}

let binsLayout: { columns: readonly ColumnSpec[]; schema: SchemaElement[] } | undefined;

/** The compactor's binned counts of a day (contract/feature-bins.ts) as one Parquet file. Throws on an empty list. */
export async function featureBinsToParquet(rows: readonly FeatureBinCount[]): Promise<Uint8Array> {
  binsLayout ??= { columns: FEATURE_BINS_COLUMNS, schema: schemaOf(FEATURE_BINS_COLUMNS) };
  return writeParquet(binsLayout, rows);
}

async function writeParquet(
  { columns, schema }: { columns: readonly ColumnSpec[]; schema: SchemaElement[] },
  rows: readonly object[],
): Promise<Uint8Array> {
  if (rows.length === 0) throw new Error('A Parquet file needs at least one row');
  const z = await loadZstd();
  const columnData = columns.map((c) => ({
    name: c.name,
    data: columnValues(c, rows),
    ...ENCODINGS[c.type === 'timestamp' ? 'timestamp' : c.name],
  }));
  const buffer = parquetWriteBuffer({
    columnData,
    schema,
    codec: 'ZSTD',
    compressors: { ZSTD: (input: Uint8Array) => z.compress(input, ZSTD_LEVEL) },
    // One row group per file: files are one stream batch (or one export slice), read whole.
    rowGroupSize: rows.length,
    createdBy: 'mlship analytics',
  } as unknown as Parameters<typeof parquetWriteBuffer>[0]);
  return new Uint8Array(buffer);
}
