/**
 * The one-pass reader of plain CSV rows (`scanCsvChunk`'s first try at each row) against the cell-by-cell
 * reader behind it (`plainRows: false`): on random chunks mixing plain rows with everything the contract
 * accepts or refuses (quotes, CRLF, quoted line breaks, exponents, signs, `.5`, `NaN`, empty cells of
 * nullable features, integers, extra or missing cells, blank lines), both must give the same rows, ids,
 * float32 values bit for bit, and rejects.
 */
import { idsOf, type ParsedChunk, scanCsvChunk } from '../../container/src/batch/rows';
import type { CsvLayout } from '../../container/src/batch/types';
import type { TabularInput } from '../../contract/manifest';

const input: TabularInput = {
  kind: 'tabular',
  features: [
    { name: 'a', type: 'float' },
    { name: 'b', type: 'float', nullable: true },
    { name: 'n', type: 'int' },
    { name: 'c', type: 'float' },
  ],
};

let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

/** A decimal of 1 to 17 digits, the dot anywhere (or nowhere), maybe signed. */
function decimal(): string {
  const digits = String(Math.floor(rand() * 1e17)).slice(0, 1 + Math.floor(rand() * 17));
  const dot = Math.floor(rand() * (digits.length + 2));
  const body = dot > digits.length ? digits : `${digits.slice(0, dot)}.${digits.slice(dot)}`;
  return `${rand() < 0.3 ? '-' : ''}${body}`;
}

const ODD_NUMBERS = [
  '',
  '-',
  '.',
  '.5',
  '5.',
  '-.5',
  '+1.5',
  '-0',
  '0',
  '00012.50',
  '1e5',
  '1E-7',
  '2.5e400',
  '1e',
  '0x10',
  'NaN',
  'nan',
  'Infinity',
  ' 1.5',
  '1.5 ',
  '"1.5"',
  '"1,5"',
  '1.2.3',
  '--1',
  'abc',
  '999999999',
  '1000000000',
  '2147483648',
  '123456789012345',
  '1234567890123456',
  '0.000000001',
  '3.4e38',
  '3.5e38',
  '-12345.6789012',
];

function numberCell(): string {
  return rand() < 0.75 ? decimal() : pick(ODD_NUMBERS);
}

function intCell(): string {
  return rand() < 0.7 ? String(Math.floor(rand() * 1e6) - 5e5) : pick([...ODD_NUMBERS, '7.0', '7.5', '-3']);
}

function idCell(i: number): string {
  return rand() < 0.85 ? `r${i}` : pick(['', ' x ', '"q,1"', '"q""2"', 'é', 'a\\b', '"multi\nline"', '42']);
}

/** Columns: id, x (ignored), then the features in the order c, a, n, b. */
const layout: CsvLayout = { columns: 6, idIndex: 0, featureOf: [-1, -1, 3, 0, 2, 1], headerLines: 1 };

function row(i: number): string {
  if (rand() < 0.03) return pick(['', '   ', '\t']);
  const ignored = rand() < 0.9 ? 'zz' : pick(['', '"a,b"', '"line\r\nbreak"', 'x y', '"x""y"']);
  const cells = [idCell(i), ignored, numberCell(), numberCell(), intCell(), numberCell()];
  if (rand() < 0.03) cells.push('extra');
  if (rand() < 0.03) cells.pop();
  return cells.join(',');
}

function chunk(rows: number): Uint8Array {
  let text = '';
  for (let i = 0; i < rows; i++) text += row(i) + (rand() < 0.2 ? '\r\n' : '\n');
  if (rand() < 0.5) text = text.replace(/\r?\n$/, ''); // a last line without its newline
  return new TextEncoder().encode(text);
}

const view = (p: ParsedChunk) => ({
  rows: p.rows,
  ids: idsOf(p),
  bits: Array.from(new Uint32Array(p.packed.slice().buffer)),
  rejects: p.rejects,
});

