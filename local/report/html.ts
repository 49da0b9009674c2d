/**
 * The report as one self-contained HTML file: styles inline, charts as inline SVG, no script and no
 * request to the network, so it can be attached to a review and read anywhere.
 */
import type { AlertCheck } from '../../contract/metrics/alerts';
import type { DriftTestResult } from '../../contract/metrics/drift-tests';
import type { AnalyticsSection, ReportData } from './collect';
import { barChart, esc, lineChart } from './svg';
import type { VersionReport } from './versions';

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;margin:2rem auto;max-width:1100px;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #dde2e8;padding-bottom:.3rem}h3{margin-bottom:.4rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}th,td{border:1px solid #dde2e8;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}.muted{color:#5f6b7a;font-size:.85rem}.bad{color:#b91c1c;font-weight:600}.ok{color:#15803d}
svg{max-width:100%;height:auto;display:block;margin:.5rem 0}`;

/** A number for a table cell: up to 4 significant digits, `–` when absent. */
function n(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined ? '–' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(digits)));
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`;
}

/** A table cell: text (escaped here) or markup built from escaped text. */
type Cell = string | { html: string };

function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const head = `<tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const cell = (c: Cell) => `<td>${typeof c === 'string' ? esc(c) : c.html}</td>`;
  return `<table>${head}${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</table>`;
}

function testCells(r: DriftTestResult | undefined): Cell[] {
  if (r === undefined) return ['–', '–', '–', '–'];
  if (r.status === 'insufficient-data') return ['–', '–', '–', `not enough data (${r.n} of ${r.minimum})`];
  return [
    r.test === 'ks' ? 'KS' : 'chi-square',
    n(r.statistic),
    n(r.pValue),
    { html: r.drifted ? '<span class="bad">drifted</span>' : '<span class="ok">stable</span>' },
  ];
}

function alertText(a: AlertCheck): string {
  if (a.status === 'insufficient-data') return `${a.metric}: not enough data (${a.n} of ${a.minimum})`;
  if (a.status === 'no-reference') return `${a.metric}: no held-out figure in the baseline to compare with`;
  const text = `${a.metric} ${n(a.value)} against limit ${n(a.limit)}`;
  return a.status === 'breached' ? `<span class="bad">${esc(text)}: breached</span>` : `<span class="ok">${esc(text)}: ok</span>`;
}

function overview(d: ReportData): string {
  const regression = d.manifest.output.kind === 'regression';
  const headers = [
    'Version',
    'Predictions',
    'With feedback',
    ...(regression ? ['MAE', 'RMSE', 'R²', 'Mean error'] : ['Accuracy', 'Macro F1', 'ROC AUC', 'ECE']),
    'Drifted features',
    'Latency p50 (ms)',
    'p99 (ms)',
  ];
  const rows = d.versions.map((v) => {
    const r = v.summary.regression;
    const c = v.summary.classification;
    const share = v.analysis.driftedShare;
    return [
      v.modelVersion,
      String(v.analysis.predictions),
      String(v.summary.feedbackCount),
      ...(regression ? [n(r?.mae), n(r?.rmse), n(r?.r2), n(r?.meanError)] : [pct(c?.accuracy), pct(c?.macroF1), n(c?.rocAuc), n(c?.ece)]),
      share.status === 'tested'
        ? `${share.drifted} of ${share.tested} (${pct(share.share)})`
        : `not enough data (${share.n} of ${share.minimum})`,
      n(v.latencyMs.p50),
      n(v.latencyMs.p99),
    ];
  });
  return table(headers, rows);
}

function quality(v: VersionReport): string {
  const parts: string[] = [];
  const c = v.summary.classification;
  if (c !== undefined) {
    parts.push(
      table(
        ['Class', 'Precision', 'Recall', 'F1', 'Support'],
        c.classes.map((k) => [k.label, pct(k.precision), pct(k.recall), pct(k.f1), String(k.support)]),
      ),
      `<p class="muted">Confusion matrix: rows the true label, columns the predicted one.</p>`,
      table(
        ['true \\ predicted', ...c.confusion.labels],
        c.confusion.labels.map((l, i) => [l, ...(c.confusion.counts[i] ?? []).map(String)]),
      ),
    );
    const bins = (c.calibration ?? []).filter((b) => b.count > 0);
    if (bins.length > 0)
      parts.push(
        `<p class="muted">Reliability: per bin of the predicted label's probability, how often it was right (calibrated: the share equals the mean probability).</p>`,
        table(
          ['Probability', 'Predictions', 'Mean probability', 'Share right'],
          bins.map((b) => [`${n(b.lower, 2)}–${n(b.upper, 2)}`, String(b.count), n(b.meanProbability, 3), pct(b.observedRate)]),
        ),
      );
  }
  if (v.predictedValues !== undefined) {
    const bins = v.predictedValues;
    const labels = bins.map((b) =>
      b.lower === null ? `≤ ${n(b.upper, 3)}` : b.upper === null ? `> ${n(b.lower, 3)}` : `${n(b.lower, 3)}–${n(b.upper, 3)}`,
    );
    parts.push(
      barChart(`Predicted values of ${v.modelVersion} against training`, labels, [
        { name: 'live share', values: bins.map((b) => b.share) },
        { name: 'training share', values: bins.map((b) => b.baselineShare) },
      ]),
    );
  }
  if (v.summary.feedbackCount === 0) parts.push('<p class="muted">No feedback in the window.</p>');
  const alerts = v.alerts.map((a) => `<li>${alertText(a)}</li>`).join('');
  return `<h3>Version ${esc(v.modelVersion)}</h3>${parts.join('')}${alerts === '' ? '' : `<ul>${alerts}</ul>`}`;
}

