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
  private carry: Buffer = Buffer.alloc(0);
  /** Newlines already counted in `carry`, and where counting resumes. */
  private carryLines = 0;
  private scanFrom = 0;
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
    const buf = this.carry.length ? Buffer.concat([this.carry, data]) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out: LineChunk[] = [];
    let start = 0;
    let lines = this.carryLines;
    let pos = this.scanFrom;
    for (;;) {
      const nl = buf.indexOf(NL, pos);
      if (nl === -1) break;
      lines++;
      pos = nl + 1;
      if (lines === this.rows) {
        out.push(this.cut(buf, start, pos, lines));
        start = pos;
        lines = 0;
      }
    }
    // Keep the unfinished part; copy it so the stream's buffer can be freed.
    this.carry = Buffer.from(buf.subarray(start));
    this.carryLines = lines;
    this.scanFrom = pos - start;
    return out;
  }

  /** The rest, at the end of the stream (a last line without a newline counts). */
  end(): LineChunk[] {
    if (this.carry.length === 0) return [];
    const lines = this.carryLines + (this.carry[this.carry.length - 1] === NL ? 0 : 1);
    const chunk = this.cut(this.carry, 0, this.carry.length, lines);
    this.carry = Buffer.alloc(0);
    return [chunk];
  }

  private cut(buf: Buffer, start: number, end: number, lines: number): LineChunk {
    const bytes = new Uint8Array(end - start);
    bytes.set(buf.subarray(start, end));
    const chunk = { bytes, firstLine: this.nextLine, lines };
    this.nextLine += lines;
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
