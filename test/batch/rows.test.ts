/**
 * The batch mode's fast paths agree with the contract: numbers read from bytes are bit-identical to
 * `Number(text)` (or refused), line chunks cover the stream exactly, and CSV rows are accepted or
 * rejected exactly as the contract's `csvRow` would.
 */
import * as path from 'node:path';
import { LineChunker } from '../../container/src/batch/lines';
import { csvLayout, fastNumber, parseCsvChunk } from '../../container/src/batch/rows';
import { parseCsv } from '../../contract/csv';
import { csvRow, type TabularInput } from '../../contract/manifest';
import { readManifestFile } from '../../contract/model-files';

const manifest = readManifestFile(path.join(__dirname, '../../models/breast-cancer/model.json'));
const input = manifest.input as TabularInput;
const bytes = (s: string) => new TextEncoder().encode(s);

describe('fastNumber', () => {
  it('gives exactly Number(text) for plain decimals, or NaN to send the cell to the contract', () => {
    const cells = [
      '0',
      '-0',
      '+1',
      '12.5',
      '.5',
      '5.',
      '0.00680',
      '1e-7',
      '-3.4E+38',
      '123456789012345',
      '1234567890123456',
      '0.1e23',
      '7e22',
      '1e400',
      '2.5e-300',
    ];
    // Random decimals with up to 17 digits and exponents around the fast path's edges.
    let seed = 5;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 20_000; i++) {
      const digits = String(Math.floor(rand() * 1e17)).slice(0, 1 + Math.floor(rand() * 17));
      const dot = Math.floor(rand() * (digits.length + 1));
      const exp = rand() < 0.3 ? `e${Math.floor(rand() * 60) - 30}` : '';
      cells.push(`${rand() < 0.5 ? '-' : ''}${digits.slice(0, dot)}.${digits.slice(dot)}${exp}`);
    }
    const wrong = cells.filter((c) => {
      const v = fastNumber(bytes(c), 0, c.length);
      return !(Number.isNaN(v) || Object.is(v, Number(c)));
    });
    expect(wrong).toEqual([]);
    // Most cells take the fast path; only long or extreme ones fall back.
    expect(cells.filter((c) => !Number.isNaN(fastNumber(bytes(c), 0, c.length))).length).toBeGreaterThan(cells.length * 0.5);
  });

  it('refuses everything the contract refuses', () => {
    for (const c of ['', '-', '.', 'e5', '1e', '1e+', '0x10', '1,5', ' 1', '1 ', 'NaN', 'Infinity', '1.2.3', '--1', '1e5e5']) {
      expect([c, fastNumber(bytes(c), 0, c.length)]).toEqual([c, NaN]);
    }
  });

  it('reads cells of 0 to 17 digits without a fraction (no dot, or a dot last) as Number(text), or refuses them', () => {
    const cells: string[] = [];
    for (let n = 0; n <= 17; n++) {
      const digits = '9876543210123456789'.slice(0, n);
      for (const body of [digits, `${digits}.`, `0${digits}`, `.${digits}`, `${digits.slice(0, 1)}.${digits.slice(1)}`]) {
        cells.push(body, `-${body}`);
      }
    }
    const wrong = cells.filter((c) => {
      const v = fastNumber(bytes(c), 0, c.length);
      return !(Object.is(v, Number(c)) || (Number.isNaN(v) && (c.replace(/[-.]/g, '').length === 0 || c.replace(/[-.]/g, '').length > 15)));
    });
    expect(wrong).toEqual([]);
    // Up to 15 digits every such cell is taken; 16 and more are left to the contract.
    expect(fastNumber(bytes('123456789012345.'), 0, 16)).toBe(123456789012345);
    expect(fastNumber(bytes('-1234567890'), 0, 11)).toBe(-1234567890);
    expect(Object.is(fastNumber(bytes('-0.'), 0, 3), -0)).toBe(true);
  });
});

describe('LineChunker', () => {
  it('cuts any split of a stream into chunks of whole lines that add back up to the stream', () => {
    const text = `${Array.from({ length: 1000 }, (_, i) => `line ${i}${i % 7 === 0 ? '\r' : ''}`).join('\n')}\nlast without newline`;
    const data = bytes(text);
    for (const piece of [1, 3, 64, 4096, data.length]) {
      const chunker = new LineChunker(97, 2);
      const chunks = [];
      for (let i = 0; i < data.length; i += piece) chunks.push(...chunker.push(data.slice(i, i + piece)));
      chunks.push(...chunker.end());
      expect(Buffer.concat(chunks.map((c) => c.bytes)).toString()).toBe(text);
      expect(chunks.map((c) => c.lines)).toEqual([...Array(10).fill(97), 1001 - 970]);
      expect(chunks.map((c) => c.firstLine)).toEqual(chunks.map((_, i) => 2 + i * 97));
      for (const c of chunks.slice(0, -1)) expect(c.bytes[c.bytes.length - 1]).toBe(10);
    }
  });
});

