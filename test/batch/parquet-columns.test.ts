/**
 * The typed-array reader of numeric Parquet columns (`parquet-columns.ts`) against hyparquet's
 * `parquetRead` behind it (`RowGroupReader.columns(g, true)`): on random files, each feature a random
 * physical type (DOUBLE, FLOAT, INT32 as INT_16, INT64), required or nullable, with nulls, NaN, ±Infinity,
 * values beyond float32, -0, unsafe INT64 integers and repeated values (dictionary pages), written in
 * several row groups and data pages v2 with PLAIN, dictionary, BYTE_STREAM_SPLIT or DELTA_BINARY_PACKED
 * and each codec, both must give the same ids, float32 values bit for bit, and rejects. Then files as
 * DuckDB writes them (data pages v1 with RLE definition levels; PLAIN_DICTIONARY and PLAIN, or with
 * PARQUET_VERSION V2 RLE_DICTIONARY, BYTE_STREAM_SPLIT and DELTA_BINARY_PACKED; SNAPPY, ZSTD, GZIP),
 * which must take the typed-array path and answer as hyparquet's own reading does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Zstd } from '@hpcc-js/wasm-zstd';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parseLocation } from '../../container/src/batch/locations';
import { openParquet } from '../../container/src/batch/parquet';
import { isNumericColumn } from '../../container/src/batch/parquet-columns';
import { columnChunkStart, type GroupColumn, parseParquetRows, RowGroupReader } from '../../container/src/batch/parquet-read';
import { SLICING } from '../../container/src/batch/parquet-slices';
import type { ParsedChunk } from '../../container/src/batch/rows';
import { type ModelManifest, parseManifest } from '../../contract/manifest';
import { duckdbForTests } from '../support/duckdb';

const manifest: ModelManifest = parseManifest({
  name: 'mixed',
  version: '1.0.0',
  file: 'model.onnx',
  inputTensor: 'input',
  input: {
    kind: 'tabular',
    features: [
      { name: 'a', type: 'float' },
      { name: 'b', type: 'float', nullable: true },
      { name: 'n', type: 'int' },
      { name: 'c', type: 'float' },
      { name: 'm', type: 'int' },
    ],
  },
  output: { kind: 'regression', tensor: 'value' },
});
const FEATURES = ['a', 'b', 'n', 'c', 'm'];
const noS3 = () => {
  throw new Error('no S3 here');
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-parquet-columns-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let seed = 11;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

interface Read {
  chunks: ParsedChunk[];
  /** Per feature (and the id column), how many units gave it as a typed array. */
  typed: Record<string, number>;
  /** Units of work: row groups, or slices of them. */
  groups: number;
}

/** Every unit of `file` (row groups cut into slices of at most `sliceRows`), decoded the typed-array way or hyparquet's (`general`), then parsed. */
async function readAll(file: string, general: boolean, packs = true, sliceRows?: number): Promise<Read> {
  // Given a slice size, every group is cut, whatever the cuts cost: these tests check that any cut reads right.
  const slicing = sliceRows ? { rows: sliceRows, maxExtraDecoding: Number.POSITIVE_INFINITY } : SLICING;
  const src = await openParquet(parseLocation(file), noS3, manifest, 'id', slicing);
  try {
    const reader = new RowGroupReader(src.init);
    const chunks: ParsedChunk[] = [];
    const typed: Record<string, number> = Object.fromEntries(FEATURES.map((f) => [f, 0]));
    for await (const unit of src.units()) {
      const columns: Map<string, GroupColumn> = await reader.columns(unit, general);
      for (const f of [...FEATURES, 'id']) if (isNumericColumn(columns.get(f))) typed[f] = (typed[f] ?? 0) + 1;
      chunks.push(parseParquetRows(manifest, src.init, columns, unit.rows, unit.rowStart + 1, packs));
    }
    return { chunks, typed, groups: chunks.length };
  } finally {
    await src.close();
  }
}

/** The two reads of a file give the same rows: ids, float32 bits, rejects (and instances when not packed). */
function expectSame(fast: Read, general: Read): void {
  expect(fast.chunks.length).toBe(general.chunks.length);
  fast.chunks.forEach((c, i) => {
    const g = general.chunks[i] as ParsedChunk;
    expect(c.ids).toEqual(g.ids);
    expect(Array.from(new Uint32Array(c.packed.buffer, c.packed.byteOffset, c.packed.length))).toEqual(
      Array.from(new Uint32Array(g.packed.buffer, g.packed.byteOffset, g.packed.length)),
    );
    expect(c.rejects).toEqual(g.rejects);
    expect(c.instances?.length).toEqual(g.instances?.length);
    expect(c.lines).toEqual(g.lines);
  });
}

/** A read's units run together, as the output holds them: ids, lines, float32 bits, rejects, instances. */
function joined(r: Read) {
  return {
    rows: r.chunks.reduce((n, c) => n + c.rows, 0),
    ids: r.chunks.flatMap((c) => c.ids),
    lines: r.chunks.flatMap((c) => Array.from(c.lines ?? [])),
    bits: r.chunks.flatMap((c) => Array.from(new Uint32Array(c.packed.buffer, c.packed.byteOffset, c.packed.length))),
    rejects: r.chunks.flatMap((c) => c.rejects),
    instances: r.chunks.flatMap((c) => c.instances ?? []),
  };
}

