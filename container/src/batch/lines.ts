/**
 * Cuts a byte stream into chunks of whole records, `rows` records each (the last may be shorter), without
 * looking at the content beyond finding record ends: parsing is the workers' job. A record is a line,
 * except that in CSV a quoted cell may hold line breaks (RFC 4180, as the API reads it: contract/csv.ts),
 * so there a record ends at the first LF outside quotes. Each chunk is a copy in a buffer of its own
 * (which may be larger than the chunk), so it can be transferred to a worker, and handed back; the bytes
 * pushed are copied before `push` returns, so a reader may read the next bytes into the same buffer.
 */
const NL = 10;
const QUOTE = 34;
/** Recycled chunk buffers kept at most (as many as a run of a few workers has in hand at once). */
const MAX_SPARE = 16;
/** The least `space()` offers to read into (the first chunk of a stream has no size to go by). */
const MIN_READ = 1 << 16;

export interface LineChunk {
  readonly bytes: Uint8Array;
  /** 1-based line number of the chunk's first line. */
  readonly firstLine: number;
  /** Lines in the chunk (a record with quoted line breaks counts each of its lines). */
  readonly lines: number;
}

export class LineChunker {
  /** The buffer of the unfinished chunk, holding its first `pendingBytes` bytes (each byte is copied once, here). */
  private pending: Uint8Array | undefined;
  private pendingBytes = 0;
  /** Size of the last chunk cut: a new chunk's buffer is made for about as much. */
  private lastBytes = 0;
  /** Newlines in the unfinished chunk, and the records they end. */
  private lines = 0;
  private records = 0;
  private nextLine: number;
  /** Inside a quoted CSV cell at the end of the bytes pushed so far. */
  private open = false;
  /** Buffers of earlier chunks handed back (`recycle`), for the next chunks to be copied into. */
  private readonly spare: ArrayBuffer[] = [];

  /**
   * `firstLine`: line number of the first byte pushed (2 after a CSV header). `csv`: quotes may hide
   * line breaks (JSON Lines escapes them inside strings, so there every LF ends a record).
   */
  constructor(
    private readonly rows: number,
    firstLine = 1,
    private readonly csv = false,
  ) {
    this.nextLine = firstLine;
  }

  /** Feeds bytes; returns the chunks now complete. */
  push(data: Uint8Array): LineChunk[] {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out: LineChunk[] = [];
    let start = 0;
    for (let end = this.recordsEnd(buf, 0); end !== -1; end = this.recordsEnd(buf, start)) {
      out.push(this.cut(buf.subarray(start, end)));
      start = end;
    }
    if (start < buf.length) this.keep(buf.subarray(start));
    return out;
  }

  /**
   * Room to read the next bytes of the stream straight into, at the end of the unfinished chunk's
   * buffer: about what the chunk still lacks when it will be as large as the last one, and a little
   * more, so a read mostly ends just past the chunk's last line. Read into it, then `commit`.
   */
  space(): Uint8Array {
    const lacking = this.lastBytes - this.pendingBytes;
    const want = Math.max(lacking + (this.lastBytes >> 5), MIN_READ);
    const whole = this.room(this.pendingBytes + want);
    return whole.subarray(this.pendingBytes, this.pendingBytes + want);
  }

  /**
   * Takes the `n` bytes just read into `space()`; returns the chunks now complete. Only the bytes read
   * past a chunk's end are copied, into the next chunk's buffer: the rest are never copied at all.
   */
  commit(n: number): LineChunk[] {
    const out: LineChunk[] = [];
    let whole = this.pending;
    if (!whole || n === 0) return out;
    let from = this.pendingBytes;
    let to = from + n;
    this.pendingBytes = to;
    for (;;) {
      const buf: Buffer = Buffer.from(whole.buffer, whole.byteOffset, to);
      const end = this.recordsEnd(buf, from);
      if (end === -1) return out;
      const rest: Buffer = buf.subarray(end, to);
      const next: Uint8Array | undefined = rest.length > 0 ? this.alloc(Math.max(rest.length, this.lastBytes, end)) : undefined;
      if (next) next.set(rest);
      out.push(this.cut(new Uint8Array(0), end));
      if (!next) return out;
      whole = new Uint8Array(next.buffer, 0, next.buffer.byteLength);
      this.pending = whole;
      this.pendingBytes = rest.length;
      from = 0;
      to = rest.length;
    }
  }

  /**
   * Scans `buf` from `pos` (up to `buf.length`) for record ends, counting lines and records of the
   * unfinished chunk; returns the end (after its LF) of the record that completes the chunk, or -1
   * when the bytes end first.
   */
  private recordsEnd(buf: Buffer, pos: number): number {
    // The next quote at or after `pos` (buf.length: none). Found once per quote, so quote-free data
    // costs one search per call.
    let quote = this.csv ? -1 : buf.length;
    for (;;) {
      const nl = buf.indexOf(NL, pos);
      if (quote < pos) {
        const q = buf.indexOf(QUOTE, pos);
        quote = q === -1 ? buf.length : q;
      }
      if (quote < buf.length && (nl === -1 || quote < nl)) {
        // `""` inside a quoted cell closes and reopens it, which leaves it open, as it should.
        this.open = !this.open;
        pos = quote + 1;
        continue;
      }
      if (nl === -1) return -1;
      pos = nl + 1;
      this.lines++;
      if (this.open) continue; // a line break inside a quoted cell
      if (++this.records === this.rows) return pos;
    }
  }

