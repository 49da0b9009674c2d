/**
 * The text column reader (`parquet-text.ts`) against hyparquet's own reading of the same files: columns
 * DuckDB writes with all-distinct values (PLAIN pages), few distinct ones (dictionary pages), nulls,
 * empty strings and non-ASCII text, in data pages v1 and v2 and each codec, read whole and from a row
 * inside a page on. The reader must take every column of PLAIN or dictionary pages (no fallback) and give
 * the same strings; DELTA-encoded text (DuckDB's version 2 pages) it leaves to hyparquet.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Zstd } from '@hpcc-js/wasm-zstd';
import { type ColumnMetaData, parquetMetadata, parquetReadObjects, parquetSchema, type SchemaElement } from 'hyparquet';
import { columnChunkStart } from '../../container/src/batch/parquet-read';
import { decodesAsText, readTextColumn } from '../../container/src/batch/parquet-text';
import { duckdbForTests } from '../support/duckdb';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-parquet-text-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const COLUMNS = {
  distinct: "'r' || i",
  few: "'class-' || (i % 7)",
  nulls: "CASE WHEN i % 13 = 0 THEN NULL WHEN i % 17 = 0 THEN '' ELSE 'v' || i END",
  unicode: "CASE WHEN i % 3 = 0 THEN 'é' || i WHEN i % 3 = 1 THEN '数据' || (i % 11) ELSE '🙂' END",
};

describe('text columns as DuckDB writes them', () => {
  const duckdb = duckdbForTests();

  it.each([
    { version: 'V1', compression: 'snappy' },
    { version: 'V1', compression: 'gzip' },
    { version: 'V2', compression: 'zstd' },
    { version: 'V2', compression: 'uncompressed' },
  ])(
    'reads each as hyparquet does, whole and from a row inside a page on (%o)',
    async ({ version, compression }) => {
      const file = path.join(dir, `text-${version}-${compression}.parquet`);
      const select = Object.entries(COLUMNS)
        .map(([name, sql]) => `${sql} AS ${name}`)
        .join(', ');
      await duckdb().run(
        `COPY (SELECT ${select} FROM range(30000) t(i)) TO '${file}' (FORMAT parquet, PARQUET_VERSION ${version}, COMPRESSION ${compression}, ROW_GROUP_SIZE 10000)`,
      );
      const bytes = new Uint8Array(readFileSync(file));
      const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      const zstd = await Zstd.load();
      const compressors = { GZIP: (b: Uint8Array) => new Uint8Array(gunzipSync(b)), ZSTD: (b: Uint8Array) => zstd.decompress(b) };
      const file0 = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const expected = (await parquetReadObjects({ file: file0, compressors })) as Record<string, string | null>[];
      const elements = new Map(parquetSchema(metadata).children.map((c) => [c.element.name, c.element as SchemaElement]));
      let rowStart = 0;
      let taken = 0;
      for (const group of metadata.row_groups) {
        const rows = Number(group.num_rows);
        for (const chunk of group.columns) {
          const meta = chunk.meta_data as ColumnMetaData;
          const name = meta.path_in_schema[0] as string;
          const element = elements.get(name) as SchemaElement;
          expect(decodesAsText(element)).toBe(true);
          const start = columnChunkStart(meta);
          const length = Number(meta.total_compressed_size);
          const want = expected.slice(rowStart, rowStart + rows).map((r) => r[name] ?? null);
          const whole = readTextColumn(bytes, start, length, meta, element, rows, compressors);
          // From row 1,234 of the group on, as a slice whose first page starts before it.
          const part = readTextColumn(bytes, start, length, meta, element, rows - 1234, compressors, 1234);
          // Version 2 pages of text are DELTA_BYTE_ARRAY or DELTA_LENGTH_BYTE_ARRAY: left to hyparquet's reader.
          const delta = meta.encodings.some((e) => e.startsWith('DELTA'));
          expect(whole).toEqual(delta ? undefined : want);
          expect(part).toEqual(delta ? undefined : want.slice(1234));
          taken += delta ? 0 : 1;
        }
        rowStart += rows;
      }
      // Version 1 pages (PLAIN and dictionary) are all read here.
      if (version === 'V1') expect(taken).toBe(3 * Object.keys(COLUMNS).length);
    },
    60_000,
  );
});
