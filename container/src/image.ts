/**
 * Turns a base64 PNG or JPEG into one model row: decode → resize to the manifest's shape → grayscale or
 * RGB → the manifest's preprocessing. Anything that cannot be decoded is INVALID_IMAGE, never a 5xx.
 *
 * Decoding work is bounded before it starts: every header chunk is read first (a PNG with a second IHDR
 * or a JPEG with a second frame header is refused), the claimed size must fit the pixel budget derived
 * from the model's input size (contract/limits.ts `IMAGE_LIMITS`), a PNG's compressed data may inflate
 * to no more than the bytes its header implies, and the JPEG decoder gets a memory cap.
 */
import * as zlib from 'node:zlib';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ApiError, errorMessage } from '../../contract/errors';
import { IMAGE_LIMITS, maxImagePixels, maxRequestPixels } from '../../contract/limits';
import type { ImageInput } from '../../contract/manifest';

const MB = 1024 * 1024;

interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

/** What the headers of an encoded image claim, read without decoding it. */
export interface ImageHeader {
  readonly format: 'png' | 'jpeg';
  readonly width: number;
  readonly height: number;
  /** PNG: bytes the image data inflates to, from its header. */
  readonly inflatedBytes?: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The pixels a request may still decode: each image's claimed size is charged before it is decoded, so
 * a request whose images add up to more than the budget is refused before any of them is decoded.
 */
export class PixelBudget {
  private left: number;
  readonly perImage: number;
  constructor(private readonly input: ImageInput) {
    this.perImage = maxImagePixels(input.width, input.height);
    this.left = maxRequestPixels(input.width, input.height);
  }

  charge(header: ImageHeader, field: string): void {
    const pixels = header.width * header.height;
    if (pixels > this.left) {
      const total = maxRequestPixels(this.input.width, this.input.height);
      throw new ApiError(
        'IMAGE_TOO_LARGE',
        `The images of this request add up to more than ${total} pixels, the budget for a ${this.input.width}x${this.input.height} model (${IMAGE_LIMITS.requestImages} images of ${this.perImage}); send fewer or smaller images per request.`,
        field,
      );
    }
    this.left -= pixels;
  }
}

/** Decodes one base64 image into a model row; `budget` is charged with its size first. */
export function decodeImage(input: ImageInput, base64: string, field: string, budget: PixelBudget = new PixelBudget(input)): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  const header = readImageHeader(bytes, maxImagePixels(input.width, input.height), field);
  budget.charge(header, field);
  const rgba = decodeRgba(bytes, header, field);
  return toRow(input, resize(rgba, input.width, input.height));
}

/**
 * Reads and checks the headers of a PNG or JPEG without decoding its pixels: structure, a single image
 * header, and a claimed size within `maxPixels` and `IMAGE_LIMITS.maxSide`.
 */
export function readImageHeader(bytes: Buffer, maxPixels: number, field: string): ImageHeader {
  let header: ImageHeader;
  try {
    if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) header = pngHeader(bytes);
    else if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) header = jpegHeader(bytes);
    else throw new ApiError('INVALID_IMAGE', 'Not a PNG or JPEG image.', field);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError('INVALID_IMAGE', `The image cannot be decoded: ${errorMessage(e)}`.slice(0, 200), field);
  }
  const { width, height } = header;
  const side = IMAGE_LIMITS.maxSide;
  if (width < 1 || height < 1 || width > side || height > side) {
    throw new ApiError('IMAGE_TOO_LARGE', `Image is ${width}x${height}; each side must be 1..${side} pixels.`, field);
  }
  if (width * height > maxPixels) {
    throw new ApiError(
      'IMAGE_TOO_LARGE',
      `Image is ${width}x${height} (${width * height} pixels); this model decodes at most ${maxPixels} pixels per image.`,
      field,
    );
  }
  return header;
}

/** Channels per PNG colour type, and the bit depths each allows (PNG spec, table 11.1). */
const PNG_COLOUR_TYPES: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { channels: 3, depths: [8, 16] },
  3: { channels: 1, depths: [1, 2, 4, 8] },
  4: { channels: 2, depths: [8, 16] },
  6: { channels: 4, depths: [8, 16] },
};

