/**
 * Cuts a byte stream into chunks of whole lines, `rows` lines each (the last may be shorter), without
 * looking at the content beyond finding newlines: parsing is the workers' job. Each chunk is a fresh
 * copy that owns its buffer, so it can be transferred to a worker.
 */
const NL = 10;

export interface LineChunk {
  readonly bytes: Uint8Array;
  /** 1-based line number of the chunk's first line. */
  readonly firstLine: number;
  readonly lines: number;
}

export class LineChunker {
  /** Bytes of the unfinished chunk, still in the stream's own buffers (copied once, when the chunk is cut). */
  private pieces: Uint8Array[] = [];
  private pieceBytes = 0;
  /** Newlines in `pieces`. */
  private lines = 0;
  private nextLine: number;

  /** `firstLine`: line number of the first byte pushed (2 after a CSV header). */
  constructor(
    private readonly rows: number,
    firstLine = 1,
  ) {
    this.nextLine = firstLine;
  }

  /** Feeds bytes; returns the chunks now complete. */
  push(data: Uint8Array): LineChunk[] {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out: LineChunk[] = [];
    let start = 0;
    let pos = 0;
    for (;;) {
      const nl = buf.indexOf(NL, pos);
      if (nl === -1) break;
      pos = nl + 1;
      if (++this.lines === this.rows) {
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

  /** One copy of the pending pieces and `tail` into a buffer of the chunk's own. */
  private cut(tail: Uint8Array): LineChunk {
    const bytes = new Uint8Array(this.pieceBytes + tail.length);
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
    return chunk;
  }
}

/**
 * Reads the first line of a stream (a CSV header) and gives back the bytes after it, so the rest of
 * the stream is read as usual. Lines longer than `maxBytes` are refused.
 */
export async function readFirstLine(chunks: AsyncIterator<Uint8Array>, maxBytes = 1 << 20): Promise<{ line: string; rest: Buffer }> {
  let buf = Buffer.alloc(0);
  for (;;) {
    const nl = buf.indexOf(NL);
    if (nl !== -1) return { line: buf.toString('utf8', 0, nl).replace(/\r$/, ''), rest: buf.subarray(nl + 1) };
    if (buf.length > maxBytes) throw new Error(`The first line is longer than ${maxBytes} bytes: is this a CSV file with a header?`);
    const next = await chunks.next();
    if (next.done) return { line: buf.toString('utf8').replace(/\r$/, ''), rest: Buffer.alloc(0) };
    buf = Buffer.concat([buf, next.value]);
  }
}