function drift(v: VersionReport): string {
  const psi = new Map(v.analysis.features.map((f) => [f.feature, f.psi]));
  const top = [...v.analysis.features].slice(0, 10);
  const chart =
    top.length === 0
      ? ''
      : barChart(
          `PSI of ${v.modelVersion}, most drifted features`,
          top.map((f) => f.feature),
          [{ name: 'PSI', values: top.map((f) => f.psi) }],
        );
  const pred = v.analysis.predictionDrift;
  const rows = v.analysis.driftTests.map((t) => [t.feature, n(psi.get(t.feature)), ...testCells(t.result)]);
  return `<h3>Version ${esc(v.modelVersion)}</h3>${chart}${table(['Feature', 'PSI', 'Test', 'Statistic', 'p-value', 'Verdict'], rows)}${
    pred === undefined
      ? ''
      : `<p>Predictions against training: ${
          pred.status === 'insufficient-data'
            ? `not enough data (${pred.n} of ${pred.minimum})`
            : testCells(pred)
                .map((c) => (typeof c === 'string' ? esc(c) : c.html))
                .join(' · ')
        }</p>`
  }`;
}

function missing(v: VersionReport): string {
  if (v.analysis.missing.length === 0) return '';
  return `<h3>Version ${esc(v.modelVersion)}</h3>${table(
    ['Feature', 'Values', 'Missing', 'Rate'],
    v.analysis.missing.map((m) => [m.feature, String(m.n), String(m.missing), pct(m.rate)]),
  )}`;
}

function analyticsSection(a: AnalyticsSection): string {
  if (a.error !== undefined) return `<h3>${esc(a.name)}</h3><p class="muted">Not available: ${esc(a.error)}</p>`;
  if (a.rows.length === 0) return `<h3>${esc(a.name)}</h3><p class="muted">No rows.</p>`;
  const cell = (x: unknown) => (typeof x === 'number' ? n(x) : x === null || x === undefined ? '–' : String(x));
  const chart = a.name === 'latency-percentiles' ? latencyChart(a) : '';
  return `<h3>${esc(a.name)}</h3>${chart}${table(
    a.columns,
    a.rows.map((r) => a.columns.map((c) => cell(r[c]))),
  )}`;
}

/** p50 and p99 per day (all versions' rows of a day: the highest of each). */
function latencyChart(a: AnalyticsSection): string {
  const days = [...new Set(a.rows.map((r) => String(r.day)))].sort();
  const of = (key: string) =>
    days.map((day) => {
      const values = a.rows.filter((r) => String(r.day) === day).map((r) => Number(r[key]));
      const finite = values.filter(Number.isFinite);
      return finite.length === 0 ? null : Math.max(...finite);
    });
  return lineChart('Latency per day (ms)', days, [
    { name: 'p50', values: of('p50') },
    { name: 'p99', values: of('p99') },
  ]);
}

export function reportHtml(d: ReportData): string {
  const m = d.manifest;
  const latency = d.summary.latencyMs;
  const body = [
    `<h1>${esc(m.name)} ${esc(m.version)}: model report</h1>`,
    `<p class="muted">${esc(m.output.kind)} model · ${esc(m.input.kind)} input · window ${esc(d.window)} (${esc(d.from)} to ${esc(d.to)}) · ${d.recordsRead} predictions read${
      d.truncated ? ' (the window held more: the newest were read)' : ''
    } · generated ${esc(d.generatedAt)}</p>`,
    `<p>${d.summary.count} predictions, ${d.summary.feedbackCount} with feedback; latency p50 ${n(latency.p50)} ms, p90 ${n(latency.p90)} ms, p99 ${n(latency.p99)} ms (summary from the ${esc(d.summary.source === 'log' ? 'prediction log' : 'analytics store')}).</p>`,
    '<h2>Overview per version</h2>',
    d.versions.length === 0 ? '<p>No predictions in the window.</p>' : overview(d),
    '<h2>Quality</h2>',
    ...d.versions.map(quality),
    '<h2>Drift against the training baseline</h2>',
    d.baseline === undefined
      ? '<p>The model has no baseline.json: drift is not measured.</p>'
      : '<p class="muted">PSI per feature, and a Kolmogorov–Smirnov test (numbers) or chi-square test (categories) with its p-value; below the minimum sample the verdict is "not enough data".</p>',
    ...(d.baseline === undefined ? [] : d.versions.map(drift)),
    ...(m.input.kind === 'tabular' ? ['<h2>Missing values</h2>', ...d.versions.map(missing)] : []),
    '<h2>Latency per version (ms)</h2>',
    table(
      ['Version', 'p50', 'p90', 'p99'],
      d.versions.map((v) => [v.modelVersion, n(v.latencyMs.p50), n(v.latencyMs.p90), n(v.latencyMs.p99)]),
    ),
    ...(d.analytics.length === 0 ? [] : ['<h2>Per day (analytics store)</h2>', ...d.analytics.map(analyticsSection)]),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(m.name)} report</title><style>${STYLE}</style></head>
<body>${body.join('\n')}</body></html>
`;
}
