/**
 * An in-memory DuckDB for a test file: opened before its tests, closed after. DuckDB writes Parquet as
 * the data tools do (data pages v1, dictionary and the version 2 encodings, each codec) and reads any.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** Registers the open and close hooks; the answer gives the connection once the tests run. */
export function duckdbForTests(): () => DuckDBConnection {
  let instance: DuckDBInstance | undefined;
  let conn: DuckDBConnection | undefined;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    conn = await instance.connect();
  });
  afterAll(() => {
    conn?.closeSync();
    instance?.closeSync();
  });
  return () => {
    if (!conn) throw new Error('DuckDB is opened in beforeAll: ask for the connection inside a test.');
    return conn;
  };
}
