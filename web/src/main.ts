/**
 * The mlship dashboard: asks for the API's base URL and key (kept in localStorage) and, when the API
 * answers that a route needs one, a bearer token (kept in sessionStorage: a short-lived credential that
 * should not outlive the tab), then every few
 * seconds reads `GET /model`, `GET /metrics/summary` and `GET /predictions` and draws volume, latency,
 * feature drift and the latest predictions, and by the model's output kind: classes, accuracy and
 * per-class quality (classifiers), or predicted values against training, error and residuals (regression).
 */

import { errorMessage } from '../../contract/errors';
import type { MetricsSummary, VersionSummary } from '../../contract/prediction-log';
import { type ApiSettings, type DashboardData, DashboardError, loadDashboard } from './api';
import { Chart } from './charts';
import { renderConfusions } from './confusion';
import {
  featureDrift,
  missingShares,
  predictedValueHistogram,
  reliabilitySeries,
  residualSeries,
  type TimeBuckets,
  timeBuckets,
  topDrift,
} from './series';
import { renderTable } from './table';
import { VersionsView } from './versions';

const STORAGE = { baseUrl: 'mlship.baseUrl', apiKey: 'mlship.apiKey', window: 'mlship.window', token: 'mlship.token' } as const;
const REFRESH_MS = 10_000;

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} is missing from index.html`);
  return el;
}

const form = $('settings') as HTMLFormElement;
const baseUrlInput = $('base-url') as HTMLInputElement;
const apiKeyInput = $('api-key') as HTMLInputElement;
const tokenField = $('token-field');
const tokenInput = $('token') as HTMLInputElement;
const windowSelect = $('window') as HTMLSelectElement;
const autoRefresh = $('auto-refresh') as HTMLInputElement;
const status = $('status');
const content = $('content');

const charts = {
  volume: new Chart($('chart-volume'), { series: ['predictions'], yLabel: 'per bucket', timeBars: true }),
  latency: new Chart($('chart-latency'), { series: ['p50', 'p99'], yLabel: 'ms' }),
  classes: new Chart($('chart-classes'), { series: ['predictions'], categories: true }),
  accuracy: new Chart($('chart-accuracy'), { series: ['accuracy'], yRange: [0, 1] }),
  drift: new Chart($('chart-drift'), { series: ['PSI'], categories: true }),
  missing: new Chart($('chart-missing'), { series: ['missing'], categories: true, yRange: [0, 1] }),
  predicted: new Chart($('chart-predicted'), { series: ['live', 'training'], categories: true, yLabel: 'share' }),
  error: new Chart($('chart-error'), { series: ['MAE', 'mean error'], signed: true }),
  residuals: new Chart($('chart-residuals'), { series: ['residual'], scatter: true, signed: true }),
  reliability: new Chart($('chart-reliability'), {
    series: ['perfect'],
    xRange: [0, 1],
    yRange: [0, 1],
    dashed: ['perfect'],
    yLabel: 'share right',
  }),
};

const versionsView = new VersionsView(
  $('versions'),
  $('chart-versions-volume'),
  $('chart-versions-latency'),
  $('versions-body') as HTMLTableSectionElement,
);

function settings(): ApiSettings {
  return { baseUrl: baseUrlInput.value.trim(), apiKey: apiKeyInput.value.trim(), token: tokenInput.value.trim() };
}

function showStatus(kind: 'info' | 'error' | 'empty' | 'none', message = ''): void {
  status.className = `status status-${kind}`;
  status.textContent = message;
  status.hidden = kind === 'none';
}

/** A chart card's note (what is shown, or why nothing is). */
function note(id: string, text: string): void {
  $(id).textContent = text;
}

function fmt(v: number | null | undefined, digits = 0, unit = ''): string {
  return v === null || v === undefined ? '–' : `${v.toFixed(digits)}${unit}`;
}

function render(d: DashboardData): void {
  const { model, summary, items } = d;
  $('model-name').textContent = `${model.name} ${model.version}`;
  $('model-meta').textContent = `${model.output.kind} · ${model.input.kind} input${model.backend ? ` · ${model.backend} backend` : ''}`;
  $('stat-count').textContent = String(summary.count);
  // Windows over 24 h come from the analytics store, over whole UTC days from the first one.
  $('stat-window').textContent =
    summary.source === 'analytics'
      ? `since ${summary.from.slice(0, 10)} (last ${summary.window}, analytics store)`
      : `in the last ${summary.window}${summary.truncated ? ' (partial)' : ''}`;
  $('stat-p50').textContent = fmt(summary.latencyMs.p50, 0, ' ms');
  $('stat-p99').textContent = fmt(summary.latencyMs.p99, 0, ' ms');
  const regression = model.output.kind === 'regression';
  // The view follows the model's output: class charts for classifiers, value and error charts for regression.
  document.querySelectorAll<HTMLElement>('[data-kind]').forEach((el) => {
    el.hidden = el.dataset.kind !== model.output.kind;
  });
  $('stat-quality-label').textContent = regression ? 'Mean absolute error' : 'Accuracy';
  $('stat-accuracy').textContent = regression
    ? fmt(servedVersion(d)?.regression?.mae, 2)
    : summary.accuracy === null
      ? '–'
      : `${(summary.accuracy * 100).toFixed(1)}%`;
  $('stat-feedback').textContent = regression
    ? `${servedVersion(d)?.feedbackCount ?? 0} with feedback (version ${model.version})`
    : `${summary.feedbackCount} with feedback`;

  if (items.length === 0) {
    content.hidden = true;
    showStatus(
      'empty',
      `No predictions yet. Send one, e.g.: curl -X POST ${settings().baseUrl || window.location.origin}/predict -H "x-api-key: …" -H "content-type: application/json" -d '{"instances": [...]}'`,
    );
    return;
  }
  content.hidden = false;
  showStatus('none');

  const b = timeBuckets([...items].reverse());
  charts.volume.update([b.t, b.count]);
  note('note-volume', `${items.length} latest predictions`);
  charts.latency.update([b.t, b.p50, b.p99]);

  if (model.output.kind === 'classification') {
    const labels = model.output.labels;
    charts.classes.update([labels.map((_l, i) => i), labels.map((l) => summary.countsByLabel[l] ?? 0)], labels);
    note('note-classes', `predicted classes, last ${summary.window}`);
    charts.accuracy.update([b.t, b.accuracy]);
    note(
      'note-accuracy',
      summary.feedbackCount === 0
        ? 'No feedback yet: POST /predictions/{id}/feedback {"label": …} records the true label.'
        : `running accuracy of ${summary.feedbackCount} fed-back predictions`,
    );
    renderClassMetrics($('class-metrics-body') as HTMLTableSectionElement, summary);
    note('note-class-metrics', classMetricsNote(summary));
    note('note-confusion', renderConfusions($('confusion-matrices'), summary.versions));
    renderReliability(summary);
  } else {
    renderRegression(d, b);
  }

  const names =
    model.input.kind === 'tabular'
      ? model.input.features.map((f) => f.name)
      : Array.from({ length: model.input.width * model.input.height * model.input.channels }, (_v, i) => `px${i}`);
  const drift = featureDrift(items, names, model.baseline);
  if (drift === undefined) {
    charts.drift.update([[], []], []);
    note(
      'note-drift',
      'Not enough predictions with inline numeric inputs to measure drift (needs 20, or 10 when the API exposes the training baseline).',
    );
  } else {
    const top = topDrift(drift);
    charts.drift.update(
      [top.map((_f, i) => i), top.map((f) => f.psi)],
      top.map((f) => f.name),
    );
    note(
      'note-drift',
      drift.reference === 'baseline'
        ? `PSI of ${drift.rows} recent inputs against the training baseline (above 0.25: significant shift)`
        : `PSI of the newest ${drift.rows} inputs against the ${drift.referenceRows} before them (the API does not expose the training baseline)`,
    );
  }
  renderMissing(model.input.kind === 'tabular' ? missingShares(items, names) : undefined);
  renderTable($('predictions-body') as HTMLTableSectionElement, items.slice(0, 25), model);
  versionsView.render(d);
  $('updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

/**
 * The reliability curve of each version whose summary has one: only classifiers whose log holds their
 * probabilities (not a window from the analytics store), so the card is hidden otherwise.
 */
function renderReliability(summary: MetricsSummary): void {
  const r = reliabilitySeries(summary.versions);
  $('card-reliability').hidden = r === undefined;
  if (r === undefined) return;
  // The versions first: the chart's point count (data-points) is the first version's non-empty bins.
  charts.reliability.setSeries([...r.versions.map((v) => v.modelVersion), 'perfect']);
  charts.reliability.update([r.x, ...r.versions.map((v) => v.observed), r.perfect]);
  note(
    'note-reliability',
    `share of predictions right per bin of the predicted label's probability (${r.versions
      .map((v) => `${v.modelVersion}: ${v.count} fed back`)
      .join(', ')}); on the dashed diagonal a model's probabilities are calibrated`,
  );
}

