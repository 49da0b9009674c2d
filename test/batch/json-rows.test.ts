/**
 * The byte reader of JSON Lines (`scanJsonChunk`) against the reader it shortcuts (`parseJsonChunk`:
 * `JSON.parse` and the contract's `validateInstances` per line): on random chunks mixing the lines
 * exporters write with everything the contract accepts or refuses (any key order, ids or none, nulls,
 * ints, exponents, long digit strings, escapes, unknown, missing and repeated keys, nested values, odd
 * white space, CRLF, a BOM, blank lines), both give the same rows, ids, line numbers, float32 values bit
 * for bit, and rejects with the same codes and messages.
 */

import { jsonLayout, jsonNumber, longFloat32, scanJsonChunk } from '../../container/src/batch/json-rows';
import * as rowsModule from '../../container/src/batch/rows';
import { idsOf, type ParsedChunk, parseJsonChunk } from '../../container/src/batch/rows';
import { type ModelManifest, parseManifest } from '../../contract/manifest';
import { seededRng } from '../support/seeded';

const manifest: ModelManifest = parseManifest({
  name: 'm',
  version: '1.0.0',
  file: 'model.onnx',
  inputTensor: 'x',
  input: {
    kind: 'tabular',
    features: [
      { name: 'a', type: 'float' },
      { name: 'b', type: 'float', nullable: true },
      { name: 'n', type: 'int' },
      { name: 'mean radius', type: 'float' },
      { name: 'température', type: 'float' },
    ],
  },
  output: { kind: 'classification', tensor: 'p', labels: ['no', 'yes'] },
});
const names = ['a', 'b', 'n', 'mean radius', 'température'];
const layout = jsonLayout(manifest, 'id');
if (!layout) throw new Error('the test model takes packed rows');
const bytes = (s: string) => new TextEncoder().encode(s);

const rng = seededRng(28);
const rand = rng.next;
const pick = rng.pick;

/** A JSON number: 1 to 18 digits, a fraction or none, an exponent or none, maybe negative. */
function jsonDecimal(): string {
  const digits = String(Math.floor(rand() * 1e18)).slice(0, 1 + Math.floor(rand() * 18)) || '0';
  const cut = Math.floor(rand() * (digits.length + 1));
  const whole = digits.slice(0, cut).replace(/^0+(?=\d)/, '') || '0';
  const fraction = digits.slice(cut);
  const exp = rand() < 0.2 ? `${pick(['e', 'E'])}${pick(['', '+', '-'])}${Math.floor(rand() * 50)}` : '';
  return `${rand() < 0.3 ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}${exp}`;
}

/** What exporters write: JSON.stringify of floats rounded as pandas and numpy do, or at full precision. */
function exported(): string {
  const v = (rand() - 0.3) * 10 ** Math.floor(rand() * 8 - 3);
  return pick([JSON.stringify(Number(v.toFixed(3))), JSON.stringify(Number(v.toPrecision(10))), JSON.stringify(v)]);
}

const ODD_VALUES = [
  'null',
  '-0',
  '0',
  '-0.0',
  '0e5',
  '01',
  '-01',
  '.5',
  '5.',
  '-.5',
  '+1',
  '-',
  '1e',
  '1e+',
  '1.5.3',
  '1e5e5',
  '0x10',
  'NaN',
  'Infinity',
  '"NaN"',
  '"1.5"',
  'true',
  '[1]',
  '{"v":1}',
  'nul',
  'nullx',
  '1e400',
  '1e-400',
  '3.4028234e38',
  '3.4028235e38',
  '3.4028236e38',
  '340282356779733661637539395458142568448',
  '123456789012345678',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '2e22',
  '2e23',
  '1E-7',
  '0.1e1',
  '7.0',
  '7.5',
  '1e3',
  '-3',
];

function value(feature: number): string {
  const r = rand();
  if (r < 0.08) return pick(ODD_VALUES);
  if (feature === 2) return String(Math.floor(rand() * 2e6) - 1e6);
  return r < 0.6 ? exported() : jsonDecimal();
}

function idValue(i: number): string {
  return rand() < 0.8
    ? `"r${i}"`
    : pick([
        '""',
        '"é"',
        '"😀 x"',
        '"a,b"',
        '" spaced "',
        '"x\\"y"',
        '"\\u0041"',
        '"tab\there"',
        '"\uFEFFbom"',
        '"del\u007f"',
        '42',
        '-0',
        '1.50',
        '1e400',
        '12345678901234567890',
        'null',
        'true',
        '{"k":1}',
        '["r"]',
      ]);
}

/** White space JSON allows between tokens, seldom; now and then something JSON.parse refuses there. */
const ws = () => (rand() < 0.9 ? '' : pick([' ', '  ', '\t', ' \r ', '\u00a0', '\u000b']));