describe('LineChunker fed from one reused buffer', () => {
  it('keeps a copy of every byte it holds, so the reader may overwrite its buffer after each push', () => {
    // As a file is read: each block into the same buffer, overwritten (here with garbage) once pushed.
    const text = `${Array.from({ length: 3000 }, (_, i) => `${i},${'y'.repeat(i % 90)}`).join('\n')}\n`;
    const data = bytes(text);
    for (const piece of [1, 50, 999, 8192]) {
      const chunker = new LineChunker(41, 2, true);
      const block = new Uint8Array(piece);
      const seen: string[] = [];
      for (let i = 0; i < data.length; i += piece) {
        const n = Math.min(piece, data.length - i);
        block.set(data.subarray(i, i + n));
        for (const c of chunker.push(block.subarray(0, n))) seen.push(Buffer.from(c.bytes).toString());
        block.fill(35);
      }
      for (const c of chunker.end()) seen.push(Buffer.from(c.bytes).toString());
      expect(seen.join('')).toBe(text);
      expect(seen.slice(0, -1).every((c) => c.split('\n').length === 42)).toBe(true);
    }
  });
});

describe('LineChunker with recycled buffers', () => {
  it('fills buffers handed back without letting the bytes of an earlier chunk through', () => {
    // Lines of varied length: a recycled buffer is often larger than the chunk it then holds.
    const text = Array.from({ length: 2000 }, (_, i) => `${i},${'x'.repeat(i % 50)}`).join('\n');
    const data = bytes(text);
    const chunker = new LineChunker(37, 2, true);
    const seen: string[] = [];
    const inHand: Uint8Array[] = [];
    for (let i = 0; i < data.length; i += 1000) {
      for (const c of chunker.push(data.slice(i, i + 1000))) {
        seen.push(Buffer.from(c.bytes).toString());
        inHand.push(c.bytes);
        // As a run does: a buffer comes back once the workers are done with its chunk, a few chunks later.
        if (inHand.length > 3) chunker.recycle((inHand.shift() as Uint8Array).buffer as ArrayBuffer);
      }
    }
    for (const c of chunker.end()) seen.push(Buffer.from(c.bytes).toString());
    expect(seen.join('')).toBe(text);
    expect(seen.slice(0, -1).every((c) => c.split('\n').length === 38)).toBe(true);
  });
});

describe('LineChunker on CSV', () => {
  it('never cuts inside a quoted cell, whatever the split of the stream', () => {
    const records = Array.from({ length: 300 }, (_, i) =>
      i % 5 === 0 ? `${i},"note ""${i}""\nspans\r\nlines",1` : i % 5 === 1 ? `${i},"",2` : `${i},plain,3`,
    );
    const text = `${records.join('\n')}\n`;
    const data = bytes(text);
    for (const piece of [1, 2, 7, 64, data.length]) {
      const chunker = new LineChunker(16, 2, true);
      const chunks = [];
      for (let i = 0; i < data.length; i += piece) chunks.push(...chunker.push(data.slice(i, i + piece)));
      chunks.push(...chunker.end());
      expect(Buffer.concat(chunks.map((c) => c.bytes)).toString()).toBe(text);
      // Each chunk holds whole records, 16 of them (the contract's parser agrees), and lines add up.
      const counts = chunks.map((c) => parseCsv(Buffer.from(c.bytes).toString(), 1000).length);
      expect(counts).toEqual([...Array(18).fill(16), 300 - 18 * 16]);
      let line = 2;
      for (const c of chunks) {
        expect(c.firstLine).toBe(line);
        expect(c.lines).toBe(Buffer.from(c.bytes).toString().split('\n').length - 1);
        line += c.lines;
      }
    }
  });

  it('cuts JSON Lines at every newline, quotes or not', () => {
    const chunker = new LineChunker(1, 1);
    const chunks = [...chunker.push(bytes('{"a":"\\"x"}\n{"a":"y\\""}\n')), ...chunker.end()];
    expect(chunks.map((c) => c.lines)).toEqual([1, 1]);
  });
});

