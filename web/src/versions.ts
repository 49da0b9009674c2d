/**
 * Model versions side by side (docs/versions.md): when the predictions read hold more than one version
 * (a split challenger, a promotion, pinned requests), a card overlays them — predictions and latency over
 * time, one series per version — with each version's figures of the window beside them. Hidden otherwise.
 */
import type { PredictionRecord, VersionSummary } from '../../contract/prediction-log';
import type { DashboardData } from './api';
import { Chart } from './charts';
import { percentile, timeBuckets } from './series';

export interface VersionSeries {
  /** The versions, in order of first appearance among the predictions (oldest first). */
  versions: string[];
  /** Bucket start times, epoch seconds, shared by every version. */
  t: number[];
  /** Per version (in `versions` order): predictions per bucket, and their p50 latency (null for an empty bucket). */
  count: number[][];
  p50: (number | null)[][];
}

/** Predictions and p50 latency per version on one time axis; undefined when fewer than two versions answered. */
export function versionSeries(items: readonly PredictionRecord[]): VersionSeries | undefined {
  const oldestFirst = [...items].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const versions = [...new Set(oldestFirst.map((r) => r.modelVersion))];
  if (versions.length < 2) return undefined;
  // The buckets of all the predictions (at least two), so every version shares the same axis.
  const { t } = timeBuckets(oldestFirst);
  const first = t[0] ?? 0;
  const width = (t[1] ?? first + 1) - first;
  const latencies = versions.map(() => t.map((): number[] => []));
  for (const r of oldestFirst) {
    const b = Math.min(t.length - 1, Math.floor((Date.parse(r.createdAt) / 1000 - first) / width));
    latencies[versions.indexOf(r.modelVersion)]?.[b]?.push(r.latencyMs);
  }
  return {
    versions,
    t,
    count: latencies.map((perBucket) => perBucket.map((l) => l.length)),
    p50: latencies.map((perBucket) =>
      perBucket.map((l) =>
        percentile(
          [...l].sort((x, y) => x - y),
          50,
        ),
      ),
    ),
  };
}

/** One row of the versions table: the window's figures of a version, and the latency of its predictions read. */
export interface VersionRow {
  version: string;
  served: boolean;
  predictions: number;
  feedback: number;
  /** Accuracy (classification) or MAE (regression) of its fed-back predictions; null without any. */
  quality: number | null;
  p50: number | null;
  p99: number | null;
}

export function versionRows(servedVersion: string, summary: readonly VersionSummary[], items: readonly PredictionRecord[]): VersionRow[] {
  return summary.map((v) => {
    const latencies = items
      .filter((r) => r.modelVersion === v.modelVersion)
      .map((r) => r.latencyMs)
      .sort((a, b) => a - b);
    return {
      version: v.modelVersion,
      served: v.modelVersion === servedVersion,
      predictions: v.count,
      feedback: v.feedbackCount,
      quality: v.classification?.accuracy ?? v.regression?.mae ?? null,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  });
}

/** The versions card: created charts are kept while the set of versions stays the same. */
export class VersionsView {
  private shown = '';
  private volume: Chart | undefined;
  private latency: Chart | undefined;

  constructor(
    private readonly card: HTMLElement,
    private readonly volumeHost: HTMLElement,
    private readonly latencyHost: HTMLElement,
    private readonly tableBody: HTMLTableSectionElement,
  ) {}

  render(d: DashboardData): void {
    const s = versionSeries(d.items);
    this.card.hidden = s === undefined;
    if (s === undefined) return;
    const key = s.versions.join('\n');
    if (key !== this.shown) {
      // Series are fixed when a chart is made: a new set of versions gets new charts.
      this.volume = new Chart(freshHost(this.volumeHost), { series: s.versions, yLabel: 'per bucket' });
      this.latency = new Chart(freshHost(this.latencyHost), { series: s.versions.map((v) => `${v} p50`), yLabel: 'ms' });
      this.shown = key;
    }
    this.volume?.update([s.t, ...s.count]);
    this.latency?.update([s.t, ...s.p50]);
    const regression = d.model.output.kind === 'regression';
    this.tableBody.replaceChildren();
    for (const r of versionRows(d.model.version, d.summary.versions, d.items)) {
      const row = this.tableBody.insertRow();
      const quality = r.quality === null ? '–' : regression ? r.quality.toFixed(3) : `${(r.quality * 100).toFixed(1)}%`;
      const ms = (v: number | null) => (v === null ? '–' : `${v.toFixed(0)} ms`);
      for (const text of [
        r.served ? `${r.version} (served)` : r.version,
        String(r.predictions),
        String(r.feedback),
        quality,
        ms(r.p50),
        ms(r.p99),
      ])
        row.insertCell().textContent = text;
    }
  }
}

/** An empty chart host inside `parent`, replacing the previous one. */
function freshHost(parent: HTMLElement): HTMLElement {
  const host = document.createElement('div');
  host.className = 'chart';
  parent.replaceChildren(host);
  return host;
}
