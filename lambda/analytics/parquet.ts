/**
 * Rows to a Parquet file, with the schema built from the table's column specs (`contract/analytics.ts`).
 * hyparquet-writer is pure JavaScript (no native code, ~100 KB bundled), so the stream function and
 * the local system write byte-for-byte the same files.
 */
import { parquetWriteBuffer } from 'hyparquet-writer';
import { TABLE_COLUMNS, type AnalyticsTable, type ColumnSpec } from '../../contract/analytics';

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
        out.push({ name: c.name, type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' }, repetition_type });
        break;
      case 'array<float>':
        // The standard three-level LIST that Athena (Hive), Spark and DuckDB read as array<float>.
        out.push({ name: c.name, converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1, repetition_type });
        out.push({ name: 'list', repetition_type: 'REPEATED', num_children: 1 });
        out.push({ name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' });
        break;
    }
  }
  return out;
}

const SCHEMAS = { predictions: schemaOf(TABLE_COLUMNS.predictions), feedback: schemaOf(TABLE_COLUMNS.feedback) };

/** One Parquet file of `rows` (objects holding at least the table's columns). Throws on an empty list. */
export function toParquet(table: AnalyticsTable, rows: readonly object[]): Uint8Array {
  if (rows.length === 0) throw new Error('A Parquet file needs at least one row');
  const columns = TABLE_COLUMNS[table];
  const columnData = columns.map((c) => ({ name: c.name, data: rows.map((r) => (r as Record<string, unknown>)[c.name] ?? null) }));
  const buffer = parquetWriteBuffer({
    columnData,
    schema: SCHEMAS[table],
    codec: 'SNAPPY',
    // One row group per file: files are one stream batch (or one export slice), read whole.
    rowGroupSize: rows.length,
    createdBy: 'mlship analytics',
  } as unknown as Parameters<typeof parquetWriteBuffer>[0]);
  return new Uint8Array(buffer);
}
