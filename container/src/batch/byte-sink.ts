/**
 * A growing byte buffer the batch workers write answers into: ASCII, copied byte ranges and numbers go
 * straight in, with no string per cell. `float9` writes exactly what `Number.prototype.toPrecision(9)`
 * writes, so the bytes are the ones the string formatter (`format.ts`) gives.
 */

const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const NEG10 = Array.from({ length: 23 }, (_, i) => Number(`1e-${i}`));
const utf8 = new TextEncoder();
/** Buffers handed back kept at most (as many as a run has answers in hand at once). */
const MAX_SPARE = 16;

export class ByteSink {
  private buf: Uint8Array;
  private at = 0;
  /** The buffer as a DataView, for writers that put in several bytes at once. */
  private dataView: DataView;

  /** Buffers handed back (`recycle`), each to replace the sink's own when `take()` hands that out. */
  private readonly spare: ArrayBuffer[] = [];

  constructor(initialBytes = 1 << 16) {
    this.buf = new Uint8Array(initialBytes);
    this.dataView = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.at;
  }

  /** Makes room for `n` more bytes. */
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.dataView = new DataView(next.buffer);
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.at++] = c;
  }

  /** Bytes already encoded (a label, a JSON key). */
  bytes(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    this.room(n);
    const b = this.buf;
    if (n > 32) {
      b.set(src.subarray(start, end), this.at);
      this.at += n;
      return;
    }
    // A view per short copy costs more than the copy.
    let at = this.at;
    for (let i = start; i < end; i++) b[at++] = src[i] as number; // i < end <= src.length
    this.at = at;
  }

  /** Any text, as UTF-8. */
  text(s: string): void {
    this.room(s.length * 3);
    this.at += utf8.encodeInto(s, this.buf.subarray(this.at)).written;
  }

  /** A non-negative integer below 2^53, in decimal. */
  uint(v: number): void {
    if (v < 10) {
      this.byte(48 + v);
      return;
    }
    this.text(String(v));
  }

  /** `v.toPrecision(9)` for finite `v`, `null` otherwise (the formatter's rule for a broken model's answer). */
  float9(v: number): void {
    this.room(FLOAT9_BYTES);
    this.at = writeFloat9(this.buf, this.dataView, this.at, v);
  }

  /**
   * Room for `n` more bytes, and the buffer to write them into from `length` on, followed by `advance`:
   * for writers that put a whole line in with one check for room.
   */
  reserve(n: number): Uint8Array {
    this.room(n);
    return this.buf;
  }

  /** `reserve`'s buffer as a DataView (valid until the next call that may make room). */
  get view(): DataView {
    return this.dataView;
  }

  /** Marks the bytes up to `at` (written into `reserve`'s buffer) as written. */
  advance(at: number): void {
    this.at = at;
  }

  /**
   * The bytes written, in a buffer of their own (transferable), and a fresh start: the sink's own buffer
   * when one handed back (`recycle`) can take its place, else a copy in a buffer with some room to spare,
   * so that, handed back, it holds the answers to a chunk a little larger.
   */
  take(): Uint8Array {
    const spare = this.spare.pop();
    if (!spare) {
      const copy = new Uint8Array(new ArrayBuffer(this.at + (this.at >> 3)), 0, this.at);
      copy.set(this.buf.subarray(0, this.at));
      this.at = 0;
      return copy;
    }
    const out = this.buf.subarray(0, this.at);
    this.buf = new Uint8Array(spare);
    this.dataView = new DataView(spare);
    this.at = 0;
    return out;
  }

  /** Takes back the buffer of an earlier `take()` whose bytes have been written out, to write into again. */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength > 0 && this.spare.length < MAX_SPARE) this.spare.push(buffer);
  }
}

/** Room `writeFloat9` may need: `toPrecision(9)` of a double is at most 16 characters (`-1.23456789e-308`). */
export const FLOAT9_BYTES = 24;

/**
 * Writes `v.toPrecision(9)` for finite `v`, `null` otherwise, at `b[at]` (with `FLOAT9_BYTES` of room);
 * returns the end. `view` is `b` as a DataView (same buffer, both from its byte 0). A float32 from 1e-4
 * to 1 (a probability) is written here, as `writeFloat32Precision9` does, so that this stays small
 * enough for V8 to inline into the writers' loops; anything else is handed on.
 */
