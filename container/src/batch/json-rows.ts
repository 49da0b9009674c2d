/**
 * JSON Lines read straight from their bytes into packed float32 rows, as CSV rows are (rows.ts), for the
 * lines exporters write: an object of feature values by name (any key order, with or without the id key)
 * or an array of the feature values in the manifest's order, numbers in JSON syntax, `null` for a missing
 * value of a nullable feature. Any other line (a string where a number goes, an escape, an unknown or
 * repeated key, a nested value, anything `JSON.parse` refuses) goes whole to `parseJsonChunk`, the
 * `JSON.parse` + `validateInstances` reader, so every line is accepted or refused as `POST /invocations`
 * would, with the same code and message.
 */

import { FLOAT32_ROUNDS_FINITE_BELOW, type ModelManifest, packsFloat32 } from '../../../contract/manifest';
import { type ParsedChunk, POW10, parseJsonChunk, plainDecimal, type Reject, scanNumber } from './rows';

/** What the reader needs to know of a model's lines, worked out once per run. */
export interface JsonLayout {
  readonly manifest: ModelManifest;
  readonly idColumn: string;
  /** Each feature's name as a key's UTF-8 bytes and its closing quote, then the id key's (last, at the features' count). */
  readonly keys: readonly Uint8Array[];
  /** The same bytes as little-endian 32-bit words, as far as they fill whole words (`keyAt` compares four at a time). */
  readonly words: readonly Int32Array[];
  readonly isInt: Uint8Array;
  readonly nullable: Uint8Array;
  /** Open addressing by `keyHash`: index + 1 into `keys`, 0 for an empty slot. */
  readonly table: Int32Array;
}

/**
 * The layout for a model whose rows travel as float32 values (`packsFloat32`: every feature float or
 * int, one input tensor), so the packed values are the very ones `validateInstances` gives; undefined for
 * any other model, or when a key could not be matched by its bytes alone (see `byteKey`).
 */
export function jsonLayout(m: ModelManifest, idColumn: string): JsonLayout | undefined {
  if (m.input.kind !== 'tabular' || !packsFloat32(m)) return undefined;
  const features = m.input.features;
  const names = [...features.map((f) => f.name), idColumn];
  if (new Set(names).size !== names.length || !names.every(byteKey)) return undefined;
  const keys = names.map((n) => new Uint8Array(Buffer.from(`${n}"`, 'utf8')));
  const words = keys.map((k) => Int32Array.from({ length: k.length >> 2 }, (_, j) => new DataView(k.buffer).getInt32(4 * j, true)));
  const size = 2 ** Math.ceil(Math.log2(4 * keys.length));
  const table = new Int32Array(size);
  keys.forEach((k, i) => {
    let slot = keyHash(k, 0, k.length - 1) & (size - 1);
    while (table[slot] !== 0) slot = (slot + 1) & (size - 1);
    table[slot] = i + 1;
  });
  return {
    manifest: m,
    idColumn,
    keys,
    words,
    isInt: Uint8Array.from(features, (f) => (f.type === 'int' ? 1 : 0)),
    nullable: Uint8Array.from(features, (f) => (f.nullable === true ? 1 : 0)),
    table,
  };
}

/**
 * A name whose key stands in a line as its own UTF-8 bytes (no quote, backslash or control character,
 * which JSON escapes; well-formed text) and means nothing else to the contract: not a name every object
 * answers (`toString`, `__proto__`: `in` and indexing find those on any object) and not `s3Key`.
 */
function byteKey(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 32 || c === QUOTE || c === BACKSLASH) return false;
  }
  return Buffer.from(name, 'utf8').toString('utf8') === name && !(name in Object.prototype) && name !== 's3Key';
}

function keyHash(b: Uint8Array, s: number, e: number): number {
  let h = 0;
  for (let i = s; i < e; i++) h = (Math.imul(h, 31) + (b[i] as number)) | 0; // i < e <= b.length
  return h;
}

const TAB = 9;
const NL = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const BACKSLASH = 92;
const ARRAY_OPEN = 91;
const ARRAY_CLOSE = 93;
const OBJECT_OPEN = 123;
const OBJECT_CLOSE = 125;

/** Where the last `jsonNumber`, value or key read stopped: the byte after it. */
let end = 0;

/** Text of ids that are not plain ASCII, decoded as the whole chunk would be (a leading U+FEFF kept). */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * A number in JSON's syntax (`-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`) at `p`, ended by white space,
 * `,`, `]`, `}` or the end of the bytes: its double, exactly what `JSON.parse` gives, with `end` after it;
 * NaN when the bytes are no such number (the line goes to `JSON.parse` for its verdict). Plain decimals
 * are the CSV reader's (`plainDecimal`), exponents its `scanNumber`; the numbers neither reads exactly
 * (over 15 digits, exponents beyond ±22) go to `Number`, or with `float32` (the value is only stored as
 * float32) to `longFloat32` first, which gives that double's float32 value.
 */
