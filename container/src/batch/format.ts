/**
 * How predictions and rejects are written. CSV: `id,label,p_<label>...` for classifiers, `id,value` for
 * regression. JSON Lines: the API's prediction object with the row's id (`{"id","label","probabilities"}`
 * or `{"id","value"}`). Rejects are JSON Lines in both cases: a reason holds commas and quotes.
 */
import type { ModelManifest } from '../../../contract/manifest';
import type { Prediction } from '../../../contract/prediction';
import type { Reject } from './rows';
import type { BatchFormat } from './types';

/** First line of a CSV output (JSON Lines has none). */
export function outputHeader(m: ModelManifest, format: BatchFormat): string {
  if (format === 'jsonl') return '';
  const columns = m.output.kind === 'classification' ? ['label', ...m.output.labels.map((l) => `p_${l}`)] : ['value'];
  return `id,${columns.map(csvCell).join(',')}\n`;
}

/** The lines for one chunk's predictions, in order. */
export function formatPredictions(
  ids: readonly (string | number)[],
  predictions: readonly Prediction[],
  labels: readonly string[] | undefined,
  format: BatchFormat,
): string {
  let out = '';
  for (const [i, p] of predictions.entries()) {
    const id = ids[i];
    if (format === 'csv') {
      out += csvCell(String(id));
      if ('label' in p) {
        out += `,${csvCell(p.label)}`;
        for (const l of labels ?? []) out += `,${num(p.probabilities[l])}`;
      } else out += `,${num(p.value)}`;
      out += '\n';
    } else {
      // Written by hand: JSON.stringify per row costs more than the model does.
      out += `{"id":${JSON.stringify(id)},`;
      if ('label' in p) {
        out += `"label":${JSON.stringify(p.label)},"probabilities":{`;
        let sep = '';
        for (const l of labels ?? []) {
          out += `${sep}${JSON.stringify(l)}:${num(p.probabilities[l])}`;
          sep = ',';
        }
        out += '}}\n';
      } else out += `"value":${num(p.value)}}\n`;
    }
  }
  return out;
}

export function formatRejects(rejects: readonly Reject[]): string {
  let out = '';
  for (const r of rejects) out += `${JSON.stringify(r)}\n`;
  return out;
}

/**
 * The model's outputs are float32: nine significant digits give each one back exactly
 * (`Math.fround(Number(text)) === value`), at a third of the cost of the shortest double form
 * (trailing zeros are kept: trimming them costs more than the bytes).
 * NaN and Infinity (a broken model) and a missing value are written as null so JSON stays valid.
 */
function num(v: number | undefined): string {
  return v !== undefined && Number.isFinite(v) ? v.toPrecision(9) : 'null';
}

/** A CSV cell, quoted only when it must be. */
function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
