/** The table of the latest predictions, with a preview of each input or a reference to where it is kept. */
import { feedbackValue, type PredictionRecord } from '../../contract/prediction-log';
import type { ModelInfo } from './api';

function cell(row: HTMLTableRowElement, text: string, className?: string): HTMLTableCellElement {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** The model's answer in a few words: label and its probability, or the value. */
export function describeOutput(r: PredictionRecord): string {
  if (typeof r.predictedValue === 'number') return r.predictedValue.toPrecision(4);
  const label = r.label;
  if (label === undefined) return '–';
  const p = r.probabilities?.[label];
  return p === undefined ? label : `${label} (${(p * 100).toFixed(1)}%)`;
}

/** The feedback in a few words and its cell class: right or wrong for a label, the true value and the error for regression. */
export function feedbackCell(r: PredictionRecord): [string, string] {
  if (r.feedback === undefined) return ['–', ''];
  if (typeof r.predictedValue === 'number') {
    const actual = feedbackValue(r.feedback);
    if (actual === undefined) return [String(r.feedback.label), 'bad'];
    const error = r.predictedValue - actual;
    return [`${Number(actual.toPrecision(6))} (error ${error >= 0 ? '+' : ''}${error.toPrecision(3)})`, ''];
  }
  const label = String(r.feedback.label);
  return label === r.label ? [`✓ ${label}`, 'ok'] : [`✗ ${label}`, 'bad'];
}

/** Draws an inline grayscale pixel array (already preprocessed) as a small image. */
function pixelPreview(values: number[], width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.className = 'preview';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${width}×${height} input image`);
  const ctx = canvas.getContext('2d');
  if (ctx) {
    const max = Math.max(...values, 1e-9);
    const min = Math.min(...values, 0);
    const img = ctx.createImageData(width, height);
    for (let i = 0; i < width * height; i++) {
      const v = Math.round(255 - (((values[i] ?? min) - min) / (max - min || 1)) * 255);
      img.data.set([v, v, v, 255], i * 4);
    }
    ctx.putImageData(img, 0, 0);
  }
  return canvas;
}

function inputCell(row: HTMLTableRowElement, r: PredictionRecord, model: ModelInfo): void {
  const td = row.insertCell();
  td.className = 'input';
  if (r.inputKey !== undefined) {
    const code = document.createElement('code');
    code.textContent = r.inputKey;
    code.title = 'Kept in the data bucket under this key';
    td.append('S3: ', code);
    return;
  }
  const input: unknown = r.inputImage ?? r.inputValues;
  if (model.input.kind === 'image') {
    const o = input as { b64?: unknown } | string | unknown[];
    const b64 =
      typeof o === 'string' ? o : !Array.isArray(o) && o !== null && typeof o === 'object' && typeof o.b64 === 'string' ? o.b64 : undefined;
    if (b64 !== undefined) {
      const img = document.createElement('img');
      img.className = 'preview';
      img.alt = 'input image';
      img.src = `data:${b64.startsWith('/9j/') ? 'image/jpeg' : 'image/png'};base64,${b64}`;
      td.append(img);
      return;
    }
    if (Array.isArray(o)) {
      td.append(pixelPreview((o as unknown[]).flat(2) as number[], model.input.width, model.input.height));
      return;
    }
  }
  const text = JSON.stringify(input) ?? '–';
  td.textContent = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  td.title = text.slice(0, 2000);
}

export function renderTable(body: HTMLTableSectionElement, items: readonly PredictionRecord[], model: ModelInfo): void {
  body.replaceChildren();
  for (const r of items) {
    const row = body.insertRow();
    // Date and time: the table may reach back days. The cell never wraps (styles.css).
    const time = cell(row, new Date(r.createdAt).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' }), 'time');
    time.title = r.createdAt;
    cell(row, r.id, 'mono');
    cell(row, r.modelVersion);
    cell(row, describeOutput(r));
    cell(row, `${r.latencyMs} ms`, 'num');
    cell(row, ...feedbackCell(r));
    inputCell(row, r, model);
  }
}
