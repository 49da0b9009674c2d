/**
 * The mlship dashboard: asks for the API's base URL and key (kept in localStorage), then every few
 * seconds reads `GET /model`, `GET /metrics/summary` and `GET /predictions` and draws volume, latency,
 * classes, accuracy from feedback, feature drift and the latest predictions.
 */

import { errorMessage } from '../../contract/errors';
import { type ApiSettings, type DashboardData, DashboardError, loadDashboard } from './api';
import { Chart } from './charts';
import { featureDrift, timeBuckets, topDrift } from './series';
import { renderTable } from './table';

const STORAGE = { baseUrl: 'mlship.baseUrl', apiKey: 'mlship.apiKey', window: 'mlship.window' } as const;
const REFRESH_MS = 10_000;

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} is missing from index.html`);
  return el;
}

const form = $('settings') as HTMLFormElement;
const baseUrlInput = $('base-url') as HTMLInputElement;
const apiKeyInput = $('api-key') as HTMLInputElement;
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
};

function settings(): ApiSettings {
  return { baseUrl: baseUrlInput.value.trim(), apiKey: apiKeyInput.value.trim() };
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
  $('stat-accuracy').textContent = summary.accuracy === null ? '–' : `${(summary.accuracy * 100).toFixed(1)}%`;
  $('stat-feedback').textContent = `${summary.feedbackCount} with feedback`;

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

  const labels = model.output.kind === 'classification' ? model.output.labels : Object.keys(summary.countsByLabel);
  charts.classes.update([labels.map((_l, i) => i), labels.map((l) => summary.countsByLabel[l] ?? 0)], labels);
  note(
    'note-classes',
    model.output.kind === 'classification' ? `predicted classes, last ${summary.window}` : 'regression model: no classes',
  );

  charts.accuracy.update([b.t, b.accuracy]);
  note(
    'note-accuracy',
    summary.feedbackCount === 0
      ? 'No feedback yet: POST /predictions/{id}/feedback {"label": …} records the true label.'
      : `running accuracy of ${summary.feedbackCount} fed-back predictions`,
  );

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
  renderTable($('predictions-body') as HTMLTableSectionElement, items.slice(0, 25), model);
  $('updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
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
windowSelect.value = localStorage.getItem(STORAGE.window) ?? '24h';
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  localStorage.setItem(STORAGE.baseUrl, baseUrlInput.value.trim());
  localStorage.setItem(STORAGE.apiKey, apiKeyInput.value.trim());
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