/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Walks every PNG chunk: IHDR first and only once, lengths inside the file, IEND last. */
function pngHeader(b: Buffer): ImageHeader {
  let p = 8;
  let ihdr: { width: number; height: number; depth: number; channels: number; interlace: number } | undefined;
  let ended = false;
  while (p < b.length && !ended) {
    if (p + 12 > b.length) throw new Error('truncated chunk');
    const length = b.readUInt32BE(p);
    const type = b.toString('latin1', p + 4, p + 8);
    if (length > 0x7fffffff || p + 12 + length > b.length) throw new Error(`truncated ${type} chunk`);
    if (type === 'IHDR') {
      if (ihdr !== undefined) throw new Error('a second IHDR header');
      if (p !== 8 || length !== 13) throw new Error('IHDR must come first, 13 bytes long');
      const depth = b.readUInt8(p + 16);
      const colour = b.readUInt8(p + 17);
      const interlace = b.readUInt8(p + 20);
      const spec = PNG_COLOUR_TYPES[colour];
      if (spec === undefined || !spec.depths.includes(depth)) throw new Error(`colour type ${colour} with bit depth ${depth}`);
      if (b[p + 18] !== 0 || b[p + 19] !== 0 || interlace > 1) throw new Error('unknown compression, filter or interlace method');
      ihdr = { width: b.readUInt32BE(p + 8), height: b.readUInt32BE(p + 12), depth, channels: spec.channels, interlace };
    } else if (ihdr === undefined) {
      throw new Error('IHDR must come first');
    } else if (type === 'IEND') {
      ended = true;
    }
    p += 12 + length;
  }
  if (ihdr === undefined) throw new Error('no IHDR header');
  const { width, height, depth, channels, interlace } = ihdr;
  const bits = channels * depth;
  // Each scanline is a filter byte plus its packed pixels; an interlaced image has seven sub-images.
  const scanlines = (w: number, h: number) => (w > 0 && h > 0 ? h * (1 + Math.ceil((w * bits) / 8)) : 0);
  let inflatedBytes = 0;
  if (interlace === 0) inflatedBytes = scanlines(width, height);
  else for (const [x0, y0, dx, dy] of ADAM7) inflatedBytes += scanlines(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy));
  return { format: 'png', width, height, inflatedBytes };
}

/** JPEG markers that carry a frame header (SOF0–SOF15 but DHT, JPG and DAC). */
function isFrameMarker(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

/** Walks the JPEG segments: one frame header, a bounded number of scans. */
function jpegHeader(b: Buffer): ImageHeader {
  let p = 2;
  let size: { width: number; height: number } | undefined;
  let scans = 0;
  while (p < b.length) {
    if (b[p] !== 0xff) throw new Error(`no marker at byte ${p}`);
    while (p < b.length && b[p] === 0xff) p++;
    if (p >= b.length) throw new Error('truncated segment');
    const marker = b.readUInt8(p++);
    if (marker === 0xd9) break;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (p + 2 > b.length) throw new Error('truncated segment');
    const length = b.readUInt16BE(p);
    if (length < 2 || p + length > b.length) throw new Error('truncated segment');
    if (isFrameMarker(marker)) {
      if (size !== undefined) throw new Error('a second frame header');
      if (length < 8) throw new Error('short frame header');
      size = { height: b.readUInt16BE(p + 3), width: b.readUInt16BE(p + 5) };
    }
    p += length;
    if (marker === 0xda) {
      if (size === undefined) throw new Error('scan before the frame header');
      if (++scans > IMAGE_LIMITS.maxJpegScans) throw new Error(`more than ${IMAGE_LIMITS.maxJpegScans} scans`);
      // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a restart marker.
      for (; p + 1 < b.length; p++) {
        if (b[p] !== 0xff) continue;
        const next = b[p + 1] as number; // p + 1 < b.length
        if (next !== 0 && !(next >= 0xd0 && next <= 0xd7)) break;
      }
      if (p + 1 >= b.length) break;
    }
  }
  if (size === undefined) throw new Error('no frame header');
  return { format: 'jpeg', ...size };
}

function decodeRgba(bytes: Buffer, header: ImageHeader, field: string): Rgba {
  try {
    if (header.format === 'png') {
      // Inflate once with a cap: a stream that holds more than the header implies is refused here,
      // before pngjs (whose interlaced path inflates without a limit) sees it.
      checkInflatedSize(bytes, header.inflatedBytes ?? 0);
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: png.data };
    }
    const pixels = header.width * header.height;
    return jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: Math.ceil(pixels / 1e6),
      maxMemoryUsageInMB: Math.ceil((pixels * IMAGE_LIMITS.jpegBytesPerPixel) / MB) + 4,
    });
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError('INVALID_IMAGE', `The image cannot be decoded: ${errorMessage(e)}`.slice(0, 200), field);
  }
}