/** The share of missing values per feature (nullable features sent empty): a drift signal of its own. */
function renderMissing(missing: ReturnType<typeof missingShares>): void {
  const top = missing?.features.slice(0, 10) ?? [];
  charts.missing.update(
    [top.map((_f, i) => i), top.map((f) => f.share)],
    top.map((f) => f.name),
  );
  note(
    'note-missing',
    missing === undefined
      ? 'No recent predictions with inline tabular inputs.'
      : top.length === 0
        ? `No missing values in ${missing.rows} recent inputs.`
        : `Share of ${missing.rows} recent inputs with the feature missing (sent as null or an empty CSV cell)`,
  );
}

/** The summary's figures of the version the API serves now. */
function servedVersion(d: DashboardData): VersionSummary | undefined {
  return d.summary.versions.find((v) => v.modelVersion === d.model.version);
}

/** The regression view: predicted values against the training baseline's, error over time, residuals. */
function renderRegression(d: DashboardData, b: TimeBuckets): void {
  const { model, items } = d;
  const hist = predictedValueHistogram(items, model.baseline);
  if (hist === undefined) {
    charts.predicted.update([[], [], []], []);
    note('note-predicted', 'The training baseline holds no predicted-value bins (mlship baseline writes them for regression models).');
  } else {
    charts.predicted.update(
      [hist.bins.map((_b, i) => i), hist.bins.map((x) => x.share), hist.bins.map((x) => x.baselineShare)],
      hist.labels,
    );
    note('note-predicted', `share of ${hist.n} recent predicted values per training bin, beside the training share`);
  }
  charts.error.update([b.t, b.mae, b.meanError]);
  const fed = items.filter((r) => r.feedback !== undefined).length;
  note(
    'note-error',
    fed === 0
      ? 'No feedback yet: POST /predictions/{id}/feedback {"label": <true value>} records the true value.'
      : 'mean absolute error and mean error (predicted − actual: above 0, the model predicts too high) per time bucket',
  );
  const r = residualSeries(items);
  charts.residuals.update([r.predicted, r.residual]);
  note('note-residuals', r.predicted.length === 0 ? 'No fed-back predictions yet.' : `${r.predicted.length} fed-back predictions`);
}

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);