export function jsonNumber(b: Uint8Array, p: number, float32 = false): number {
  let i = p;
  if (b[i] === MINUS) i++;
  const first = b[i] as number; // reads past the end are undefined, which no test below takes
  if (first === ZERO) {
    const next = b[i + 1] as number;
    if (next >= ZERO && next <= NINE) return Number.NaN;
  } else if (!(first > ZERO && first <= NINE)) return Number.NaN;
  let e = plainDecimal(b, p, DECIMAL, 0, false);
  let v = e < 0 ? Number.NaN : (DECIMAL[0] as number);
  if (e < 0) e = ~e;
  if (b[e - 1] === DOT) return Number.NaN;
  let c = b[e] as number;
  if (c === 101 || c === 69) {
    c = b[++e] as number;
    if (c === 43 || c === MINUS) c = b[++e] as number;
    if (!(c >= ZERO && c <= NINE)) return Number.NaN;
    while (c >= ZERO && c <= NINE) c = b[++e] as number;
    v = scanNumber(b, p, e);
  }
  // A number ends where JSON's grammar lets a value end, or the bytes do.
  if (!(c === COMMA || c === ARRAY_CLOSE || c === OBJECT_CLOSE || c === SPACE || c === TAB || c === CR || c === NL || e >= b.length))
    return Number.NaN;
  if (Number.isNaN(v) && float32) v = longFloat32(b, p, e);
  if (Number.isNaN(v)) v = Number(latin1(b, p, e));
  end = e;
  return v;
}

/** Where `plainDecimal` leaves the value it reads. */
const DECIMAL = new Float64Array(1);

/** 2^-47: a margin far wider than the rounding errors of `longFloat32`'s sums (at most 14 units of 2^-53). */
const MARGIN = 2 ** -47;

/**
 * The float32 value of the double `JSON.parse` gives for a number the exact readers leave (`b[p, e)`, its
 * grammar already checked: over 15 digits, as doubles are written at full precision, or an exponent beyond
 * ±22), found without making a string. Its first 19 significant digits are
 * summed and scaled in doubles, which leaves the sum within a few units of 2^-53 of the number, and so of
 * that double; when every value within `MARGIN` of the sum rounds to one float32 (rounding is monotonic),
 * the double does too. NaN when a float32 rounding boundary lies that close (about one number in 10^7):
 * the caller then reads the double with `Number`.
 */
export function longFloat32(b: Uint8Array, p: number, e: number): number {
  let i = p;
  const neg = b[i] === MINUS;
  if (neg) i++;
  let m = 0;
  let digits = 0;
  let q = 0;
  let c = b[i] as number; // i < e until the number's last byte; then the byte after it, no digit
  for (; c >= ZERO && c <= NINE; c = b[++i] as number) {
    if (digits === 0 && c === ZERO) continue;
    if (digits < 19) {
      m = m * 10 + (c - ZERO);
      digits++;
    } else q++; // a dropped digit of the whole part
  }
  if (c === DOT)
    for (c = b[++i] as number; c >= ZERO && c <= NINE; c = b[++i] as number) {
      if (digits === 0 && c === ZERO) q--;
      else if (digits < 19) {
        m = m * 10 + (c - ZERO);
        digits++;
        q--;
      }
    }
  if (i < e) {
    // The exponent (`e`, a sign, digits), capped where it no longer matters.
    c = b[++i] as number;
    const eneg = c === MINUS;
    if (eneg || c === 43) c = b[++i] as number;
    let x = 0;
    for (; c >= ZERO && c <= NINE; c = b[++i] as number) if (x < 10_000) x = x * 10 + (c - ZERO);
    q += eneg ? -x : x;
  }
  // Beyond 10^110 every float32 is Infinity, and below 10^-92 (19 digits, 10^-111) zero.
  if (digits === 0 || q < -110) return neg ? -0 : 0;
  if (q > 110) return neg ? -Infinity : Infinity;
  // At most five steps by exact powers of ten (POW10 holds 10^0 to 10^22), one rounding each.
  let y = m;
  for (; q > 22; q -= 22) y *= 1e22;
  for (; q < -22; q += 22) y /= 1e22;
  y = q >= 0 ? y * (POW10[q] as number) : y / (POW10[-q] as number);
  const low = Math.fround(y * (1 - MARGIN));
  if (low !== Math.fround(y * (1 + MARGIN))) return Number.NaN;
  return neg ? -low : low;
}

/** The bytes `latin1` last read, as a Buffer (made once per chunk, not once per number). */
let textBytes: Uint8Array | undefined;
let textBuffer: Buffer = Buffer.alloc(0);