function objectLine(i: number): string {
  const entries = names.map((n, k) => [JSON.stringify(n), value(k)]);
  if (rand() < 0.3) entries.sort(() => rand() - 0.5);
  if (rand() < 0.75) entries.splice(Math.floor(rand() * (entries.length + 1)), 0, ['"id"', idValue(i)]);
  // Oddities, alone or together (a repeated key with a missing one makes the count right).
  if (rand() < 0.04) entries.pop();
  if (rand() < 0.03) entries.push([pick(['"zz"', '"s3Key"', '"A"', '"id"', '"constructor"']), '1']);
  if (rand() < 0.04) entries.push([JSON.stringify(pick(names)), value(0)]);
  if (rand() < 0.02) {
    const e = entries[0] as string[];
    e[0] = pick(['"\\u0061"', '"a\\n"', '"mean\u00a0radius"', '"temp\\u00e9rature"']);
  }
  return `${ws()}{${ws()}${entries.map(([k, v]) => `${k}${ws()}:${ws()}${v}`).join(`${ws()},${ws()}`)}${ws()}}${ws()}`;
}

function arrayLine(): string {
  const values = names.map((_, k) => value(k));
  const odd = rand();
  if (odd < 0.05) values.pop();
  else if (odd < 0.1) values.push('1');
  return `${ws()}[${values.map((v) => `${ws()}${v}${ws()}`).join(',')}]${ws()}`;
}

function line(i: number): string {
  const r = rand();
  if (r < 0.03) return pick(['', ' ', '\t', '\r', '\u00a0']);
  if (r < 0.06) return pick(['1', '"x"', 'null', '{}', '[]', '{"id":"q"}', '{"a":1,}', '[1,2,3,4,5,]', 'not json', '{"a":1} {"b":2}']);
  return r < 0.8 ? objectLine(i) : arrayLine();
}

function chunk(lines: number): Uint8Array {
  let text = rand() < 0.1 ? '\uFEFF' : '';
  for (let i = 0; i < lines; i++) text += line(i) + (rand() < 0.2 ? '\r\n' : '\n');
  if (rand() < 0.5) text = text.replace(/\r?\n$/, ''); // a last line without its newline
  return bytes(text);
}

/** Today's reader: the chunk decoded as the worker decodes it, each line through JSON.parse and the contract. */
function slow(b: Uint8Array, firstLine: number): ParsedChunk {
  const parsed = parseJsonChunk(manifest, 'id', new TextDecoder().decode(b), firstLine);
  const packed = new Float32Array(names.length * parsed.ids.length);
  (parsed.instances ?? []).forEach((inst, i) => {
    if (!('values' in inst)) throw new Error('not a tabular instance');
    packed.set(inst.values as Float32Array, i * names.length);
  });
  return { ...parsed, packed, instances: undefined };
}

const view = (p: ParsedChunk) => ({
  rows: p.rows,
  ids: idsOf(p),
  lines: p.lines,
  bits: Array.from(new Uint32Array(p.packed.slice().buffer)),
  rejects: p.rejects,
});

