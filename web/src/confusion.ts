/** The confusion matrix of each model version, as tables: rows the true labels, columns the predicted ones. */
import type { VersionSummary } from '../../contract/prediction-log';
import { confusionView, MAX_CONFUSION_LABELS } from './series';

const figure = (v: number | null | undefined) => (v === null || v === undefined ? undefined : v.toFixed(3));

/** One version's heading line: its fed-back count and, when its probabilities were logged, ROC AUC and ECE. */
export function confusionCaption(v: Pick<VersionSummary, 'modelVersion' | 'feedbackCount' | 'classification'>): string {
  const c = v.classification;
  const auc = figure(c?.rocAuc);
  const ece = figure(c?.ece);
  return [
    `${v.feedbackCount} fed back`,
    ...(auc === undefined ? [] : [`ROC AUC ${auc}`]),
    ...(ece === undefined ? [] : [`ECE ${ece}`]),
  ].join(' · ');
}

/** Draws a table per version with feedback into `host`; answers the note under them. */
export function renderConfusions(host: HTMLElement, versions: readonly VersionSummary[]): string {
  host.replaceChildren();
  let hidden = 0;
  for (const v of versions) {
    const c = v.classification;
    if (c === undefined) continue;
    const view = confusionView(c.confusion);
    hidden = Math.max(hidden, view.hidden);
    const block = document.createElement('div');
    block.className = 'confusion';
    block.dataset.version = v.modelVersion;
    const title = document.createElement('h3');
    const caption = document.createElement('span');
    caption.className = 'muted';
    caption.textContent = confusionCaption(v);
    title.append(`Version ${v.modelVersion} `, caption);
    const wrap = document.createElement('div');
    wrap.className = 'table-wrap';
    const table = document.createElement('table');
    table.className = 'matrix';
    const head = table.createTHead().insertRow();
    const corner = document.createElement('th');
    corner.scope = 'col';
    corner.textContent = 'true ↓ predicted →';
    head.append(corner);
    for (const label of view.labels) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = label;
      head.append(th);
    }
    const body = table.createTBody();
    view.labels.forEach((actual, i) => {
      const row = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = actual;
      row.append(th);
      const total = view.rowTotals[i] ?? 0;
      view.labels.forEach((predicted, j) => {
        const n = view.counts[i]?.[j] ?? 0;
        const td = row.insertCell();
        td.textContent = String(n);
        td.className = i === j ? 'hit' : n > 0 ? 'miss' : '';
        // Shade by the share of the true label's predictions: a row reads as where that class went.
        const share = total === 0 ? 0 : n / total;
        td.style.setProperty('--share', share.toFixed(3));
        td.title = `true ${actual}, predicted ${predicted}: ${n} (${(share * 100).toFixed(0)}% of true ${actual})`;
      });
    });
    wrap.append(table);
    block.append(title, wrap);
    host.append(block);
  }
  if (host.childElementCount === 0) return 'No feedback in this window yet.';
  return hidden > 0
    ? `Rows are the true labels, columns the predicted ones; the ${MAX_CONFUSION_LABELS} labels with the most fed-back predictions are shown, ${hidden} more are left out.`
    : 'Rows are the true labels, columns the predicted ones; shading is the share of the row.';
}