export function writeFloat9(b: Uint8Array, view: DataView, at: number, v: number): number {
  const a = v < 0 ? -v : v;
  if (a >= 1e-4 && a < 1 && Math.fround(a) === a) {
    // Without branches on the number's value (probabilities are random: a mispredicted branch costs
    // as much as the arithmetic): the exponent guess as a sum of comparisons, and the rounding as
    // floor(scaled + 0.5). That sum is exact: scaled (exact, below 2^30) and 0.5 are multiples of the
    // unit in the last place of scaled's binade; a sum crossing into the next binade (scaled at least
    // 2^m - 0.5, so it rounds up to the integer 2^m) lands, rounded, in [2^m, 2^m + 1): floored, 2^m.
    let k = 9 + Number(a < 0.1) + Number(a < 0.01) + Number(a < 0.001);
    let scaled = a * (POW10[k] as number); // 9 <= k <= 12 < POW10.length
    if (scaled < 1e8) scaled = a * (POW10[++k] as number); // k <= 13 < POW10.length
    if (k <= 12 && scaled >= 1e8 && scaled < 1e9) {
      const digits = Math.floor(scaled + 0.5);
      if (digits < 1e9) return writeFraction9(b, view, v < 0 ? writeMinus(b, at) : at, digits | 0, k);
    }
  }
  return writeOtherFloat9(b, view, at, v, a);
}

function writeMinus(b: Uint8Array, at: number): number {
  b[at] = 45;
  return at + 1;
}

/** `writeFloat9` for what it does not write itself (`a = |v|`). */
function writeOtherFloat9(b: Uint8Array, view: DataView, at: number, v: number, a: number): number {
  if (a >= 1e-4 && a < 1e9 && Math.fround(a) === a) {
    const end = writeFloat32Precision9(b, view, at, v, a);
    if (end > 0) return end;
  }
  if (!Number.isFinite(v)) return at + utf8.encodeInto('null', b.subarray(at)).written;
  const n = writePrecision9(b, at, v);
  return n > 0 ? at + n : at + utf8.encodeInto(v.toPrecision(9), b.subarray(at)).written;
}

/**
 * `v.toPrecision(9)` for a float32 `v` with `a = |v|` in [1e-4, 1e9), written at `b[at]`; returns the
 * end, or 0 when `a` is out of the exact range (never for such a float32; the caller then goes the
 * general way). Exact, with no rounding guard: a float32 is `m * 2^q` with `m < 2^24`, and `10^k` is
 * `5^k * 2^k`, so for `0 <= k <= 12` the product `a * 10^k` is `m * 5^k * 2^(q+k)` with
 * `m * 5^k < 2^24 * 5^12 < 2^53`: a double holds it exactly, and so its floor and fraction. The nine
 * digits are then `round(a * 10^(8-e))`, a tie rounding up as `toPrecision` does (`n` the larger).
 * Exponents -4 to -1 (most probabilities) are written here, four digits per store; 0 to 8 with `writeDigits`.
 */
export function writeFloat32Precision9(b: Uint8Array, view: DataView, at: number, v: number, a: number): number {
  // k = 8 - e, e the decimal exponent: a guess, checked by the product's range.
  let k = a >= 0.1 ? 9 : a >= 0.01 ? 10 : a >= 0.001 ? 11 : 12;
  if (a >= 1) {
    let e = 0;
    while (e < 8 && a >= (POW10[e + 1] as number)) e++; // e + 1 <= 8 < POW10.length
    k = 8 - e;
  }
  let scaled = a * (POW10[k] as number); // 0 <= k <= 12 < POW10.length
  if (scaled < 1e8) {
    k++;
    scaled = a * (POW10[k] as number); // k <= 13 < POW10.length
  } else if (scaled >= 1e9) {
    k--;
    if (k < 0) return 0;
    scaled = a * (POW10[k] as number);
  }
  if (k > 12 || scaled < 1e8 || scaled >= 1e9) return 0;
  const floor = Math.floor(scaled);
  const digits = scaled - floor >= 0.5 ? floor + 1 : floor;
  // 1e9 would take a float32 within 5e-10 of a power of ten: its neighbours are 6e-8 apart.
  if (digits >= 1e9) return 0;
  let p = at;
  if (v < 0) b[p++] = 45;
  if (k <= 8) return writeDigits(b, p, digits, 9 - k);
  return writeFraction9(b, view, p, digits | 0, k); // digits < 1e9 < 2^31
}

/**
 * `0.` and `k - 9` zeros then the nine digits `d` (`0.dddddddd`, `0.0ddddddddd` … `0.000ddddddddd` for
 * k = 9 … 12) at `b[p]`; returns the end. "0.00" and a zero go in first, the digits from `p + k - 7` on,
 * four per store.
 */
function writeFraction9(b: Uint8Array, view: DataView, p: number, d: number, k: number): number {
  view.setUint32(p, ZERO_POINT_ZEROS, true);
  b[p + 4] = 48;
  const q = p + k - 7;
  const first = (d / 100000000) | 0;
  const rest = d - first * 100000000;
  const high = (rest / 10000) | 0;
  b[q] = 48 + first;
  view.setUint32(q + 1, DIGIT_QUADS[high] as number, true); // high < 10^4 = DIGIT_QUADS.length
  view.setUint32(q + 5, DIGIT_QUADS[rest - high * 10000] as number, true);
  return q + 9;
}