/** Lines the byte reader read itself (it hands the others to `parseJsonChunk`, one call a line). */
function linesReadFast(b: Uint8Array): number {
  const spy = jest.spyOn(rowsModule, 'parseJsonChunk');
  try {
    const parsed = scanJsonChunk(layout as NonNullable<typeof layout>, b, 1);
    return parsed.rows - spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

describe('JSON Lines read from bytes', () => {
  it('give what JSON.parse and validateInstances give, on random chunks', () => {
    let fast = 0;
    let rows = 0;
    let rejects = 0;
    for (let c = 0; c < 400; c++) {
      const b = chunk(1 + Math.floor(rand() * 60));
      const first = 1 + Math.floor(rand() * 1000);
      const scanned = scanJsonChunk(layout, b, first);
      expect(view(scanned)).toEqual(view(slow(b, first)));
      rows += scanned.rows;
      rejects += scanned.rejects.length;
      fast += linesReadFast(b);
    }
    // The comparison means something only if both kinds of lines, and rejects, occur often.
    expect(fast).toBeGreaterThan(rows * 0.2);
    expect(rows - fast).toBeGreaterThan(rows * 0.2);
    expect(rejects).toBeGreaterThan(rows * 0.1);
  });

  it('read numbers to the same double as JSON.parse (the same float32, for a float), or hand them over', () => {
    const texts = [...ODD_VALUES];
    for (let i = 0; i < 100_000; i++) texts.push(rand() < 0.5 ? exported() : jsonDecimal());
    for (const float32 of [false, true]) {
      const wrong = texts.filter((t) => {
        const v = jsonNumber(bytes(`${t}${pick([',', ']', '}', ' ', '\r', ''])}`), 0, float32);
        let want: unknown;
        try {
          want = JSON.parse(t);
        } catch {
          want = undefined;
        }
        if (typeof want !== 'number') return !Number.isNaN(v);
        return float32 ? !Object.is(Math.fround(v), Math.fround(want)) : !Object.is(v, want);
      });
      expect(wrong).toEqual([]);
    }
  });

  it('read long numbers to the float32 of their double without a string, or say they cannot', () => {
    const f32 = new Float32Array(1);
    const bits = new Uint32Array(f32.buffer);
    const texts: string[] = [];
    const nearBoundaries: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      // Doubles at full precision (as JSON.stringify and json.dumps write them), long decimals, and
      // decimals next to the midpoint of two float32 values, where the double's own rounding decides.
      const v = (rand() - 0.5) * 10 ** Math.floor(rand() * 90 - 45);
      texts.push(JSON.stringify(v), `${jsonDecimal().replace(/[eE].*/, '')}${rand() < 0.5 ? '' : `e${Math.floor(rand() * 90) - 45}`}`);
      bits[0] = Math.floor(rand() * 0x7f000000);
      const f = f32[0] as number;
      bits[0]++;
      const mid = (f + (f32[0] as number)) / 2;
      for (const digits of [17, 18, 21]) nearBoundaries.push(mid.toPrecision(digits).replace('+', ''));
    }
    const read = (t: string) => longFloat32(bytes(t), 0, t.length);
    const wrong = [...texts, ...nearBoundaries].filter((t) => {
      const v = read(t);
      return !Number.isNaN(v) && !Object.is(v, Math.fround(JSON.parse(t) as number));
    });
    expect(wrong).toEqual([]);
    // Almost all are read; next to a boundary the double has to settle it.
    expect(texts.filter((t) => Number.isNaN(read(t))).length).toBeLessThan(texts.length * 0.05);
    expect(nearBoundaries.filter((t) => Number.isNaN(read(t))).length).toBeGreaterThan(nearBoundaries.length * 0.5);
  });

  it.each([
    ['object in manifest order, with id', '{"id":"r1","a":1.5,"b":-2,"n":3,"mean radius":4e2,"température":-0}', 'fast', 'r1'],
    ['object in any order', '{"température":5,"n":-7,"mean radius":0.25,"b":1,"id":"r2","a":2}', 'fast', 'r2'],
    ['object without id', '{"a":1,"b":2,"n":3,"mean radius":4,"température":5}', 'fast', 1],
    ['array', '[1,2,3,4,5]', 'fast', 1],
    ['white space, CRLF', ' \t{ "a" : 1 ,\t"b":2, "n" :3,"mean radius":4 , "température":5 } \r', 'fast', 1],
    ['null for a nullable feature', '{"a":1,"b":null,"n":3,"mean radius":4,"température":5}', 'fast', 1],
    ['an int feature written 3.0 or 3e0', '[1,2,3.0,4,5]', 'fast', 1],
    ['numeric id', '{"id":1.50,"a":1,"b":2,"n":3,"mean radius":4,"température":5}', 'fast', 1.5],
    ['unicode id', '{"id":"é😀","a":1,"b":2,"n":3,"mean radius":4,"température":5}', 'fast', 'é😀'],
    ['id with a comma', '{"id":"a,b","a":1,"b":2,"n":3,"mean radius":4,"température":5}', 'fast', 'a,b'],
    ['long digit strings and huge exponents', '[0.12345678901234567,1e-300,12,123456789012345678901,3.4e38]', 'fast', 1],
    ['escaped id', '{"id":"a\\"b","a":1,"b":2,"n":3,"mean radius":4,"température":5}', 'slow', 'a"b'],
    ['escaped key', '{"\\u0061":1,"b":2,"n":3,"mean radius":4,"température":5}', 'slow', 1],
    ['repeated key (the last one wins)', '{"a":9,"a":1,"b":2,"n":3,"mean radius":4,"température":5}', 'slow', 1],
    ['a BOM on the first line', '\uFEFF[1,2,3,4,5]', 'slow', 1],
    ['"NaN" for a nullable feature', '[1,"NaN",3,4,5]', 'slow', 1],
  ])('accept %s', (_what, text, path, id) => {
    const b = bytes(text);
    const scanned = scanJsonChunk(layout, b, 1);
    expect(view(scanned)).toEqual(view(slow(b, 1)));
    expect(idsOf(scanned)).toEqual([id]);
    expect(scanned.rejects).toEqual([]);
    expect(linesReadFast(b)).toBe(path === 'fast' ? 1 : 0);
  });

  it.each([
    ['a missing key', '{"a":1,"b":2,"n":3,"mean radius":4}', 'MISSING_FEATURE'],
    ['a repeated key standing for a missing one', '{"a":1,"a":2,"b":2,"n":3,"mean radius":4}', 'MISSING_FEATURE'],
    ['an extra key', '{"a":1,"b":2,"n":3,"mean radius":4,"température":5,"zz":6}', 'UNKNOWN_FEATURE'],
    ['null for a feature that is not nullable', '{"a":null,"b":2,"n":3,"mean radius":4,"température":5}', 'INVALID_FEATURE_TYPE'],
    ['a fraction for an int', '[1,2,3.5,4,5]', 'INVALID_FEATURE_TYPE'],
    ['an int beyond 2^53', '[1,2,9007199254740992,4,5]', 'INVALID_FEATURE_TYPE'],
    ['a number beyond float32', '[1,2,3,4,3.5e38]', 'NON_FINITE_NUMBER'],
    ['a number beyond double', '[1,2,3,4,1e400]', 'NON_FINITE_NUMBER'],
    ['an array one short', '[1,2,3,4]', 'WRONG_FEATURE_COUNT'],
    ['an array one long', '[1,2,3,4,5,6]', 'WRONG_FEATURE_COUNT'],
    ['a nested value', '[1,[2],3,4,5]', 'INVALID_FEATURE_TYPE'],
    ['a string for a number', '{"a":"1","b":2,"n":3,"mean radius":4,"température":5}', 'INVALID_FEATURE_TYPE'],
    ['an empty id', '{"id":"","a":1,"b":2,"n":3,"mean radius":4,"température":5}', 'INVALID_ID'],
    ['a null id', '{"id":null,"a":1,"b":2,"n":3,"mean radius":4,"température":5}', 'INVALID_ID'],
    ['a leading zero', '[01,2,3,4,5]', 'INVALID_JSON'],
    ['a bare dot', '[1,.5,3,4,5]', 'INVALID_JSON'],
    ['a trailing comma', '[1,2,3,4,5,]', 'INVALID_JSON'],
    ['two values on a line', '[1,2,3,4,5] [1,2,3,4,5]', 'INVALID_JSON'],
    ['a control character in an id', '{"id":"a\tb","a":1,"b":2,"n":3,"mean radius":4,"température":5}', 'INVALID_JSON'],
    ['an s3Key', '{"s3Key":"datasets/x.csv"}', 'INVALID_S3_KEY'],
  ])('refuse %s as the contract does', (_what, text, code) => {
    const b = bytes(`\n${text}\r\n\n`);
    const scanned = scanJsonChunk(layout, b, 10);
    expect(view(scanned)).toEqual(view(slow(b, 10)));
    expect(scanned.rows).toBe(1);
    expect(scanned.rejects.map((r) => [r.line, r.code])).toEqual([[11, code]]);
  });

  it('skip blank lines and number the rest by their line', () => {
    const b = bytes('\n  \r\n[1,2,3,4,5]\n\t\n\u00a0\n[6,7,8,9,10]');
    const scanned = scanJsonChunk(layout, b, 5);
    expect(view(scanned)).toEqual(view(slow(b, 5)));
    expect(scanned.rows).toBe(2);
    expect(idsOf(scanned)).toEqual([7, 10]);
    expect(scanned.lines).toEqual([7, 10]);
  });

  it('refill the values of an earlier chunk when it has the size', () => {
    const b = chunk(40);
    const lines = b.filter((c) => c === 10).length + (b.at(-1) === 10 ? 0 : 1);
    const spare = new Float32Array(lines * names.length).fill(-1);
    const reused = scanJsonChunk(layout, b, 2, lines, spare);
    expect(reused.packed.buffer).toBe(spare.buffer);
    expect(view(reused)).toEqual(view(slow(b, 2)));
  });

  it('take models whose rows are float32 and keys it can match by their bytes, and leave the others to JSON.parse', () => {
    expect(jsonLayout(manifest, 'key')).toBeDefined();
    expect(jsonLayout(manifest, 'a')).toBeUndefined();
    expect(jsonLayout(manifest, 'toString')).toBeUndefined();
    expect(jsonLayout(manifest, 'say "hi"')).toBeUndefined();
    expect(jsonLayout({ ...manifest, inputTensor: undefined }, 'id')).toBeUndefined();
    const withKey = (name: string) =>
      jsonLayout({ ...manifest, input: { kind: 'tabular', features: [{ name, type: 'float' }] } } as ModelManifest, 'id');
    expect(withKey('s3Key')).toBeUndefined();
    expect(withKey('__proto__')).toBeUndefined();
    expect(withKey('back\\slash')).toBeUndefined();
    expect(withKey('x')).toBeDefined();
  });
});