/** `b[p, e)` as text, one character a byte. */
function latin1(b: Uint8Array, p: number, e: number): string {
  if (b !== textBytes) {
    textBytes = b;
    textBuffer = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }
  return textBuffer.toString('latin1', p, e);
}

/** The first byte at or after `i` that is not JSON white space within a line (space, tab, CR). */
function skipSpace(b: Uint8Array, i: number): number {
  let c = b[i];
  while (c === SPACE || c === TAB || c === CR) c = b[++i];
  return i;
}

/** Whether the bytes at `p` are `key` (with its closing quote), `words` its whole words: four bytes a compare. */
function keyAt(b: Uint8Array, view: DataView, p: number, key: Uint8Array, words: Int32Array): boolean {
  const n = key.length;
  if (p + n > b.length) return false;
  const whole = words.length;
  for (let j = 0; j < whole; j++) if (view.getInt32(p + 4 * j, true) !== words[j]) return false;
  for (let j = 4 * whole; j < n; j++) if (b[p + j] !== key[j]) return false;
  return true;
}

/** Reads the commonest lines into packed rows; the caller hands it every non-blank line in turn. */
class LineReader {
  /** The id of the last line read, when it is no byte range (`idSpans` start -1): a number or a text. */
  id: string | number = 0;
  private readonly f: number;
  private readonly mask: number;
  /** Per feature, the object line (`stamp`) that last gave it a value: a repeated key is caught. */
  private readonly seen: Int32Array;
  private stamp = 0;
  private readonly view: DataView;

