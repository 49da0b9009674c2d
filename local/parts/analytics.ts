/**
 * The Analytics stack on this machine: the table's accepted writes handed in batches to the analytics
 * writer (the stream's event source mapping on AWS), and the compactor run on its schedule. The query
 * function's DuckDB engine, which stands in for Athena, is loaded with the functions (`loadFunctions`).
 */
import { errorMessage } from '../../contract/errors';
import type { CompactionResult } from '../../lambda/analytics/compact';
import { createLogStreamFeeder } from '../log-stream';
import type { DataPart } from './data';
import type { FunctionsPart } from './functions';
import { startPart } from './part';

export interface AnalyticsPartOptions {
  data: Pick<DataPart, 'tableName' | 'onTableChange' | 'pendingChanges' | 'checkpoint'>;
  functions: Pick<FunctionsPart, 'analyticsWriter' | 'analyticsCompactor'>;
  /** How often log writes are handed to the writer; 0 only on `flush()` and at stop. @default 2000 */
  intervalMs?: number;
  /** How often closed days are compacted, besides once at start; 0 only on `compact()`. */
  compactionIntervalMs: number;
}

export interface AnalyticsPart {
  /** Hands the log writes not yet written to the writer now. */
  flush(): Promise<void>;
  /** Compacts the closed days now (the days before `now`'s, UTC; default the real now), one run at a time. */
  compact(now?: Date): Promise<CompactionResult>;
  stop(): Promise<void>;
}

export function startAnalytics(opts: AnalyticsPartOptions): Promise<AnalyticsPart> {
  return startPart(async (started) => {
    const { analyticsWriter, analyticsCompactor } = opts.functions;
    const feeder = createLogStreamFeeder({
      table: opts.data.tableName,
      handler: analyticsWriter,
      intervalMs: opts.intervalMs === 0 ? 2 ** 31 - 1 : opts.intervalMs,
      onError: (e) => process.stderr.write(`analytics: ${errorMessage(e)}\n`),
      onWritten: (seq) => opts.data.checkpoint(seq),
    });
    // What a crash kept from the writer first, then the writes as they come: the stream resumed at its checkpoint.
    for (const c of opts.data.pendingChanges) feeder.push(c);
    const unsubscribe = opts.data.onTableChange((c) => feeder.push(c));
    // Stopped after the gateway (nothing more to log) and before S3 (the last batch still lands).
    started.defer(async () => {
      unsubscribe();
      await feeder.close();
    });

    // The compactor's schedule: once at start, then every interval; runs queue behind each other, as the
    // one message group of the compaction runs' FIFO queue makes them on AWS.
    let compacting: Promise<unknown> = Promise.resolve();
    const compact = (now?: Date): Promise<CompactionResult> => {
      const run = compacting.then(() => analyticsCompactor(now === undefined ? {} : { now: now.toISOString() }));
      compacting = run.catch(() => undefined);
      return run;
    };
    if (opts.compactionIntervalMs > 0) {
      const compactInBackground = () => {
        compact().catch((e: unknown) => process.stderr.write(`analytics compaction: ${errorMessage(e)}\n`));
      };
      compactInBackground();
      const timer = setInterval(compactInBackground, opts.compactionIntervalMs);
      started.defer(async () => {
        clearInterval(timer);
        await compacting;
      });
    }
    return { flush: () => feeder.flush(), compact };
  });
}