  /** The rest, at the end of the stream (a last line without a newline counts). */
  end(): LineChunk[] {
    if (this.pendingBytes === 0 || this.pending === undefined) return [];
    if (this.pending[this.pendingBytes - 1] !== NL) this.lines++;
    return [this.cut(new Uint8Array(0))];
  }

  /**
   * Hands back the buffer of a chunk whose bytes are no longer read, to hold a later chunk: a fresh
   * buffer of a few hundred kilobytes per chunk costs more to allocate and fault in than to fill.
   */
  recycle(buffer: ArrayBuffer): void {
    if (this.spare.length < MAX_SPARE) this.spare.push(buffer);
  }

  /**
   * `n` bytes for a chunk: the last recycled buffer when it is large enough, else a new one with some slack
   * (a recycled buffer too small for this chunk is dropped: chunks of a run are mostly alike, so it would
   * seldom fit a later one either).
   */
  private alloc(n: number): Uint8Array {
    const buffer = this.spare.pop();
    if (buffer && buffer.byteLength >= n) return new Uint8Array(buffer, 0, n);
    return new Uint8Array(new ArrayBuffer(n + (n >> 3)), 0, n);
  }

  /** Room for `n` bytes in the unfinished chunk's buffer: a larger one when it is full (what it holds copied over). */
  private room(n: number): Uint8Array {
    const held = this.pending;
    if (held && held.length >= n) return held;
    const next = this.alloc(Math.max(n, this.lastBytes, held ? 2 * held.length : 0));
    const whole = new Uint8Array(next.buffer, 0, next.buffer.byteLength);
    if (held && this.pendingBytes > 0) whole.set(held.subarray(0, this.pendingBytes));
    this.pending = whole;
    return whole;
  }

  /** Copies the start of a chunk into its buffer. */
  private keep(bytes: Uint8Array): void {
    this.room(this.pendingBytes + bytes.length).set(bytes, this.pendingBytes);
    this.pendingBytes += bytes.length;
  }

  /**
   * The chunk: the bytes kept so far and `tail`, in a buffer of the chunk's own (not shared with another
   * chunk); or, with `held`, the first `held` bytes of the unfinished chunk's buffer (`commit`).
   */
  private cut(tail: Uint8Array, held?: number): LineChunk {
    const n = held ?? this.pendingBytes + tail.length;
    const whole = held === undefined ? this.room(n) : (this.pending as Uint8Array); // commit() holds one
    if (held === undefined) whole.set(tail, this.pendingBytes);
    const chunk = { bytes: new Uint8Array(whole.buffer, 0, n), firstLine: this.nextLine, lines: this.lines };
    this.nextLine += this.lines;
    this.lastBytes = n;
    this.pending = undefined;
    this.pendingBytes = 0;
    this.lines = 0;
    this.records = 0;
    return chunk;
  }
}

/**
 * The end of the CSV record starting at `s`: the first LF outside quotes, or `b.length` when there is
 * none (the last record, or a quote never closed, which the contract's parser then refuses).
 */
export function csvRecordEnd(b: Buffer, s: number): number {
  let open = false;
  let i = s;
  for (;;) {
    const q = b.indexOf(QUOTE, i);
    if (!open) {
      const nl = b.indexOf(NL, i);
      if (nl !== -1 && (q === -1 || nl < q)) return nl;
      if (q === -1) return b.length;
    } else if (q === -1) return b.length;
    open = !open;
    i = q + 1;
  }
}

/**
 * Finds CSV record ends in one buffer, line by line: a record whose first line holds no quote ends with
 * that line, at the cost of one quote search per quote in the buffer, not per line.
 */
export class CsvRecords {
  /** The next quote at or after the last record start (b.length: none). */
  private quote = -1;

  constructor(private readonly b: Buffer) {}

  /** The end of the record starting at `s`, whose first line ends at `nl`. */
  end(s: number, nl: number): number {
    if (this.quote < s) {
      const q = this.b.indexOf(QUOTE, s);
      this.quote = q === -1 ? this.b.length : q;
    }
    return this.quote < nl ? csvRecordEnd(this.b, s) : nl;
  }
}

/** Line breaks in `b[s, e)`: the extra lines a record with quoted line breaks spans. */
export function countLines(b: Buffer, s: number, e: number): number {
  let n = 0;
  for (let i = b.indexOf(NL, s); i !== -1 && i < e; i = b.indexOf(NL, i + 1)) n++;
  return n;
}

/**
 * Reads the first record of a CSV stream (its header; quoted cells may hold line breaks) and gives back
 * the bytes after it, so the rest of the stream is read as usual, and its size with its line break. Headers longer than `maxBytes` are
 * refused.
 */
export async function readFirstLine(
  chunks: AsyncIterator<Uint8Array>,
  maxBytes = 1 << 20,
): Promise<{ line: string; rest: Buffer; lines: number; bytes: number }> {
  let buf = Buffer.alloc(0);
  for (;;) {
    const nl = csvRecordEnd(buf, 0);
    if (nl < buf.length)
      return {
        line: buf.toString('utf8', 0, nl).replace(/\r$/, ''),
        rest: buf.subarray(nl + 1),
        lines: 1 + countLines(buf, 0, nl),
        bytes: nl + 1,
      };
    if (buf.length > maxBytes) throw new Error(`The first line is longer than ${maxBytes} bytes: is this a CSV file with a header?`);
    const next = await chunks.next();
    if (next.done) return { line: buf.toString('utf8').replace(/\r$/, ''), rest: Buffer.alloc(0), lines: 1, bytes: buf.length };
    buf = Buffer.concat([buf, next.value]);
  }
}