type Physical = 'DOUBLE' | 'FLOAT' | 'INT32' | 'INT64';

/** A random value of a column of type `t`, for an int feature or a float one; null only when nullable. */
function value(t: Physical, int: boolean, nullable: boolean, repeats: boolean): number | bigint | null {
  if (nullable && rand() < 0.08) return null;
  if (repeats) {
    const v = pick([0, 1, 2, 3, -1, 7]);
    return t === 'INT64' ? BigInt(v) : v;
  }
  const r = rand();
  if (t === 'INT64') {
    if (r < 0.05) return pick([2n ** 53n + 1n, -(2n ** 60n), 2n ** 63n - 1n, 2n ** 53n - 1n]);
    return BigInt(Math.floor((rand() - 0.5) * 2e6));
  }
  if (t === 'INT32') return Math.floor((rand() - 0.5) * 60000); // INT_16 holds these
  if (r < 0.02) return Number.NaN;
  if (r < 0.04) return pick([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  if (r < 0.06) return t === 'FLOAT' ? -0 : pick([1e39, -3.5e38, 3.4028235677973366e38, -0, 5e-324]);
  if (int && r < 0.5) return Math.floor((rand() - 0.5) * 1000);
  return t === 'FLOAT' ? Math.fround((rand() - 0.5) * 1e4) : (rand() - 0.5) * 10 ** Math.floor(rand() * 12 - 4);
}

let zstd: Zstd;
beforeAll(async () => {
  zstd = await Zstd.load();
});

describe('numeric columns read into typed arrays', () => {
  it.each(Array.from({ length: 24 }, (_v, i) => i))('give the rows hyparquet gives, on random file %i', async (i) => {
    // GIVEN a random file: random types, nullability, encodings, row groups, pages and codec
    const rows = 200 + Math.floor(rand() * 3000);
    const schema: Record<string, unknown>[] = [{ name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' }];
    const columnData: Record<string, unknown>[] = [
      { name: 'id', data: Array.from({ length: rows }, (_v, r) => (r % 97 === 5 ? '' : `r${r}`)) },
    ];
    for (const f of FEATURES) {
      const t = pick<Physical>(['DOUBLE', 'DOUBLE', 'FLOAT', 'INT32', 'INT64']);
      const optional = rand() < 0.6;
      const repeats = rand() < 0.3;
      const data = Array.from({ length: rows }, () => value(t, f === 'n' || f === 'm', optional, repeats));
      const integers = t === 'INT32' || t === 'INT64';
      const encoding = pick([
        undefined,
        'PLAIN',
        integers ? 'DELTA_BINARY_PACKED' : 'BYTE_STREAM_SPLIT',
        repeats ? 'RLE_DICTIONARY' : undefined,
      ]);
      columnData.push({ name: f, data, ...(encoding ? { encoding } : {}) });
      const repetition_type = optional ? 'OPTIONAL' : 'REQUIRED';
      // INT32 as pyarrow writes an int16 column: converted type INT_16, logical type INTEGER(16, signed).
      schema.push(
        t === 'INT32'
          ? { name: f, type: t, converted_type: 'INT_16', logical_type: { type: 'INTEGER', bitWidth: 16, isSigned: true }, repetition_type }
          : { name: f, type: t, repetition_type },
      );
    }
    schema.push({ name: 'extra', type: 'DOUBLE', repetition_type: 'REQUIRED' });
    columnData.push({ name: 'extra', data: Array.from({ length: rows }, () => rand()) });
    const codec = pick(['SNAPPY', 'UNCOMPRESSED', 'GZIP', 'ZSTD'] as const);
    const file = path.join(dir, `random-${i}.parquet`);
    writeFileSync(
      file,
      new Uint8Array(
        parquetWriteBuffer({
          columnData,
          schema: [{ name: 'root', num_children: schema.length }, ...schema],
          codec,
          compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)), ZSTD: (b: Uint8Array) => zstd.compress(b) },
          rowGroupSize: 100 + Math.floor(rand() * 1500),
          pageSize: pick([1 << 20, 2000, 700]),
        } as unknown as Parameters<typeof parquetWriteBuffer>[0]),
      ),
    );

    // WHEN it is read both ways, packed and as instances
    const fast = await readAll(file, false);
    const general = await readAll(file, true);

    // THEN every feature column took the typed-array path, and the rows are the same
    for (const f of FEATURES) expect(fast.typed[f]).toBe(fast.groups);
    expect(general.typed).toEqual(Object.fromEntries(FEATURES.map((f) => [f, 0])));
    expect(fast.typed.id).toBeUndefined(); // text ids: not numbers (`parquet-text.ts` reads them)
    expectSame(fast, general);
    expectSame(await readAll(file, false, false), await readAll(file, true, false));
    const rejects = fast.chunks.reduce((n, c) => n + c.rejects.length, 0);
    expect(rejects).toBeGreaterThan(0);
    expect(rejects).toBeLessThan(rows);

    // AND cut into slices of a few hundred rows, each decoded alone from its pages, both ways, the rows,
    // their numbers and the rejects are the same, in the same order
    const sliceRows = 50 + Math.floor(rand() * 400);
    const sliced = await readAll(file, false, true, sliceRows);
    expect(sliced.groups).toBe(fast.chunks.reduce((n, c) => n + Math.ceil(c.rows / sliceRows), 0));
    for (const f of FEATURES) expect(sliced.typed[f]).toBe(sliced.groups);
    expect(joined(sliced)).toEqual(joined(fast));
    expect(joined(await readAll(file, true, true, sliceRows))).toEqual(joined(fast));
    expect(joined(await readAll(file, false, false, sliceRows))).toEqual(joined(await readAll(file, true, false)));
  });
});

describe('Parquet files as DuckDB writes them', () => {
  const duckdb = duckdbForTests();

  // Columns in another order than the features, an extra one, nulls, repeated values, INT64, INT32, FLOAT;
  // ids as text, or as numbers (an INT64 column, some beyond safe integers, read the typed-array way too).
  const select = (id: string) => `SELECT
      (i * 13 % 101)::DOUBLE / 7 AS c,
      ${id} AS id,
      CASE WHEN i % 11 = 0 THEN NULL WHEN i % 29 = 0 THEN 'NaN'::DOUBLE ELSE (i % 5)::DOUBLE END AS b,
      CASE WHEN i % 17 = 0 THEN NULL ELSE i * 1.25 - 300 END::DOUBLE AS a,
      CASE WHEN i % 31 = 0 THEN 9007199254740993 ELSE i - 500 END::BIGINT AS n,
      (i % 300)::INTEGER AS m,
      (i % 9)::FLOAT AS extra
    FROM range(12000) t(i)`;

  it.each([
    { version: 'V1', compression: 'snappy', rowGroup: 3000, id: "'row' || i" },
    { version: 'V1', compression: 'zstd', rowGroup: 100000, id: 'CASE WHEN i % 1000 = 7 THEN 9007199254740993 ELSE i END::BIGINT' },
    { version: 'V2', compression: 'gzip', rowGroup: 5000, id: "'row' || i" },
    { version: 'V2', compression: 'uncompressed', rowGroup: 2048, id: 'i::BIGINT' },
  ])('take the typed-array path and give the rows hyparquet gives (%o)', async ({ version, compression, rowGroup, id }) => {
    const file = path.join(dir, `duckdb-${version}-${compression}.parquet`);
    await duckdb().run(
      `COPY (${select(id)}) TO '${file}' (FORMAT parquet, PARQUET_VERSION ${version}, COMPRESSION ${compression}, ROW_GROUP_SIZE ${rowGroup})`,
    );
    const fast = await readAll(file, false);
    expect(fast.groups).toBeGreaterThan(rowGroup < 12000 ? 1 : 0);
    for (const f of FEATURES) expect(fast.typed[f]).toBe(fast.groups);
    expect(fast.typed.id).toBe(id.includes('BIGINT') ? fast.groups : undefined);
    expectSame(fast, await readAll(file, true));
    // Nulls in a and the unsafe INT64 in n are rejects; nulls and NaN in b (nullable) are missing values.
    const rejects = fast.chunks.flatMap((c) => c.rejects);
    expect(rejects.filter((r) => r.field === 'a').length).toBe(Math.ceil(12000 / 17));
    expect(rejects.filter((r) => r.field === 'n').length).toBeGreaterThan(0);
    // An INT64 id beyond safe integers is kept as its digits, as text.
    const big = [...fast.chunks.flatMap((c) => c.ids), ...rejects.map((r) => r.id)].filter((x) => x === '9007199254740993');
    expect(big.length).toBe(id.includes('9007199254740993') ? 12 : 0);
    // Cut into slices of 1,000 rows, each decoded alone, both ways: the same rows in the same order.
    const sliced = await readAll(file, false, true, 1000);
    expect(sliced.groups).toBe(fast.chunks.reduce((n, c) => n + Math.ceil(c.rows / 1000), 0));
    for (const f of FEATURES) expect(sliced.typed[f]).toBe(sliced.groups);
    expect(joined(sliced)).toEqual(joined(fast));
    expect(joined(await readAll(file, true, true, 1000))).toEqual(joined(fast));
  });
});

describe('where a column chunk starts', () => {
  it.each([
    { what: 'at its dictionary page', dictionary_page_offset: 4n, data_page_offset: 90n, start: 4 },
    { what: 'at its first data page, without a dictionary', dictionary_page_offset: undefined, data_page_offset: 90n, start: 90 },
    { what: 'at its first data page when a writer puts 0 for no dictionary', dictionary_page_offset: 0n, data_page_offset: 90n, start: 90 },
    {
      what: 'at the data page offset when the dictionary offset is past it',
      dictionary_page_offset: 120n,
      data_page_offset: 90n,
      start: 90,
    },
  ])('$what', ({ start, ...m }) => {
    expect(columnChunkStart(m)).toBe(start);
  });
});
