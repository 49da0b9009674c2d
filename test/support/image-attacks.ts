/**
 * Hostile images for the reliability harness and the tests, built byte by byte:
 * - a PNG decompression bomb: a small interlaced image whose IDAT inflates to far more than its header implies;
 * - a PNG with a tiny first IHDR and a huge second one;
 * - large legal PNGs (cheap to send, costly to decode).
 */
import * as zlib from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function ihdr(width: number, height: number, interlace: 0 | 1, colour = 6): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = 8; // bit depth
  d[9] = colour;
  d[12] = interlace;
  return chunk('IHDR', d);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function png(chunks: Buffer[]): Buffer {
  return Buffer.concat([SIGNATURE, ...chunks, chunk('IEND', Buffer.alloc(0))]);
}

/**
 * A zlib stream of `bytes` zero bytes, made without holding them in memory: one deflated block of
 * 16 MiB of zeros ending in a sync flush is repeated (its back-references only reach zeros), then the
 * remainder, a final empty block and the Adler-32 of the whole.
 */
export function zerosStream(bytes: number): Buffer {
  const unit = 16 * 1024 * 1024;
  const flushed = (n: number) => zlib.deflateRawSync(Buffer.alloc(n), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const block = flushed(unit);
  const rest = bytes % unit;
  const final = zlib.deflateRawSync(Buffer.alloc(0));
  // Adler-32 of n zeros: a = 1, b = n mod 65521.
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((bytes % 65521) << 16) | 1) >>> 0, 0);
  const blocks = Array.from({ length: Math.floor(bytes / unit) }, () => block);
  return Buffer.concat([Buffer.from([0x78, 0xda]), ...blocks, ...(rest > 0 ? [flushed(rest)] : []), final, adler]);
}

/** An interlaced 8×8 RGBA PNG whose IDAT inflates to `bytes` (1 GiB by default). */
export function pngBomb(bytes = 1024 * 1024 * 1024): Buffer {
  return png([ihdr(8, 8, 1), chunk('IDAT', zerosStream(bytes))]);
}

/** An 8×8 IHDR followed by a second IHDR for `side`×`side`, with image data for the large one. */
export function doubleIhdrPng(side = 16384): Buffer {
  // Grey (colour type 0): one byte per pixel plus one filter byte per row.
  return png([ihdr(8, 8, 0, 0), ihdr(side, side, 0, 0), chunk('IDAT', zerosStream((side + 1) * side))]);
}

/**
 * A legal `side`×`side` grey PNG (small to send, real work to decode): a pattern, or all black
 * (`blank`, a few KB even at 4096×4096).
 */
export function largePng(side: number, blank = false): Buffer {
  const raw = Buffer.alloc((side + 1) * side);
  if (!blank) for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) raw[y * (side + 1) + 1 + x] = (x ^ y) & 0xff;
  return png([ihdr(side, side, 0, 0), chunk('IDAT', blank ? zerosStream(raw.length) : zlib.deflateSync(raw, { level: 6 }))]);
}
