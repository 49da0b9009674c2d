/**
 * Adaptive micro-batching: rows of concurrent requests are coalesced into one `session.run`.
 *
 * - Nothing running: the queue is flushed once the code that submitted has run to its end (a microtask),
 *   so a lone request runs at once, with no wait for the event loop's next phase, and requests submitted
 *   together share a run. Requests that arrive apart share the next run: they queue behind this one.
 * - A run in flight: rows wait for it to finish (the natural batching window), but never longer than
 *   `maxDelayUs`; after that a second run starts beside the first.
 * - `maxBatchSize` rows flush at once. A request larger than that runs alone, unsplit.
 * - `maxDelayUs = 0` turns batching off: each request gets its own run.
 * Each request gets back exactly its own rows' predictions, in order.
 */
import { isApiError } from '../../contract/errors';
import type { Row } from '../../contract/manifest';
import type { Prediction } from '../../contract/prediction';

export interface BatcherOptions {
  /** Most rows in one run. */
  readonly maxBatchSize: number;
  /** Longest a queued row waits while another run is in flight, in microseconds; 0 = no batching. */
  readonly maxDelayUs: number;
}

type Run = (rows: readonly Row[]) => Promise<Prediction[]>;

interface Waiter {
  readonly rows: readonly Row[];
  resolve(p: Prediction[]): void;
  reject(e: unknown): void;
}

export class Batcher {
  private queue: Waiter[] = [];
  private queuedRows = 0;
  private inFlight = 0;
  private flushScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  /** Runs and rows since start, for tests and the benchmark. */
  readonly stats = { runs: 0, rows: 0, maxRowsPerRun: 0 };

  constructor(
    private readonly run: Run,
    private readonly opts: BatcherOptions,
  ) {
    if (!Number.isInteger(opts.maxBatchSize) || opts.maxBatchSize < 1)
      throw new Error(`maxBatchSize must be a positive integer, got ${opts.maxBatchSize}`);
    if (!Number.isInteger(opts.maxDelayUs) || opts.maxDelayUs < 0)
      throw new Error(`maxDelayUs must be an integer >= 0, got ${opts.maxDelayUs}`);
  }

  get enabled(): boolean {
    return this.opts.maxDelayUs > 0 && this.opts.maxBatchSize > 1;
  }

  /** Predicts the rows, sharing a run with other requests' rows when the server is busy. */
  submit(rows: readonly Row[]): Promise<Prediction[]> {
    if (!this.enabled || rows.length >= this.opts.maxBatchSize) return this.track(rows);
    return new Promise<Prediction[]>((resolve, reject) => {
      if (this.queuedRows + rows.length > this.opts.maxBatchSize) this.flush();
      this.queue.push({ rows, resolve, reject });
      this.queuedRows += rows.length;
      if (this.queuedRows >= this.opts.maxBatchSize) this.flush();
      else if (this.inFlight === 0) this.scheduleFlush();
      else this.armTimer();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      if (this.queue.length > 0) this.flush();
    });
  }

  private armTimer(): void {
    if (this.timer) return;
    // setTimeout's resolution is 1 ms; sub-millisecond delays still fire on the next timer tick.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.queue.length > 0) this.flush();
    }, this.opts.maxDelayUs / 1000);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const waiters = this.queue;
    this.queue = [];
    this.queuedRows = 0;
    const only = waiters.length === 1 ? waiters[0] : undefined;
    if (only !== undefined) {
      this.track(only.rows).then(only.resolve, only.reject);
      return;
    }
    const rows: Row[] = [];
    for (const w of waiters) for (const r of w.rows) rows.push(r);
    this.track(rows).then(
      (predictions) => {
        let at = 0;
        for (const w of waiters) {
          w.resolve(predictions.slice(at, at + w.rows.length));
          at += w.rows.length;
        }
      },
      (e) => {
        // A NaN/Infinity answer belongs to one caller's rows: rerun each caller alone so only it fails.
        if (isApiError(e) && e.code === 'NON_FINITE_OUTPUT') for (const w of waiters) this.track(w.rows).then(w.resolve, w.reject);
        else for (const w of waiters) w.reject(e);
      },
    );
  }

  /** Runs and counts in-flight runs; when the last one ends, whatever queued meanwhile runs next. */
  private async track(rows: readonly Row[]): Promise<Prediction[]> {
    this.inFlight++;
    this.stats.runs++;
    this.stats.rows += rows.length;
    if (rows.length > this.stats.maxRowsPerRun) this.stats.maxRowsPerRun = rows.length;
    try {
      const out = await this.run(rows);
      if (out.length !== rows.length) throw new Error(`The model answered ${out.length} predictions for ${rows.length} rows.`);
      return out;
    } finally {
      this.inFlight--;
      if (this.inFlight === 0 && this.queue.length > 0) this.flush();
    }
  }
}
