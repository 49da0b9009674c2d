/** uPlot charts of the dashboard: created once, fed new data on every refresh, resized with their card. */
import uPlot from 'uplot';
import { categoryAxis } from './series';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

/** uPlot's bar path builder: optional in its types, present in the build the dashboard bundles. */
function barPaths(): uPlot.Series.PathBuilder {
  const bars = uPlot.paths.bars;
  if (bars === undefined) throw new Error('uPlot has no bars path builder');
  return bars({ size: [0.6, 80] });
}

/** A y range around 0 that holds both signs, with a margin. */
function signedRange(min: number | null, max: number | null): uPlot.Range.MinMax {
  const m = Math.max(Math.abs(min ?? 0), Math.abs(max ?? 0)) * 1.1 || 1;
  return [-m, m];
}

/** The spacing of the x values (time buckets are even); 1 with fewer than two. */
function bucketOf(u: uPlot): number {
  const xs = u.data[0];
  return xs.length > 1 ? (xs[1] as number) - (xs[0] as number) : 1;
}

export interface ChartSpec {
  /** Series labels (after the x axis). */
  series: string[];
  /** Category labels: draws bars over indices instead of a time axis. */
  categories?: boolean;
  /** Points only over a numeric x axis (e.g. residuals against predicted values). */
  scatter?: boolean;
  /** Lets the y axis go below 0 (errors, residuals). */
  signed?: boolean;
  /** Counts per time bucket: bars, not a line that would ramp between buckets. */
  timeBars?: boolean;
  yRange?: [number, number];
  /** A numeric x axis over this fixed range, lines through points (e.g. probabilities). */
  xRange?: [number, number];
  /** Series (by label) drawn as a dashed line without points, e.g. a reference diagonal. */
  dashed?: string[];
  yLabel?: string;
}

export class Chart {
  private plot: uPlot | undefined;
  private categories: string[] = [];

  constructor(
    private readonly host: HTMLElement,
    private readonly spec: ChartSpec,
  ) {
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(host);
  }

  private size() {
    return { width: Math.max(200, this.host.clientWidth), height: 220 };
  }

  /** Replaces the series labels (e.g. one per model version); the chart is drawn anew when they change. */
  setSeries(labels: string[]): void {
    if (labels.join('\n') === this.spec.series.join('\n')) return;
    this.spec.series = labels;
    this.plot?.destroy();
    this.plot = undefined;
  }

  /** Draws `data` (x values, then one array per series); category charts take labels for x. */
  update(data: uPlot.AlignedData, categories?: string[]): void {
    if (categories) this.categories = categories;
    if (this.plot === undefined) {
      this.plot = new uPlot(this.options(), data, this.host);
    } else {
      this.plot.setData(data);
    }
    // Exposed on the element so a reader (and the browser test) can tell a drawn chart from an empty one.
    this.host.dataset.points = String(this.points);
  }

  /** Points drawn in the first series, for tests and empty states. */
  get points(): number {
    const ys = this.plot?.data[1];
    return ys === undefined
      ? 0
      : Array.from(ys as ArrayLike<number | null | undefined>).filter((v) => v !== null && v !== undefined).length;
  }

  private categoryAxis(u: uPlot) {
    return categoryAxis(this.categories, u.bbox.width > 0 ? u.bbox.width / devicePixelRatio : this.size().width - 60);
  }

  private options(): uPlot.Options {
    const bars = this.spec.categories === true;
    const series: uPlot.Series[] = [
      {},
      ...this.spec.series.map((label, i) => ({
        label,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        ...(bars || this.spec.timeBars === true
          ? { fill: `${COLORS[i % COLORS.length]}99`, paths: barPaths(), points: { show: false } }
          : this.spec.scatter === true
            ? { paths: () => null, points: { show: true, size: 5 } }
            : this.spec.dashed?.includes(label) === true
              ? { dash: [6, 4], width: 1, points: { show: false } }
              : { spanGaps: this.spec.xRange !== undefined, points: { show: true, size: 6 } }),
      })),
    ];
    return {
      ...this.size(),
      series,
      scales: {
        x: bars
          ? { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] }
          : this.spec.timeBars === true
            ? // Half a bucket on each side, so the first and last bars are whole.
              { time: true, range: (u, min, max) => [min - bucketOf(u) / 2, max + bucketOf(u) / 2] }
            : this.spec.xRange !== undefined
              ? { time: false, range: this.spec.xRange }
              : { time: this.spec.scatter !== true },
        y: this.spec.yRange
          ? { range: this.spec.yRange }
          : this.spec.signed === true
            ? { range: (_u, min, max) => signedRange(min, max) }
            : { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        bars
          ? {
              splits: () => this.categories.map((_c, i) => i),
              values: (u) => this.categoryAxis(u).labels,
              rotate: (u) => this.categoryAxis(u).rotate,
              size: (u) => this.categoryAxis(u).size,
              gap: 4,
            }
          : { space: 70 },
        { label: this.spec.yLabel, size: 56 },
      ],
      // Labels at an angle lean right: the last one needs room beyond the plot.
      ...(bars
        ? {
            padding: [
              null,
              (u: uPlot) => (this.categoryAxis(u).rotate === 0 ? 8 : this.categoryAxis(u).size - 24),
              null,
              null,
            ] as uPlot.Padding,
          }
        : {}),
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
  }
}
