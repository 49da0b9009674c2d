/**
 * The Parquet output's own pages and layout (`parquet-answers.ts`) against hyparquet-writer's
 * `ParquetWriter` on the same answers: random classifier and regression answers in parts of random sizes
 * (one larger than a page, so row groups of several pages a part), ids ASCII, non-ASCII and numbers. hyparquet and DuckDB
 * must read the same rows from both files, and each row group's statistics must be the same.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { answerPages, ParquetAnswers } from '../../container/src/batch/parquet-answers';
import type { AnswerPages } from '../../container/src/batch/types';
import { type ModelManifest, parseManifest } from '../../contract/manifest';
import { duckdbForTests } from '../support/duckdb';

const manifest = (output: unknown): ModelManifest =>
  parseManifest({
    name: 'answers',
    version: '1.0.0',
    file: 'model.onnx',
    inputTensor: 'input',
    input: { kind: 'tabular', features: [{ name: 'x', type: 'float' }] },
    output,
  });
const CLASSIFIER = manifest({ kind: 'classification', tensor: 'probabilities', labels: ['yes', 'no', 'peut-être'] });
const REGRESSION = manifest({ kind: 'regression', tensor: 'value' });

let seed = 5;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-parquet-answers-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Answers {
  ids: (string | number)[];
  label: number[];
  columns: Float64Array[];
}

/** Random answers as the workers' pages, in parts of 1 to 3,000 rows and one of 70,000 (two pages a column). */
function answers(labels: readonly string[]): { parts: AnswerPages[]; all: Answers } {
  const k = labels.length;
  const sizes = [1, 70_000, ...Array.from({ length: 12 }, () => 1 + Math.floor(rand() * 3000))];
  const all: Answers = { ids: [], label: [], columns: [] };
  const parts: AnswerPages[] = [];
  const width = Math.max(k, 1);
  for (const n of sizes) {
    const ids = Array.from({ length: n }, (_v, i) => {
      const r = rand();
      return r < 0.2 ? Math.floor(r * 1e9) : r < 0.25 ? `ünï-${i}-😀` : `row-${Math.floor(rand() * 1e6)}`;
    });
    const values = new Float64Array(n * width).map(() => (rand() < 0.01 ? pick([0, -0, 1, -1e300]) : Math.fround(rand())));
    const label = new Uint32Array(n).map(() => Math.floor(rand() * k));
    all.ids.push(...ids);
    all.label.push(...label);
    all.columns.push(values);
    parts.push(answerPages(labels, k > 0 ? { ids, label, probabilities: values } : { ids, values }));
  }
  return { parts, all };
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

/** Column `j` of every part's `width`-wide rows, in order. */
function column(all: Answers, width: number, j: number): number[] {
  return all.columns.flatMap((c) => Array.from({ length: c.length / width }, (_v, i) => c[i * width + j] as number));
}

const toArrayBuffer = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

describe('the Parquet output', () => {
  const duckdb = duckdbForTests();

  it.each([
    { kind: 'classifier', m: CLASSIFIER },
    { kind: 'regression', m: REGRESSION },
  ])('reads back as hyparquet-writer writes the same answers ($kind)', async ({ m }) => {
    // GIVEN random answers in parts
    const labels = m.output.kind === 'classification' ? m.output.labels : [];
    const k = labels.length;
    const { parts, all } = answers(labels);

    // WHEN the output writes them, and hyparquet-writer writes the same columns in the same row groups
    const chunks: Uint8Array[] = [];
    const out = new ParquetAnswers(m, async (b) => {
      chunks.push(b);
    });
    for (const p of parts) await out.add(p);
    await out.finish();
    const ours = Buffer.concat(chunks);
    const oursMeta = parquetMetadata(toArrayBuffer(ours));
    const groupSizes = oursMeta.row_groups.map((g) => Number(g.num_rows));
    const names = k > 0 ? ['id', 'label', ...labels.map((l) => `p_${l}`)] : ['id', 'value'];
    const text = (name: string) => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' });
    const theirs = new Uint8Array(
      parquetWriteBuffer({
        schema: [
          { name: 'root', num_children: names.length },
          ...names.map((n, j) => (j < (k > 0 ? 2 : 1) ? text(n) : { name: n, type: 'DOUBLE', repetition_type: 'REQUIRED' })),
        ],
        columnData: names.map((name, j) => ({
          name,
          data:
            j === 0
              ? all.ids.map(String)
              : k > 0 && j === 1
                ? all.label.map((i) => labels[i] as string)
                : Float64Array.from(column(all, Math.max(k, 1), j - (k > 0 ? 2 : 1))),
        })),
        rowGroupSize: groupSizes,
      } as unknown as Parameters<typeof parquetWriteBuffer>[0]),
    );

    // THEN: several row groups, one of them of several pages; the same rows through hyparquet
    expect(groupSizes.length).toBe(2);
    expect(groupSizes.some((n) => n > 65_536)).toBe(true);
    const rows = (b: Uint8Array) => parquetReadObjects({ file: toArrayBuffer(b) }) as Promise<Record<string, unknown>[]>;
    const read = await rows(ours);
    expect(read.length).toBe(all.ids.length);
    expect(read).toEqual(await rows(theirs));
    // the same statistics in every row group
    const stats = (b: Uint8Array) =>
      parquetMetadata(toArrayBuffer(b)).row_groups.map((g) =>
        g.columns.map((c) => ({
          min: c.meta_data?.statistics?.min_value,
          max: c.meta_data?.statistics?.max_value,
          nulls: c.meta_data?.statistics?.null_count,
        })),
      );
    expect(stats(ours)).toEqual(stats(theirs));
    expect(stats(ours)[0]?.[0]?.min).toBeDefined();
    // text SNAPPY-compressed, doubles not (see parquet-answers.ts)
    expect(oursMeta.row_groups[0]?.columns.map((c) => c.meta_data?.codec)).toEqual(
      names.map((_n, j) => (j < (k > 0 ? 2 : 1) ? 'SNAPPY' : 'UNCOMPRESSED')),
    );
    // and DuckDB reads the same rows as hyparquet
    const file = path.join(dir, `answers-${k}.parquet`);
    writeFileSync(file, ours);
    const duck = (await duckdb().runAndReadAll(`SELECT * FROM read_parquet('${file}')`)).getRowObjectsJS();
    expect(duck.length).toBe(read.length);
    for (const [i, r] of duck.entries()) {
      expect(r).toEqual(read[i]);
      if (i > 5000) break;
    }
    const types = (await duckdb().runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowObjectsJS();
    expect(types.map((t) => [t.column_name, t.column_type])).toEqual(names.map((n, j) => [n, j < (k > 0 ? 2 : 1) ? 'VARCHAR' : 'DOUBLE']));
  });
});