/** Inflates the IDAT data with `maxOutputLength`; more than `limit` bytes is a decompression bomb. */
function checkInflatedSize(b: Buffer, limit: number): void {
  const parts: Buffer[] = [];
  for (let p = 8; p + 12 <= b.length; ) {
    const length = b.readUInt32BE(p);
    const type = b.toString('latin1', p + 4, p + 8);
    if (type === 'IDAT') parts.push(b.subarray(p + 8, p + 8 + length));
    if (type === 'IEND') break;
    p += 12 + length;
  }
  try {
    zlib.inflateSync(Buffer.concat(parts), { maxOutputLength: Math.max(limit, 1) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(`the image data inflates to more than the ${limit} bytes its header implies`);
    }
    throw e;
  }
}

/**
 * Box-filter resize (each target pixel averages the source pixels it covers; nearest pixel when
 * enlarging). Transparent pixels are composited over black, the background of the digits data.
 * Returns RGB floats in 0..255.
 */
function resize(src: Rgba, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height * 3);
  const data = src.data;
  for (let ty = 0; ty < height; ty++) {
    const y0 = Math.floor((ty * src.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * src.height) / height));
    for (let tx = 0; tx < width; tx++) {
      const x0 = Math.floor((tx * src.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((tx + 1) * src.width) / width));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          // y < src.height and x < src.width, so p + 3 < src.width * src.height * 4 = data.length
          const p = (y * src.width + x) * 4;
          const a = (data[p + 3] as number) / 255;
          r += (data[p] as number) * a;
          g += (data[p + 1] as number) * a;
          b += (data[p + 2] as number) * a;
        }
      }
      const count = (y1 - y0) * (x1 - x0);
      const o = (ty * width + tx) * 3;
      out[o] = r / count;
      out[o + 1] = g / count;
      out[o + 2] = b / count;
    }
  }
  return out;
}

/** RGB 0..255 → the model's row: grayscale or RGB, then value = (pixel * scale - mean[c]) / std[c]. */
function toRow(input: ImageInput, rgb: Float32Array): Float32Array {
  const { width, height, channels, preprocess: pre, layout } = input;
  const pixels = width * height;
  const row = new Float32Array(pixels * channels);
  for (let c = 0; c < channels; c++) {
    const mean = perChannel(pre.mean, c);
    const std = perChannel(pre.std, c);
    for (let i = 0; i < pixels; i++) {
      // i * 3 + 2 < pixels * 3 = rgb.length
      let v =
        channels === 1
          ? 0.299 * (rgb[i * 3] as number) + 0.587 * (rgb[i * 3 + 1] as number) + 0.114 * (rgb[i * 3 + 2] as number)
          : (rgb[i * 3 + c] as number);
      if (pre.invert) v = 255 - v;
      // NCHW keeps each channel's plane together; flat and NHWC interleave channels per pixel.
      const o = layout === 'NCHW' ? c * pixels + i : i * channels + c;
      row[o] = (v * pre.scale - mean) / std;
    }
  }
  return row;
}

/** Channel `c`'s value of a preprocessing list: its own, or the list's single value for every channel. */
function perChannel(values: readonly number[], c: number): number {
  const v = values[c] ?? values[0];
  if (v === undefined) throw new Error('The image preprocessing lists no mean or std value.');
  return v;
}
