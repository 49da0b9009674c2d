/** Progress on a terminal (stderr), redrawn in place at most twice a second, and the peak memory of the run. */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private peakRss = process.memoryUsage.rss();
  private readonly sampler: NodeJS.Timeout;

  constructor(
    private readonly startedAt: number,
    private readonly totalBytes: number | undefined,
    private readonly state: () => { rows: number; rejected: number; bytes: number },
    show: boolean,
  ) {
    // Sampled, and also read from the kernel's high-water mark at the end.
    this.sampler = setInterval(() => (this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss())), 200);
    this.sampler.unref();
    if (show) {
      this.timer = setInterval(() => process.stderr.write(`\r${this.line()}`), 500);
      this.timer.unref();
    }
  }

  /** Peak resident set of the process in MiB (main thread and workers share it). */
  peakRssMiB(): number {
    const kernelPeak = process.resourceUsage().maxRSS * 1024;
    return Math.max(this.peakRss, kernelPeak) / (1024 * 1024);
  }

  stop(): void {
    clearInterval(this.sampler);
    if (this.timer) {
      clearInterval(this.timer);
      process.stderr.write(`\r${this.line()}\n`);
    }
  }

  private line(): string {
    const s = this.state();
    const secs = (Date.now() - this.startedAt) / 1000;
    const pct = this.totalBytes ? ` ${((100 * s.bytes) / this.totalBytes).toFixed(1)}%` : '';
    return `batch:${pct} ${s.rows.toLocaleString('en-US')} rows, ${s.rejected} rejected, ${Math.round(s.rows / Math.max(secs, 1e-3)).toLocaleString('en-US')} rows/s, ${secs.toFixed(1)} s   `;
  }
}
