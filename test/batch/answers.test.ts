/**
 * The batch workers write answers as bytes straight from the model's arrays (`AnswerWriter`, `ByteSink`):
 * their lines must be byte for byte the ones the string formatter (`formatPredictions`) writes for the
 * same predictions, whatever the ids, labels and numbers, including floats whose shortest decimal
 * form differs from their nine-digit one; plain ids copied from CSV or JSON Lines bytes included.
 */
import * as path from 'node:path';
import { ByteSink, writeFloat32Precision9, writePrecision9 } from '../../container/src/batch/byte-sink';
import { AnswerWriter, formatPredictions } from '../../container/src/batch/format';
import { jsonLayout, scanJsonChunk } from '../../container/src/batch/json-rows';
import { csvLayout, idsOf, type ParsedChunk, parseCsvChunk, parseJsonChunk, scanCsvChunk } from '../../container/src/batch/rows';
import type { BatchFormat } from '../../container/src/batch/types';
import type { PackedAnswers } from '../../container/src/model';
import type { ModelManifest, TabularInput } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';
import type { Prediction } from '../../contract/prediction';
import { seededRng } from '../support/seeded';

const breastCancer = readManifestFile(path.join(__dirname, '../../models/breast-cancer/model.json'));

/** Seeded, so a failure is the same on every run. */
const random = (seed: number) => seededRng(seed).next;

/** Numbers that test the nine-digit rounding: float32 values, their complements, ties, powers of ten, extremes. */
function awkwardNumbers(count: number): number[] {
  const rand = random(7);
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  const out = [
    0,
    -0,
    1,
    -1,
    0.5,
    0.1,
    1e-7,
    1e-6,
    9.999999995e-7,
    999999999.5,
    123456789.5,
    0.1234567885,
    0.9999999995,
    1e21,
    1e-30,
    5e-324,
    Number.MAX_VALUE,
    1 - 2 ** -53,
    2 ** -24,
    1 - Math.fround(1e-8),
    NaN,
    Infinity,
    -Infinity,
  ];
  for (let e = -25; e <= 25; e++) for (const m of [1, 5, 9.99999999, 9.999999995, 1.000000005]) out.push(m * 10 ** e, -m * 10 ** e);
  while (out.length < count) {
    bits[0] = Math.floor(rand() * 2 ** 32);
    const p = f32[0] as number;
    out.push(p, 1 - p, rand(), rand() * 10 ** Math.floor(rand() * 44 - 22));
  }
  return out;
}

describe('ByteSink.float9', () => {
  it('writes what toPrecision(9) writes (null for NaN and Infinity)', () => {
    const sink = new ByteSink(16);
    const numbers = awkwardNumbers(400_000);
    const wrong: string[] = [];
    for (const v of numbers) {
      sink.float9(v);
      const got = Buffer.from(sink.take()).toString();
      const want = Number.isFinite(v) ? v.toPrecision(9) : 'null';
      if (got !== want) wrong.push(`${v}: ${got} != ${want}`);
    }
    expect(wrong).toEqual([]);
  });

  it('takes almost every probability the fast way', () => {
    const rand = random(3);
    const b = new Uint8Array(32);
    let slow = 0;
    for (let i = 0; i < 100_000; i++) if (writePrecision9(b, 0, rand()) === 0) slow++;
    expect(slow).toBeLessThan(100);
  });

  it('writes every float32 from 1e-4 to 1e9 the exact way, as toPrecision(9) does', () => {
    const f32 = new Float32Array(1);
    const bits = new Uint32Array(f32.buffer);
    const float32 = (b: number) => {
      bits[0] = b;
      return f32[0] as number;
    };
    const bitsOf = (v: number) => {
      f32[0] = v;
      return bits[0] as number;
    };
    const numbers: number[] = [0, -0, 1, -1, 0.5, 1e-4, 1e9, 999999936, float32(1), float32(0x7f7fffff), float32(1), float32(0x800000)];
    // Every 4,099th bit pattern (all exponents, subnormals and NaNs included), and 300,000 at random.
    for (let b = 0; b < 2 ** 32; b += 4099) numbers.push(float32(b));
    const rand = random(11);
    for (let i = 0; i < 300_000; i++) numbers.push(float32(Math.floor(rand() * 2 ** 32)));
    // The neighbours of each power of ten and of each bound, where the exponent guess is checked.
    for (let e = -45; e <= 38; e++) {
      const c = bitsOf(10 ** e);
      for (let d = -64; d <= 64; d++) numbers.push(float32(c + d), -float32(c + d));
    }
    // Powers of two and their odd multiples: decimal expansions that end in 5 at the tenth digit (ties).
    for (let q = -149; q < 128; q++) for (let m = 1; m < 2 ** 12; m += 2) numbers.push(Math.fround(m * 2 ** q));
    const b = new Uint8Array(32);
    const view = new DataView(b.buffer);
    const wrong: string[] = [];
    let exact = 0;
    for (const v of numbers) {
      const a = Math.abs(v);
      if (!(a >= 1e-4 && a < 1e9)) continue;
      const end = writeFloat32Precision9(b, view, 0, v, a);
      exact++;
      const got = end > 0 ? Buffer.from(b.subarray(0, end)).toString() : 'refused';
      if (got !== v.toPrecision(9) && wrong.length < 20) wrong.push(`${v}: ${got} != ${v.toPrecision(9)}`);
    }
    expect(wrong).toEqual([]);
    expect(exact).toBeGreaterThan(200_000);
    // And through the sink, all of them (the general way below 1e-4 and from 1e9 up).
    const sink = new ByteSink(16);
    for (const v of numbers) {
      sink.float9(v);
      const got = Buffer.from(sink.take()).toString();
      const want = Number.isFinite(v) ? v.toPrecision(9) : 'null';
      if (got !== want && wrong.length < 20) wrong.push(`${v}: ${got} != ${want}`);
    }
    expect(wrong).toEqual([]);
  });
});