/** Per version and class: precision, recall, F1 and support of the window's fed-back predictions. */
function renderClassMetrics(body: HTMLTableSectionElement, summary: MetricsSummary): void {
  body.replaceChildren();
  for (const v of summary.versions) {
    for (const c of v.classification?.classes ?? []) {
      const row = body.insertRow();
      for (const text of [v.modelVersion, c.label, pct(c.precision), pct(c.recall), pct(c.f1), String(c.support)]) {
        row.insertCell().textContent = text;
      }
    }
  }
}

function classMetricsNote(summary: MetricsSummary): string {
  const scored = summary.versions.filter((v) => v.classification !== undefined);
  if (scored.length === 0) return 'No feedback in this window yet.';
  return scored
    .map((v) => {
      const c = v.classification;
      const auc = c?.rocAuc === null || c?.rocAuc === undefined ? '' : `, ROC AUC ${c.rocAuc.toFixed(3)}`;
      const ece = c?.ece === null || c?.ece === undefined ? '' : `, ECE ${c.ece.toFixed(3)}`;
      return `${v.modelVersion}: macro F1 ${pct(c?.macroF1 ?? null)}, weighted F1 ${pct(c?.weightedF1 ?? null)}${auc}${ece} (${v.feedbackCount} fed back)`;
    })
    .join(' · ');
}

let inFlight = false;
async function refresh(): Promise<void> {
  if (inFlight) return;
  inFlight = true;
  document.body.setAttribute('aria-busy', 'true');
  try {
    render(await loadDashboard(settings(), windowSelect.value));
  } catch (e) {
    content.hidden = !(e instanceof DashboardError && e.kind === 'api');
    // No key yet is the first step, not a failure: an instruction, not a red error.
    if (e instanceof DashboardError && e.kind === 'no-key') return showStatus('info', e.message);
    // The token field appears once the API says a route needs a token (the mode is the deployment's).
    if (e instanceof DashboardError && (e.kind === 'no-token' || e.kind === 'bad-token')) tokenField.hidden = false;
    showStatus('error', e instanceof DashboardError ? e.message : `Unexpected error: ${errorMessage(e)}`);
    if (!(e instanceof DashboardError)) console.error(e);
  } finally {
    inFlight = false;
    document.body.setAttribute('aria-busy', 'false');
    document.body.dataset.loaded = 'true';
  }
}

baseUrlInput.value = localStorage.getItem(STORAGE.baseUrl) ?? '';
apiKeyInput.value = localStorage.getItem(STORAGE.apiKey) ?? '';
tokenInput.value = sessionStorage.getItem(STORAGE.token) ?? '';
tokenField.hidden = tokenInput.value === '';
windowSelect.value = localStorage.getItem(STORAGE.window) ?? '24h';
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  localStorage.setItem(STORAGE.baseUrl, baseUrlInput.value.trim());
  localStorage.setItem(STORAGE.apiKey, apiKeyInput.value.trim());
  if (tokenInput.value.trim() === '') sessionStorage.removeItem(STORAGE.token);
  else sessionStorage.setItem(STORAGE.token, tokenInput.value.trim());
  localStorage.setItem(STORAGE.window, windowSelect.value);
  void refresh();
});
windowSelect.addEventListener('change', () => {
  localStorage.setItem(STORAGE.window, windowSelect.value);
  void refresh();
});
setInterval(() => {
  if (autoRefresh.checked && document.visibilityState === 'visible') void refresh();
}, REFRESH_MS);
void refresh();
