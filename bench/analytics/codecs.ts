/**
 * The same store in other Parquet codecs, to see what the codec costs the queries: DuckDB rewrites the
 * bench store (`bench.ts`, ZSTD as the writer writes it) as GZIP (what the writer wrote before) and as
 * SNAPPY, in the same layout (`analytics/<table>/model=…/dt=…/`), one file per day and table. Then run
 * the queries over each:
 *
 *   npx tsx bench/analytics/codecs.ts [--store .mlship/bench/analytics] [--threads 2]
 *   npx tsx bench/analytics/bench.ts --queries-only --store .mlship/bench/analytics-gzip
 *
 * Athena and DuckDB read all three. hyparquet-writer 0.17 takes any codec's compressor as a function
 * (`compressors: { ZSTD: … }`): the writer's ZSTD is WebAssembly (@hpcc-js/wasm-zstd), Node's zlib
 * gives GZIP, and hyparquet-writer ships SNAPPY in JavaScript.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const store = resolve(flag('store', '.mlship/bench/analytics'));
const threads = flag('threads', '2');

function bytesOf(dir: string): number {
  return readdirSync(dir).reduce((s, e) => {
    const p = join(dir, e);
    return s + (statSync(p).isDirectory() ? bytesOf(p) : e.endsWith('.parquet') ? statSync(p).size : 0);
  }, 0);
}

async function main(): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { threads });
  const conn = await instance.connect();
  for (const codec of ['GZIP', 'SNAPPY']) {
    const out = `${store}-${codec.toLowerCase()}`;
    rmSync(out, { recursive: true, force: true });
    mkdirSync(join(out, 'analytics'), { recursive: true });
    const t = process.hrtime.bigint();
    for (const table of ['predictions', 'feedback']) {
      const from = join(store, 'analytics', table, '**', '*.parquet').replace(/'/g, "''");
      await conn.run(
        `COPY (SELECT * FROM read_parquet('${from}', hive_partitioning = true, hive_types_autocast = false)) TO '${join(out, 'analytics', table)}' (FORMAT PARQUET, PARTITION_BY (model, dt), COMPRESSION ${codec}, FILENAME_PATTERN '${codec.toLowerCase()}_{i}')`,
      );
    }
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    process.stdout.write(
      `${codec}: ${out}, ${(bytesOf(out) / 2 ** 20).toFixed(1)} MiB (ZSTD: ${(bytesOf(store) / 2 ** 20).toFixed(1)} MiB), rewritten in ${seconds.toFixed(1)} s\n`,
    );
  }
  // The floor of feature-drift in each codec: its 32 columns read, nothing else; CPU seconds of one run after a warm-up.
  for (const [codec, root] of [
    ['ZSTD', store],
    ['GZIP', `${store}-gzip`],
    ['SNAPPY', `${store}-snappy`],
  ]) {
    const glob = join(root, 'analytics', 'predictions', '**', '*.parquet').replace(/'/g, "''");
    const probe = await conn.runAndReadAll(`SELECT * FROM read_parquet('${glob}', hive_partitioning = true) LIMIT 0`);
    const columns = probe.columnNames().filter((c) => c.startsWith('f_') || c === 'id' || c === 'version');
    const sql = `SELECT ${columns.map((c) => `min(${c})`).join(', ')} FROM read_parquet('${glob}', hive_partitioning = true, hive_types_autocast = false)`;
    await conn.run(sql);
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    await conn.run(sql);
    const used = process.cpuUsage(c);
    const wall = Number(process.hrtime.bigint() - t) / 1e9;
    process.stdout.write(
      `${codec}: drift columns read in ${wall.toFixed(2)} s, ${((used.user + used.system) / 1e6).toFixed(2)} s CPU (load ${loadavg()[0].toFixed(1)})\n`,
    );
  }
  conn.closeSync();
  instance.closeSync();
}

void main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exitCode = 1;
});