/** A manifest with the given output, for answers only. */
function withOutput(output: ModelManifest['output']): ModelManifest {
  return { ...breastCancer, output };
}

/** Predictions as `run` makes them from packed answers. */
function toPredictions(m: ModelManifest, a: PackedAnswers): Prediction[] {
  if (a.kind === 'regression') return Array.from(a.values, (value) => ({ value }));
  const labels = m.output.kind === 'classification' ? m.output.labels : [];
  const k = labels.length;
  return Array.from(a.label, (l, i) => ({
    label: labels[l] as string,
    probabilities: Object.fromEntries(labels.map((name, j) => [name, a.probabilities[i * k + j] as number])),
  }));
}

describe('AnswerWriter', () => {
  const ids: (string | number)[] = [
    'r1',
    7,
    12345678901,
    'with,comma',
    'with "quotes"',
    'line\nbreak',
    'tab\there',
    'back\\slash',
    'ünïcödé',
    '😀',
    ' padded ',
    'ctrl\u0001',
  ];
  const numbers = awkwardNumbers(3000).filter(Number.isFinite);
  const outputs: ModelManifest['output'][] = [
    { kind: 'classification', tensor: 'scores', labels: ['malignant', 'benign'], softmax: false },
    { kind: 'classification', tensor: 'scores', labels: ['a,b', 'say "hi"', 'ü', 'tab\tlabel'], softmax: true },
    // Label cells of every length around the writer's four-byte steps, and one far longer.
    {
      kind: 'classification',
      tensor: 'scores',
      labels: ['x', 'ab', 'abc', 'abcd', 'abcde', 'a label far longer than sixteen bytes, "quoted", with commas', 'é'],
      softmax: false,
    },
    { kind: 'regression', tensor: 'value' },
  ];

  for (const output of outputs) {
    for (const format of ['csv', 'jsonl'] as BatchFormat[]) {
      it(`writes the string formatter's bytes: ${output.kind}${output.kind === 'classification' ? ` (${output.labels.length} labels)` : ''}, ${format}`, () => {
        const m = withOutput(output);
        const n = 600;
        const k = output.kind === 'classification' ? output.labels.length : 1;
        const rand = random(n + k);
        const a: PackedAnswers =
          output.kind === 'regression'
            ? { kind: 'regression', n, values: Float64Array.from({ length: n }, (_, i) => numbers[i % numbers.length] as number) }
            : {
                kind: 'classification',
                n,
                label: Uint32Array.from({ length: n }, () => Math.floor(rand() * k)),
                probabilities: Float64Array.from({ length: n * k }, (_, i) => numbers[(i * 7) % numbers.length] as number),
              };
        const rowIds = Array.from({ length: n }, (_, i) => ids[i % ids.length] as string | number);
        const sink = new ByteSink(8);
        new AnswerWriter(m, format, sink).write({ ids: rowIds }, a);
        const labels = output.kind === 'classification' ? output.labels : undefined;
        expect(Buffer.from(sink.take()).toString()).toBe(formatPredictions(rowIds, toPredictions(m, a), labels, format));
      });
    }
  }

  it('copies plain ids of every length from the CSV bytes, up to the last byte of the chunk', () => {
    // One feature, so the last id of a chunk ends two or three bytes before the end of its buffer.
    const one: ModelManifest = { ...breastCancer, input: { kind: 'tabular', features: [{ name: 'a', type: 'float' }] } };
    const layout = csvLayout(one, 'id,a', 'id');
    const labels = one.output.kind === 'classification' ? one.output.labels : [];
    for (let length = 1; length <= 12; length++) {
      for (const last of ['\n', '']) {
        const idCells = Array.from({ length: 9 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz'.slice(i, i + 1 + ((length + i) % 12)));
        idCells.push('z'.repeat(length));
        const chunk = new TextEncoder().encode(idCells.map((id, i) => `${id},${i % 10}`).join('\n') + last);
        const scanned = scanCsvChunk(one.input as TabularInput, layout, chunk, 2);
        expect(idsOf(scanned)).toEqual(idCells);
        const n = idCells.length;
        const a: PackedAnswers = {
          kind: 'classification',
          n,
          label: Uint32Array.from({ length: n }, (_, i) => i % 2),
          probabilities: Float64Array.from({ length: 2 * n }, (_, i) => 1 / (i + 2)),
        };
        const sink = new ByteSink(16);
        new AnswerWriter(one, 'csv', sink).write(scanned, a);
        expect(Buffer.from(sink.take()).toString()).toBe(formatPredictions(idCells, toPredictions(one, a), labels, 'csv'));
      }
    }
  });

  it('copies plain ids from the CSV bytes and writes the others as the string formatter does', () => {
    const input = breastCancer.input as TabularInput;
    const names = input.features.map((f) => f.name);
    const layout = csvLayout(breastCancer, `id,${names.join(',')}`, 'id');
    const cells = names.map((_, i) => String(i / 7));
    const idCells = ['r1', '"quoted"', '"a ""b"""', ' spaced ', 'ünï', 'x\\y', '42', '"with,comma"'];
    const text = idCells.map((id) => `${id},${cells.join(',')}`).join('\r\n');
    const chunk = new TextEncoder().encode(text);
    const scanned = scanCsvChunk(input, layout, chunk, 2);
    expect(idsOf(scanned)).toEqual(parseCsvChunk(input, layout, chunk, 2).ids);
    expect(idsOf(scanned)).toEqual(['r1', 'quoted', 'a "b"', 'spaced', 'ünï', 'x\\y', '42', 'with,comma']);
    writesWhatTheFormatterWrites(scanned);
  });

  it('copies plain ids from the JSON Lines bytes and writes the others as the string formatter does', () => {
    const input = breastCancer.input as TabularInput;
    const layout = jsonLayout(breastCancer, 'id');
    if (!layout) throw new Error('breast-cancer takes packed rows');
    const values = input.features.map((f, i) => `"${f.name}":${i / 7}`).join(',');
    const idValues = ['"r1"', '" spaced "', '"ünï"', '"with,comma"', '"a\\\\b"', '"say \\"hi\\""', '42', '-0', '1e21', '"x\'y"'];
    const chunk = new TextEncoder().encode(idValues.map((id) => `{"id":${id},${values}}`).join('\r\n'));
    const scanned = scanJsonChunk(layout, chunk, 1);
    expect(idsOf(scanned)).toEqual(parseJsonChunk(breastCancer, 'id', new TextDecoder().decode(chunk), 1).ids);
    expect(idsOf(scanned)).toEqual(['r1', ' spaced ', 'ünï', 'with,comma', 'a\\b', 'say "hi"', 42, -0, 1e21, "x'y"]);
    writesWhatTheFormatterWrites(scanned);
  });
});

/** The writer's bytes for a chunk's ids (plain ones as byte ranges) are the string formatter's, in both text formats. */
function writesWhatTheFormatterWrites(scanned: ParsedChunk): void {
  const n = scanned.ids.length;
  const a: PackedAnswers = {
    kind: 'classification',
    n,
    label: Uint32Array.from({ length: n }, (_, i) => i % 2),
    probabilities: Float64Array.from({ length: 2 * n }, (_, i) => (i % 2 ? 1 / (i + 3) : 1 - 1 / (i + 4))),
  };
  for (const format of ['csv', 'jsonl'] as BatchFormat[]) {
    const sink = new ByteSink();
    new AnswerWriter(breastCancer, format, sink).write(scanned, a);
    const labels = breastCancer.output.kind === 'classification' ? breastCancer.output.labels : [];
    expect(Buffer.from(sink.take()).toString()).toBe(formatPredictions(idsOf(scanned), toPredictions(breastCancer, a), labels, format));
  }
}
