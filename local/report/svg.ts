/**
 * Charts of the report as inline SVG text: no script, no font or style sheet from the network, so the
 * file reads the same offline and in a mail attachment.
 */

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea'];
const W = 640;
const H = 220;
const PAD = { left: 48, right: 12, top: 12, bottom: 56 };

/** Text for SVG and HTML: the five characters that could end it, escaped. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function axisNumber(v: number): string {
  return Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

function legend(names: readonly string[]): string {
  return names
    .map(
      (n, i) =>
        `<rect x="${PAD.left + i * 120}" y="${H - 14}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${PAD.left + i * 120 + 14}" y="${H - 5}" font-size="11">${esc(n)}</text>`,
    )
    .join('');
}

/** Grouped bars: one group per category, one bar per series; y from 0 (or the lowest negative value). */
export function barChart(
  title: string,
  categories: readonly string[],
  series: readonly { name: string; values: readonly number[] }[],
): string {
  const all = series.flatMap((s) => s.values);
  const max = Math.max(0, ...all) || 1;
  const min = Math.min(0, ...all);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const y = (v: number) => PAD.top + ((max - v) / (max - min)) * plotH;
  const group = plotW / Math.max(1, categories.length);
  const bar = (group * 0.8) / Math.max(1, series.length);
  const bars = series.flatMap((s, k) =>
    s.values.map((v, i) => {
      const x = PAD.left + i * group + group * 0.1 + k * bar;
      const top = Math.min(y(v), y(0));
      return `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${bar.toFixed(1)}" height="${Math.abs(y(v) - y(0)).toFixed(1)}" fill="${COLORS[k % COLORS.length]}"><title>${esc(`${s.name} ${categories[i] ?? ''}: ${axisNumber(v)}`)}</title></rect>`;
    }),
  );
  const labels = categories.map(
    (c, i) =>
      `<text x="${(PAD.left + (i + 0.5) * group).toFixed(1)}" y="${H - PAD.bottom + 14}" font-size="10" text-anchor="middle">${esc(c.length > 12 ? `${c.slice(0, 11)}…` : c)}</text>`,
  );
  const ticks = [min, (min + max) / 2, max].map(
    (v) => `<text x="${PAD.left - 4}" y="${(y(v) + 4).toFixed(1)}" font-size="10" text-anchor="end">${axisNumber(v)}</text>`,
  );
  return svg(title, [
    `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}" stroke="#999"/>`,
    ...ticks,
    ...bars,
    ...labels,
    legend(series.map((s) => s.name)),
  ]);
}

/** Lines over ordered x labels (e.g. days); null values leave a gap. */
export function lineChart(
  title: string,
  xs: readonly string[],
  series: readonly { name: string; values: readonly (number | null)[] }[],
): string {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = Math.max(0, ...all) || 1;
  const min = Math.min(0, ...all);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (xs.length <= 1 ? plotW / 2 : (i / (xs.length - 1)) * plotW);
  const y = (v: number) => PAD.top + ((max - v) / (max - min)) * plotH;
  const lines = series.map((s, k) => {
    const color = COLORS[k % COLORS.length];
    const points = s.values.flatMap((v, i) => (v === null ? [] : [`${x(i).toFixed(1)},${y(v).toFixed(1)}`]));
    const dots = s.values.flatMap((v, i) =>
      v === null
        ? []
        : [
            `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"><title>${esc(`${s.name} ${xs[i]}: ${axisNumber(v)}`)}</title></circle>`,
          ],
    );
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(' ')}"/>${dots.join('')}`;
  });
  const labels = xs.map(
    (l, i) => `<text x="${x(i).toFixed(1)}" y="${H - PAD.bottom + 14}" font-size="10" text-anchor="middle">${esc(l)}</text>`,
  );
  const ticks = [min, (min + max) / 2, max].map(
    (v) => `<text x="${PAD.left - 4}" y="${(y(v) + 4).toFixed(1)}" font-size="10" text-anchor="end">${axisNumber(v)}</text>`,
  );
  return svg(title, [...ticks, ...lines, ...labels, legend(series.map((s) => s.name))]);
}

function svg(title: string, parts: readonly string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>${parts.join('')}</svg>`;
}