describe('plain CSV rows', () => {
  it('read in one pass give what the cell-by-cell reader gives, on random chunks', () => {
    let plainAccepted = 0;
    for (let c = 0; c < 300; c++) {
      const bytes = chunk(1 + Math.floor(rand() * 60));
      const fast = scanCsvChunk(input, layout, bytes, 2);
      const slow = scanCsvChunk(input, layout, bytes, 2, undefined, false);
      expect(view(fast)).toEqual(view(slow));
      plainAccepted += fast.ids.filter((id) => id === '').length;
    }
    // The comparison means something only if both kinds of rows occur often.
    expect(plainAccepted).toBeGreaterThan(1000);
  });

  it('read in the layout of an id and then every feature in order the same as cell by cell, on random chunks', () => {
    // The reader's own loop for this layout (no int feature; one nullable, so empty cells go the slow way).
    const floats: TabularInput = { ...input, features: input.features.filter((x) => x.type !== 'int') };
    const inOrder: CsvLayout = { columns: 4, idIndex: 0, featureOf: [-1, 0, 1, 2], headerLines: 1 };
    let plainAccepted = 0;
    for (let c = 0; c < 300; c++) {
      let text = '';
      for (let i = 0; i < 1 + Math.floor(rand() * 60); i++) {
        if (rand() < 0.03) text += `${pick(['', '   '])}\n`;
        else {
          const cells = [idCell(i), numberCell(), numberCell(), numberCell()];
          if (rand() < 0.03) cells.push('extra');
          if (rand() < 0.03) cells.pop();
          text += cells.join(',') + (rand() < 0.2 ? '\r\n' : '\n');
        }
      }
      if (rand() < 0.5) text = text.replace(/\r?\n$/, '');
      const bytes = new TextEncoder().encode(text);
      const fast = scanCsvChunk(floats, inOrder, bytes, 2);
      expect(view(fast)).toEqual(view(scanCsvChunk(floats, inOrder, bytes, 2, undefined, false)));
      plainAccepted += fast.ids.filter((id) => id === '').length;
    }
    expect(plainAccepted).toBeGreaterThan(1000);
  });

  it('read numbers to the same float32 as the cell-by-cell reader, over many values', () => {
    const one: TabularInput = { kind: 'tabular', features: [{ name: 'a', type: 'float' }] };
    const single: CsvLayout = { columns: 2, idIndex: 0, featureOf: [-1, 0] };
    const cells: string[] = [];
    for (let i = 0; i < 200_000; i++) cells.push(rand() < 0.95 ? decimal() : pick(ODD_NUMBERS));
    for (const digits of ['1', '12', '123456789', '1234567890', '99999999999999', '999999999999999'])
      for (let dot = 0; dot <= digits.length; dot++) cells.push(`${digits.slice(0, dot)}.${digits.slice(dot)}`, `-${digits}`);
    const bytes = new TextEncoder().encode(cells.map((v, i) => `r${i},${v}\n`).join(''));
    const fast = scanCsvChunk(one, single, bytes, 2);
    const slow = scanCsvChunk(one, single, bytes, 2, undefined, false);
    expect(view(fast)).toEqual(view(slow));
    expect(fast.rejects.length).toBeLessThan(cells.length * 0.05);
  });

  it('refill the values of an earlier chunk when it has the size, leaving nothing of it behind', () => {
    const lines = 40;
    const first = chunk(lines);
    const second = chunk(lines);
    const count = (b: Uint8Array) => b.filter((c) => c === 10).length + (b.at(-1) === 10 ? 0 : 1);
    const spare = new Float32Array(count(second) * input.features.length).fill(-1);
    scanCsvChunk(input, layout, first, 2);
    const reused = scanCsvChunk(input, layout, second, 2, count(second), true, spare);
    expect(reused.packed.buffer).toBe(spare.buffer);
    expect(view(reused)).toEqual(view(scanCsvChunk(input, layout, second, 2, count(second))));
  });

  it('number rows by line when there is no id column, through both readers alike', () => {
    const numbered: CsvLayout = { columns: 4, idIndex: -1, featureOf: [3, 0, 2, 1], headerLines: 1 };
    const bytes = new TextEncoder().encode('1,2,3,4\n\n5,6,7,\r\n"9",10,11,12');
    const fast = scanCsvChunk(input, numbered, bytes, 2);
    expect(view(fast)).toEqual(view(scanCsvChunk(input, numbered, bytes, 2, undefined, false)));
    expect(idsOf(fast)).toEqual([1, 3, 4]);
    expect(Array.from(fast.packed.subarray(4, 8))).toEqual([6, Number.NaN, 7, 5]);
  });
});