  constructor(
    private readonly layout: JsonLayout,
    private readonly b: Uint8Array,
    private readonly packed: Float32Array,
    private readonly idSpans: Int32Array,
  ) {
    this.f = layout.isInt.length;
    this.mask = layout.table.length - 1;
    this.seen = new Int32Array(this.f);
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /**
   * Reads the line whose first byte (not white space) is at `s` as packed row `row`, numbered `line`
   * when it has no id. Returns where the line ends (its LF, or the end of the bytes), or -1 when the line
   * is of any other shape: the caller then hands it to `JSON.parse`, and rewrites the row and its id.
   */
  read(s: number, row: number, line: number): number {
    const b = this.b;
    const f = this.f;
    const base = row * f;
    this.idSpans[2 * row] = -1;
    this.id = line;
    let i = s;
    const open = b[i];
    if (open === ARRAY_OPEN) {
      for (let k = 0; k < f; k++) {
        if (!this.value(skipSpace(b, i + 1), k, base)) return -1;
        i = skipSpace(b, end);
        if (b[i] !== (k === f - 1 ? ARRAY_CLOSE : COMMA)) return -1;
      }
    } else if (open === OBJECT_OPEN) {
      const stamp = ++this.stamp;
      const seen = this.seen;
      let count = 0;
      let expected = 0;
      let withId = false;
      i = skipSpace(b, i + 1);
      for (;;) {
        if (b[i] !== QUOTE) return -1;
        const k = this.key(i + 1, expected, withId);
        if (k < 0) return -1;
        i = skipSpace(b, end);
        if (b[i] !== COLON) return -1;
        i = skipSpace(b, i + 1);
        if (k === f) {
          if (withId || !this.idValue(i, row)) return -1;
          withId = true;
        } else {
          if (seen[k] === stamp || !this.value(i, k, base)) return -1;
          seen[k] = stamp;
          count++;
          expected = k + 1;
        }
        i = skipSpace(b, end);
        const c = b[i];
        if (c === OBJECT_CLOSE) break;
        if (c !== COMMA) return -1;
        i = skipSpace(b, i + 1);
      }
      if (count !== f) return -1;
    } else return -1;
    i = skipSpace(b, i + 1);
    return i >= b.length || b[i] === NL ? i : -1;
  }

  /** Feature `k`'s value at `i` into the packed row (`end` after it), or false when the contract would not take it as it stands. */
  private value(i: number, k: number, base: number): boolean {
    const b = this.b;
    if (b[i] === 110) {
      // `null`: a missing value, for a nullable feature only.
      if (this.layout.nullable[k] !== 1 || b[i + 1] !== 117 || b[i + 2] !== 108 || b[i + 3] !== 108) return false;
      this.packed[base + k] = Number.NaN;
      end = i + 4;
      return true;
    }
    const isInt = this.layout.isInt[k] === 1;
    // An int's value must be the exact double (a safe integer or not); a float's only its float32.
    const v = jsonNumber(b, i, !isInt);
    // The contract's checks (`isFeatureValue`): `!(|v| < bound)` also holds for NaN.
    if (isInt ? !Number.isSafeInteger(v) : !(Math.abs(v) < FLOAT32_ROUNDS_FINITE_BELOW)) return false;
    this.packed[base + k] = v;
    return true;
  }

  /**
   * The key whose text starts at `p`: a feature's index, `f` for the id key, or -1 for any other (unknown,
   * escaped, malformed), with `end` after its closing quote. Keys mostly come in the manifest's order, so
   * the one after the last is tried first, then the id, then any.
   */
  private key(p: number, expected: number, withId: boolean): number {
    const b = this.b;
    const view = this.view;
    const { keys, words } = this.layout;
    const f = this.f;
    if (expected < f) {
      const key = keys[expected] as Uint8Array; // expected < f < keys.length
      if (keyAt(b, view, p, key, words[expected] as Int32Array)) {
        end = p + key.length;
        return expected;
      }
    }
    const id = keys[f] as Uint8Array; // the id key is last
    if (!withId && keyAt(b, view, p, id, words[f] as Int32Array)) {
      end = p + id.length;
      return f;
    }
    let h = 0;
    let j = p;
    let c = b[j] as number;
    while (c !== QUOTE) {
      if (c === BACKSLASH || !(c >= SPACE)) return -1; // an escape, a control character, the line's end
      h = (Math.imul(h, 31) + c) | 0;
      c = b[++j] as number;
    }
    const table = this.layout.table;
    for (let slot = h & this.mask; table[slot] !== 0; slot = (slot + 1) & this.mask) {
      const k = (table[slot] as number) - 1; // slot <= mask < table.length
      const key = keys[k] as Uint8Array; // table entries index keys and words
      if (key.length === j + 1 - p && keyAt(b, view, p, key, words[k] as Int32Array)) {
        end = j + 1;
        return k;
      }
    }
    return -1;
  }

  /**
   * The id at `i`: a non-empty string without escapes or control characters (a byte range when it is
   * printable ASCII without a comma, written as it stands in CSV and JSON; else its text) or a number.
   */
  private idValue(i: number, row: number): boolean {
    const b = this.b;
    if (b[i] !== QUOTE) {
      const v = jsonNumber(b, i);
      if (Number.isNaN(v)) return false;
      this.id = v;
      return true;
    }
    let plain = true;
    let j = i + 1;
    let c = b[j] as number;
    while (c !== QUOTE) {
      if (c === BACKSLASH || !(c >= SPACE)) return false;
      if (c >= 127 || c === COMMA) plain = false;
      c = b[++j] as number;
    }
    if (j === i + 1) return false;
    if (plain) {
      this.idSpans[2 * row] = i + 1;
      this.idSpans[2 * row + 1] = j;
    } else this.id = utf8.decode(b.subarray(i + 1, j));
    end = j + 1;
    return true;
  }
}

/**
 * Parses JSON Lines of a model `layout` serves into packed rows, plain ids left as byte ranges
 * (`idSpans`), as `scanCsvChunk` does for CSV; `lines` and `spare` as there. The rows, values, ids and
 * rejects are those `parseJsonChunk` gives for the same bytes, the values packed instead of instances.
 */
export function scanJsonChunk(layout: JsonLayout, b: Uint8Array, firstLine: number, lines?: number, spare?: Float32Array): ParsedChunk {
  const f = layout.isInt.length;
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let capacity = lines ?? 1;
  if (lines === undefined) for (let i = buf.indexOf(NL); i !== -1; i = buf.indexOf(NL, i + 1)) capacity++;
  const packed = spare?.length === capacity * f ? spare : new Float32Array(capacity * f);
  const idSpans = new Int32Array(capacity * 2);
  const reader = new LineReader(layout, b, packed, idSpans);
  const ids: (string | number)[] = [];
  const accepted: number[] = [];
  const rejects: Reject[] = [];
  let rows = 0;
  let line = firstLine;
  let s = 0;
  while (s < b.length) {
    const at = line++;
    const start = skipSpace(b, s);
    if (start >= b.length || b[start] === NL) {
      s = start + 1;
      continue;
    }
    const row = accepted.length;
    let nl = reader.read(start, row, at);
    if (nl >= 0) {
      rows++;
      ids.push(idSpans[2 * row] === -1 ? reader.id : '');
      accepted.push(at);
    } else {
      nl = buf.indexOf(NL, start);
      if (nl === -1) nl = b.length;
      const one = parseJsonChunk(layout.manifest, layout.idColumn, utf8.decode(b.subarray(s, nl)), at);
      rows += one.rows;
      rejects.push(...one.rejects);
      const instance = one.instances?.[0];
      if (instance) {
        if (!('values' in instance) || !(instance.values instanceof Float32Array))
          throw new Error(`Line ${at}: a float32 model's instance came back without float32 values.`);
        packed.set(instance.values, row * f);
        idSpans[2 * row] = -1;
        ids.push(one.ids[0] as string | number); // one instance, one id
        accepted.push(at);
      }
    }
    s = nl + 1;
  }
  return { ids, idSpans, source: b, packed: packed.subarray(0, accepted.length * f), lines: accepted, rejects, rows };
}
