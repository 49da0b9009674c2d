/**
 * Parquet copies of the CSV datasets `dataset.ts` writes, for the batch tests and benchmark: ids as text,
 * features as doubles (nullable, as pandas writes them, unless asked otherwise), in row groups, with
 * chosen cells replaced to make bad rows.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';

export interface ToParquet {
  /** Feature columns OPTIONAL (nullable, as pandas writes them) or REQUIRED. @default true */
  readonly optional?: boolean;
  readonly rowGroupSize?: number;
  /** Bytes of values a data page holds at most. @default - hyparquet-writer's (1 MiB) */
  readonly pageSize?: number;
  readonly codec?: 'SNAPPY' | 'UNCOMPRESSED';
  /** Cells to replace: row index (0-based) → column name → value. */
  readonly edits?: ReadonlyMap<number, Record<string, number | null>>;
  /** Leave these columns out. */
  readonly drop?: readonly string[];
}

/** The rows of a CSV dataset (id first, then numbers) as a Parquet file: ids as text, features as doubles. */
export function csvToParquet(csvFile: string, out: string, opts: ToParquet = {}): void {
  const [head, ...lines] = readFileSync(csvFile, 'utf8').trimEnd().split('\n');
  const names = (head as string).split(',');
  const columns = names.map(() => [] as (string | number | null)[]);
  lines.forEach((l, r) => {
    const edit = opts.edits?.get(r);
    l.split(',').forEach((cell, c) => {
      const name = names[c] as string;
      (columns[c] as (string | number | null)[]).push(edit && name in edit ? (edit[name] ?? null) : c === 0 ? cell : Number(cell));
    });
  });
  const optional = opts.optional ?? true;
  const kept = names.map((n, c) => ({ n, c })).filter(({ n }) => !opts.drop?.includes(n));
  const schema = [
    { name: 'root', num_children: kept.length },
    ...kept.map(({ n, c }) =>
      c === 0
        ? { name: n, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' }
        : { name: n, type: 'DOUBLE', repetition_type: optional ? 'OPTIONAL' : 'REQUIRED' },
    ),
  ];
  const buffer = parquetWriteBuffer({
    columnData: kept.map(({ n, c }) => ({ name: n, data: columns[c] as unknown[] })),
    schema,
    codec: opts.codec ?? 'SNAPPY',
    rowGroupSize: opts.rowGroupSize ?? 1000,
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
  } as unknown as Parameters<typeof parquetWriteBuffer>[0]);
  writeFileSync(out, new Uint8Array(buffer));
}