describe('LineChunker read into directly (space and commit)', () => {
  /** A small seeded generator, so a failure names a case that can be run again. */
  const random = (seed: number) => () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const cases = [
    // CSV: quoted cells with line breaks, doubled quotes, CRLF, empty lines, a BOM, no final newline
    {
      csv: true,
      text: `\uFEFF${Array.from({ length: 700 }, (_, i) =>
        i % 11 === 0 ? `${i},"a ""q""\r\nb\nc",${i}` : i % 13 === 0 ? '' : `${i},${'x'.repeat(i % 300)},-0\r`,
      ).join('\n')}`,
    },
    // JSON Lines: quotes never hide a line break
    { csv: false, text: `${Array.from({ length: 500 }, (_, i) => `{"id":"${i}","q":"\\"${'y'.repeat(i % 97)}"}`).join('\n')}\n` },
  ];

  it('cuts exactly the chunks push cuts, whatever the reads return, with recycled buffers too', () => {
    for (const [k, { csv, text }] of cases.entries()) {
      const data = bytes(text);
      for (const rows of [1, 7, 64, 1000]) {
        const pushed = new LineChunker(rows, 2, csv);
        const expected = [...pushed.push(data), ...pushed.end()].map((c) => [Buffer.from(c.bytes).toString(), c.firstLine, c.lines]);
        for (const seed of [1, 2, 3]) {
          const next = random(seed * 100 + rows + k);
          const chunker = new LineChunker(rows, 2, csv);
          const seen: (string | number)[][] = [];
          const inHand: Uint8Array[] = [];
          let position = 0;
          while (position < data.length) {
            const into = chunker.space();
            expect(into.length).toBeGreaterThan(0);
            // A read may return less than asked, down to one byte.
            const n = Math.min(data.length - position, Math.max(1, Math.floor(into.length * next() ** 3)));
            into.set(data.subarray(position, position + n));
            position += n;
            for (const c of chunker.commit(n)) {
              seen.push([Buffer.from(c.bytes).toString(), c.firstLine, c.lines]);
              inHand.push(c.bytes);
              // A chunk's buffer comes back a few chunks later, as the workers finish with it.
              if (inHand.length > 2) chunker.recycle((inHand.shift() as Uint8Array).buffer as ArrayBuffer);
            }
          }
          expect(chunker.commit(0)).toEqual([]);
          for (const c of chunker.end()) seen.push([Buffer.from(c.bytes).toString(), c.firstLine, c.lines]);
          expect([k, rows, seed, seen]).toEqual([k, rows, seed, expected]);
        }
      }
    }
  });

  it('never hands out two chunks in one buffer, nor reads over a chunk handed out', () => {
    const data = bytes(`${Array.from({ length: 400 }, (_, i) => `${i},${'z'.repeat(i % 40)}`).join('\n')}\n`);
    const chunker = new LineChunker(10, 2, true);
    const chunks: { bytes: Uint8Array; text: string }[] = [];
    for (let position = 0; position < data.length; ) {
      const into = chunker.space();
      const n = Math.min(into.length, data.length - position);
      into.set(data.subarray(position, position + n));
      position += n;
      for (const c of chunker.commit(n)) chunks.push({ bytes: c.bytes, text: Buffer.from(c.bytes).toString() });
    }
    // THEN every chunk still holds what it held when it was cut, in a buffer no other chunk shares
    expect(new Set(chunks.map((c) => c.bytes.buffer)).size).toBe(chunks.length);
    for (const c of chunks) expect(Buffer.from(c.bytes).toString()).toBe(c.text);
    expect(chunks.map((c) => c.text).join('')).toBe(Buffer.from(data).toString());
  });
});

describe('parseCsvChunk', () => {
  const header = ['id', ...input.features.map((f) => f.name)].join(',');
  const layout = csvLayout(manifest, header, 'id');
  const good = input.features.map((_, i) => (i + 1) * 1.25).join(',');

  it('agrees with csvRow on every row it accepts and rejects', () => {
    const lines = [
      `a,${good}`,
      `b,${good.replace('1.25', ' 1.25 ')}`, // spaces: the fast path declines, the contract accepts
      `c,${good.replace('2.5', '2.5e400')}`,
      `d,${good.replace('2.5', '0x10')}`,
      `e,${good},9`,
      `,${good}`,
      '',
      `"g",${good.replace('1.25', '12345678901234567890')}`,
      // RFC 4180 quoting, as spreadsheets write it: the contract's CSV rules apply
      `"h",${good
        .split(',')
        .map((c) => `"${c}"`)
        .join(',')}`,
    ];
    const chunk = parseCsvChunk(input, layout, bytes(lines.join('\r\n')), 2);
    expect(chunk.rows).toBe(8);
    expect(chunk.ids).toEqual(['a', 'b', 'g', 'h']);
    const f = input.features.length;
    const want = [good, good.replace('1.25', ' 1.25 '), good.replace('1.25', '12345678901234567890'), good].map((l) =>
      csvRow(input.features, l.split(','), 'row'),
    );
    for (const [i, w] of want.entries()) expect(Array.from(chunk.packed.subarray(i * f, (i + 1) * f))).toEqual(Array.from(w));
    expect(chunk.rejects).toEqual([
      { id: 'c', line: 4, code: 'NON_FINITE_NUMBER', field: 'mean_texture', message: 'NaN and Infinity are not valid feature values.' },
      { id: 'd', line: 5, code: 'INVALID_FEATURE_TYPE', field: 'mean_texture', message: '"0x10" is not a number.' },
      { id: 'e', line: 6, code: 'WRONG_FEATURE_COUNT', message: "Expected 31 values (the header's columns), got 32." },
      { id: '', line: 7, code: 'INVALID_ID', message: 'The id column is empty.' },
    ]);
  });

  it('refuses a header without the model features, and CSV for image models', () => {
    expect(() => csvLayout(manifest, 'id,mean_radius,mean_radius', 'id')).toThrow(/twice/);
    expect(() => csvLayout(manifest, 'id,x', 'id')).toThrow(expect.objectContaining({ code: 'INVALID_HEADER', field: 'mean_radius' }));
    const digits = readManifestFile(path.join(__dirname, '../../models/digits/model.json'));
    expect(() => csvLayout(digits, 'id', 'id')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_MEDIA_TYPE' }));
  });
});
