/** Dataset formats named by file extensions and content types. */
import type { Location } from './locations';
import type { BatchFormat } from './types';

/** `.jsonl`/`.ndjson` (also before `.out`) are JSON Lines, `.csv` is CSV, `.parquet`/`.pq` Parquet; anything else says nothing. */
export function formatOf(l: Location): BatchFormat | undefined {
  const name = (l.kind === 'file' ? l.path : l.key).toLowerCase().replace(/\.out$/, '');
  if (/\.(jsonl|ndjson)$/.test(name)) return 'jsonl';
  if (name.endsWith('.csv')) return 'csv';
  if (/\.(parquet|pq)$/.test(name)) return 'parquet';
  return undefined;
}

export function contentTypeOf(f: BatchFormat): string {
  return f === 'csv' ? 'text/csv' : f === 'parquet' ? 'application/vnd.apache.parquet' : 'application/jsonlines';
}
