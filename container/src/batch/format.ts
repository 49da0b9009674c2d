/**
 * How predictions and rejects are written. CSV: `id,label,p_<label>...` for classifiers, `id,value` for
 * regression. JSON Lines: the API's prediction object with the row's id (`{"id","label","probabilities"}`
 * or `{"id","value"}`). Rejects are JSON Lines in both cases: a reason holds commas and quotes.
 */
import type { ModelManifest } from '../../../contract/manifest';
import type { Prediction } from '../../../contract/prediction';
import type { PackedAnswers } from '../model';
import { type ByteSink, FLOAT9_BYTES, writeFloat9 } from './byte-sink';
import type { ParsedChunk, Reject } from './rows';
import type { BatchFormat } from './types';

/** First line of a CSV output (JSON Lines has none; Parquet names its columns in its footer). */
export function outputHeader(m: ModelManifest, format: BatchFormat): string {
  if (format !== 'csv') return '';
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

/**
 * Writes answers straight from the model's arrays into bytes: the same lines `formatPredictions` gives
 * for the same predictions, byte for byte, without an object or a string per row. Labels, keys and the
 * fixed parts of each line are encoded once.
 */
export class AnswerWriter {
  private readonly csv: boolean;
  /** Each label as it stands in a line (CSV cell or JSON string), and JSON keys `"<label>":`. */
  private readonly labelCells: Uint8Array[];
  private readonly keys: Uint8Array[];
  /** Each label cell as 32-bit words (little-endian, zero-padded), `labelStride` words a label. */
  private readonly labelWords: Uint32Array;
  private readonly labelStride: number;

  constructor(
    m: ModelManifest,
    format: BatchFormat,
    private readonly sink: ByteSink,
  ) {
    this.csv = format === 'csv';
    const labels = m.output.kind === 'classification' ? m.output.labels : [];
    this.labelCells = labels.map((l) => encode(this.csv ? csvCell(l) : JSON.stringify(l)));
    this.keys = labels.map((l) => encode(`${JSON.stringify(l)}:`));
    this.labelStride = Math.ceil(Math.max(0, ...this.labelCells.map((c) => c.length)) / 4);
    this.labelWords = new Uint32Array(labels.length * this.labelStride);
    const bytes = new Uint8Array(this.labelWords.buffer);
    for (const [i, c] of this.labelCells.entries()) bytes.set(c, i * 4 * this.labelStride);
  }

  /** The lines of `a.n` answers; `parsed` gives the ids (plain ones as bytes). */
  write(parsed: Pick<ParsedChunk, 'ids' | 'idSpans' | 'source'>, a: PackedAnswers): void {
    if (this.csv && a.kind === 'classification') {
      this.writeCsvClasses(parsed, a);
      return;
    }
    const out = this.sink;
    const { ids, idSpans, source } = parsed;
    const k = this.keys.length;
    for (let i = 0; i < a.n; i++) {
      if (!this.csv) out.bytes(OPEN_ID);
      const s = idSpans && source ? (idSpans[2 * i] as number) : -1; // 2i < spans.length (two per id)
      if (s >= 0 && source && idSpans) {
        if (!this.csv) out.byte(QUOTE);
        out.bytes(source, s, idSpans[2 * i + 1]);
        if (!this.csv) out.byte(QUOTE);
      } else {
        const id = ids[i] as string | number; // i < n = ids.length
        out.text(this.csv ? csvCell(String(id)) : JSON.stringify(id));
      }
      if (a.kind === 'regression') {
        out.bytes(this.csv ? COMMA_ : VALUE);
        out.float9(a.values[i] as number); // i < n = values.length
        out.bytes(this.csv ? NL : CLOSE_VALUE);
        continue;
      }
      out.bytes(this.csv ? COMMA_ : LABEL);
      out.bytes(this.labelCells[a.label[i] as number] as Uint8Array); // label[i] < k = labelCells.length
      if (!this.csv) out.bytes(PROBABILITIES);
      for (let j = 0; j < k; j++) {
        if (this.csv || j > 0) out.byte(COMMA);
        if (!this.csv) out.bytes(this.keys[j] as Uint8Array); // j < k = keys.length
        out.float9(a.probabilities[i * k + j] as number); // i * k + j < n * k
      }
      out.bytes(this.csv ? NL : CLOSE_PROBABILITIES);
    }
  }
  /**
   * `id,label,p_…` lines, each written into the sink's buffer after one check for room: the commonest
   * output, where a call and a check per cell cost about as much as the numbers. The id and the label go
   * in four bytes at a time (a few bytes past them are written, then overwritten by what follows): a byte
   * loop of varying length per cell cost a fifth of the formatting.
   */
  private writeCsvClasses(parsed: Pick<ParsedChunk, 'ids' | 'idSpans' | 'source'>, a: PackedAnswers & { kind: 'classification' }): void {
    const out = this.sink;
    const { ids, idSpans, source } = parsed;
    const cells = this.labelCells;
    const words = this.labelWords;
    const stride = this.labelStride;
    const k = cells.length;
    const room = 3 + 1 + 4 * stride + k * (1 + FLOAT9_BYTES) + 1;
    const p = a.probabilities;
    const from = source ? new DataView(source.buffer, source.byteOffset, source.byteLength) : undefined;
    const end = source ? source.length - 4 : 0;
    for (let i = 0; i < a.n; i++) {
      const s = idSpans && source ? (idSpans[2 * i] as number) : -1; // 2i < spans.length (two per id)
      if (s < 0) out.text(csvCell(String(ids[i] as string | number))); // i < n = ids.length
      const e = s < 0 ? s : (idSpans?.[2 * i + 1] as number);
      const b = out.reserve(e - s + room);
      const to = out.view;
      let at = out.length;
      if (from && source) {
        let j = s;
        for (; j < e && j <= end; j += 4, at += 4) to.setUint32(at, from.getUint32(j, true), true);
        if (j > e) at -= j - e;
        else for (; j < e; j++) b[at++] = source[j] as number; // the last bytes of the source: j < e <= source.length
      }
      b[at++] = COMMA;
      const label = a.label[i] as number; // label[i] < k = cells.length
      for (let w = 0; w < stride; w++) to.setUint32(at + 4 * w, words[label * stride + w] as number, true);
      at += (cells[label] as Uint8Array).length;
      for (let j = 0; j < k; j++) {
        b[at++] = COMMA;
        at = writeFloat9(b, to, at, p[i * k + j] as number); // i * k + j < n * k
      }
      b[at++] = NEWLINE;
      out.advance(at);
    }
  }
}

const QUOTE = 34;
const COMMA = 44;
const NEWLINE = 10;
const encode = (s: string) => new TextEncoder().encode(s);
const COMMA_ = encode(',');
const NL = encode('\n');
const OPEN_ID = encode('{"id":');
const VALUE = encode(',"value":');
const CLOSE_VALUE = encode('}\n');
const LABEL = encode(',"label":');
const PROBABILITIES = encode(',"probabilities":{');
const CLOSE_PROBABILITIES = encode('}}\n');