/** `0.00` as a little-endian 32-bit word. */
const ZERO_POINT_ZEROS = 0x30302e30;
/** Four-digit groups `0000`…`9999` as ASCII, each a little-endian 32-bit word. */
const DIGIT_QUADS = Uint32Array.from(
  { length: 10000 },
  (_, i) =>
    (48 + Math.floor(i / 1000)) |
    ((48 + (Math.floor(i / 100) % 10)) << 8) |
    ((48 + (Math.floor(i / 10) % 10)) << 16) |
    ((48 + (i % 10)) << 24),
);

/**
 * Writes `v.toPrecision(9)` (finite `v`) at `b[at]` and returns the bytes written, or 0 when the fast
 * way cannot be sure of the rounding, and the caller writes `toPrecision`'s own answer. The nine digits
 * are `round(|v| * 10^(8-e))`: one multiplication or division by an exact power of ten, off by at most
 * half a unit in the last place (6e-8 here), so unless the product lies within 1e-6 of a rounding tie
 * the rounded digits are the ones of the exact decimal value. Zero and exponents past ±22 go the slow way.
 */
export function writePrecision9(b: Uint8Array, at: number, v: number): number {
  const a = v < 0 ? -v : v;
  if (a === 0 || a < 1e-300) return 0;
  // A first guess at the decimal exponent (checked below): a table walk costs less than Math.log10.
  let e = 0;
  if (a < 1) {
    e = -1;
    while (e > -22 && a < (NEG10[-e] as number)) e--; // -e <= 22 < NEG10.length
  } else while (e < 22 && a >= (POW10[e + 1] as number)) e++; // e + 1 <= 22 < POW10.length
  let scaled = 0;
  for (let tries = 0; ; tries++) {
    const k = 8 - e;
    if (k > 22 || k < -22 || tries > 2) return 0;
    scaled = k >= 0 ? a * (POW10[k] as number) : a / (POW10[-k] as number); // |k| <= 22 < POW10.length
    if (scaled < 1e8) e--;
    else if (scaled >= 1e9) e++;
    else break;
  }
  const floor = Math.floor(scaled);
  const frac = scaled - floor;
  if (Math.abs(frac - 0.5) < 1e-6 || scaled - 1e8 < 1e-6 || 1e9 - scaled < 1e-6) return 0;
  let digits = frac > 0.5 ? floor + 1 : floor;
  if (digits === 1e9) {
    digits = 1e8;
    e++;
  }
  let p = at;
  if (v < 0) b[p++] = 45;
  if (e < -6 || e >= 9) {
    // d.dddddddde±x
    p = writeDigits(b, p, digits, 1);
    b[p++] = 101;
    b[p++] = e < 0 ? 45 : 43;
    const x = e < 0 ? -e : e;
    if (x >= 100) b[p++] = 48 + Math.floor(x / 100);
    if (x >= 10) b[p++] = 48 + (Math.floor(x / 10) % 10);
    b[p++] = 48 + (x % 10);
    return p - at;
  }
  if (e < 0) {
    b[p++] = 48;
    b[p++] = 46;
    for (let z = -1; z > e; z--) b[p++] = 48;
    p = writeDigits(b, p, digits, 0);
    return p - at;
  }
  p = writeDigits(b, p, digits, e + 1);
  return p - at;
}

/** Two-digit groups `00`…`99` as ASCII, for writing digits in pairs. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i % 2 === 0 ? Math.floor(i / 20) : (i >> 1) % 10));

/** The nine digits of `d` (1e8 <= d < 1e9), with a decimal point after `intDigits` of them (none after all nine). */
function writeDigits(b: Uint8Array, p: number, d: number, intDigits: number): number {
  // Two digits per division: d < 2^31, so the division by 100 stays in small integers.
  let rest = d | 0;
  for (let q = p + 7; q > p; q -= 2) {
    const next = (rest / 100) | 0;
    const pair = (rest - next * 100) << 1;
    b[q] = DIGIT_PAIRS[pair] as number; // pair <= 198 < DIGIT_PAIRS.length
    b[q + 1] = DIGIT_PAIRS[pair + 1] as number;
    rest = next;
  }
  b[p] = 48 + rest;
  if (intDigits <= 0 || intDigits >= 9) return p + 9;
  // The point goes in after `intDigits` digits: the ones after it move up one byte.
  for (let q = p + 9; q > p + intDigits; q--) b[q] = b[q - 1] as number;
  b[p + intDigits] = 46;
  return p + 10;
}

// Each branch of `writeFloat9` taken a few times as the module loads, so V8 has seen them all when it
// optimizes the function mid-run: a branch first taken then (a probability of exactly 1, a tiny one
// written with an exponent) would throw the optimized code away and have it compiled again.
const PRIMER = new Uint8Array(FLOAT9_BYTES);
const PRIMER_VIEW = new DataView(PRIMER.buffer);
for (let round = 0; round < 4; round++)
  for (const v of [0.5, 0.0732135773, 0.00258672237, 1, 1234.5678, 1e-7, 3.4e38, -2.5, 0, Number.NaN])
    for (const x of [v, Math.fround(v)]) writeFloat9(PRIMER, PRIMER_VIEW, 0, x);
