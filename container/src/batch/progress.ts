export interface ProgressState {
  rows: number;
  rejected: number;
  /** Input bytes read so far. */
  bytes: number;
}

/**
 * One progress line: the share of the input read with an estimate of the time left, rows, rejects, rate
 * and time so far. A finished run shows 100 % (the bytes counted can stop short of the file's size: a
 * Parquet footer, a trailing newline).
 */
export function progressLine(s: ProgressState, totalBytes: number | undefined, secs: number, done: boolean): string {
  const share = done ? 1 : totalBytes ? Math.min(1, s.bytes / totalBytes) : undefined;
  const pct = share === undefined ? '' : ` ${(100 * share).toFixed(1)}%`;
  const eta = !done && share !== undefined && share > 0 && share < 1 ? `, about ${duration((secs * (1 - share)) / share)} left` : '';
  const rate = Math.round(s.rows / Math.max(secs, 1e-3)).toLocaleString('en-US');
  return `batch:${pct} ${s.rows.toLocaleString('en-US')} rows, ${s.rejected} rejected, ${rate} rows/s, ${secs.toFixed(1)} s${eta}   `;
}

/** 42 s, 3 min 05 s, 2 h 07 min. */
function duration(secs: number): string {
  const whole = Math.ceil(secs);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} min`;
}

/** Progress on a terminal (stderr), redrawn in place at most twice a second, and the peak memory of the run. */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private peakRss = process.memoryUsage.rss();
  private readonly sampler: NodeJS.Timeout;

  constructor(
    private readonly startedAt: number,
    private readonly totalBytes: number | undefined,
    private readonly state: () => ProgressState,
    show: boolean,
  ) {
    // Sampled, and also read from the kernel's high-water mark at the end.
    this.sampler = setInterval(() => (this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss())), 200);
    this.sampler.unref();
    if (show) {
      this.timer = setInterval(() => process.stderr.write(`\r${this.line(false)}`), 500);
      this.timer.unref();
    }
  }

  /** Peak resident set of the process in MiB (main thread and workers share it). */
  peakRssMiB(): number {
    const kernelPeak = process.resourceUsage().maxRSS * 1024;
    return Math.max(this.peakRss, kernelPeak) / (1024 * 1024);
  }

  /** Ends the line: at 100 % when the run completed, where it stopped when it failed. */
  stop(completed: boolean): void {
    clearInterval(this.sampler);
    if (this.timer) {
      clearInterval(this.timer);
      process.stderr.write(`\r${this.line(completed)}\n`);
    }
  }

  private line(done: boolean): string {
    return progressLine(this.state(), this.totalBytes, (Date.now() - this.startedAt) / 1000, done);
  }
}
