/**
 * Cuts a byte stream into chunks of whole records, `rows` records each (the last may be shorter), without
 * looking at the content beyond finding record ends: parsing is the workers' job. A record is a line,
 * except that in CSV a quoted cell may hold line breaks (RFC 4180, as the API reads it: contract/csv.ts),
 * so there a record ends at the first LF outside quotes. Each chunk is a copy in a buffer of its own
 * (which may be larger than the chunk), so it can be transferred to a worker, and handed back.
 */
const NL = 10;
const QUOTE = 34;
/** Recycled chunk buffers kept at most (as many as a run of a few workers has in hand at once). */
const MAX_SPARE = 16;

export interface LineChunk {
  readonly bytes: Uint8Array;
  /** 1-based line number of the chunk's first line. */
  readonly firstLine: number;
  /** Lines in the chunk (a record with quoted line breaks counts each of its lines). */
  readonly lines: number;
}

export class LineChunker {
  /** Bytes of the unfinished chunk, still in the stream's own buffers (copied once, when the chunk is cut). */
  private pieces: Uint8Array[] = [];
  private pieceBytes = 0;
  /** Newlines in `pieces`, and the records they end. */
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
    let pos = 0;
    // The next quote at or after `pos` (buf.length: none). Found once per quote, so quote-free data
    // costs one search per buffer.
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
      if (nl === -1) break;
      pos = nl + 1;
      this.lines++;
      if (this.open) continue; // a line break inside a quoted cell
      if (++this.records === this.rows) {
        out.push(this.cut(buf.subarray(start, pos)));
        start = pos;
      }
    }
    if (start < buf.length) {
      this.pieces.push(buf.subarray(start));
      this.pieceBytes += buf.length - start;
    }
    return out;
  }

  /** The rest, at the end of the stream (a last line without a newline counts). */
  end(): LineChunk[] {
    const last = this.pieces.at(-1);
    if (this.pieceBytes === 0 || last === undefined) return [];
    if (last.at(-1) !== NL) this.lines++;
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

  /** One copy of the pending pieces and `tail` into a buffer of the chunk's own (not shared with another chunk). */
  private cut(tail: Uint8Array): LineChunk {
    const bytes = this.alloc(this.pieceBytes + tail.length);
    let at = 0;
    for (const p of this.pieces) {
      bytes.set(p, at);
      at += p.length;
    }
    bytes.set(tail, at);
    const chunk = { bytes, firstLine: this.nextLine, lines: this.lines };
    this.nextLine += this.lines;
    this.pieces = [];
    this.pieceBytes = 0;
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
 * the bytes after it, so the rest of the stream is read as usual. Headers longer than `maxBytes` are
 * refused.
 */
export async function readFirstLine(
  chunks: AsyncIterator<Uint8Array>,
  maxBytes = 1 << 20,
): Promise<{ line: string; rest: Buffer; lines: number }> {
  let buf = Buffer.alloc(0);
  for (;;) {
    const nl = csvRecordEnd(buf, 0);
    if (nl < buf.length)
      return { line: buf.toString('utf8', 0, nl).replace(/\r$/, ''), rest: buf.subarray(nl + 1), lines: 1 + countLines(buf, 0, nl) };
    if (buf.length > maxBytes) throw new Error(`The first line is longer than ${maxBytes} bytes: is this a CSV file with a header?`);
    const next = await chunks.next();
    if (next.done) return { line: buf.toString('utf8').replace(/\r$/, ''), rest: Buffer.alloc(0), lines: 1 };
    buf = Buffer.concat([buf, next.value]);
  }
}
