/**
 * Turns a base64 PNG or JPEG into one model row: decode → resize to the manifest's shape → grayscale or
 * RGB → the manifest's preprocessing. Anything that cannot be decoded is INVALID_IMAGE, never a 5xx.
 */
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ApiError } from '../../contract/errors';
import { ImageInput } from '../../contract/manifest';

/** Largest image side accepted before decoding (a tiny file can claim a huge canvas). */
export const MAX_IMAGE_SIDE = 4096;

interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function decodeImage(input: ImageInput, base64: string, field: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  const rgba = decodeRgba(bytes, field);
  return toRow(input, resize(rgba, input.width, input.height));
}

function decodeRgba(bytes: Buffer, field: string): Rgba {
  try {
    if (bytes.length >= 24 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
      // IHDR is always first: check the claimed size before pngjs allocates it.
      checkSide(bytes.readUInt32BE(16), bytes.readUInt32BE(20), field);
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: png.data };
    }
    if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 17, maxMemoryUsageInMB: 128 });
      checkSide(img.width, img.height, field);
      return img;
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError('INVALID_IMAGE', `The image cannot be decoded: ${(e as Error).message}`.slice(0, 200), field);
  }
  throw new ApiError('INVALID_IMAGE', 'Not a PNG or JPEG image.', field);
}

function checkSide(width: number, height: number, field: string): void {
  if (width < 1 || height < 1 || width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new ApiError('INVALID_IMAGE', `Image is ${width}x${height}; each side must be 1..${MAX_IMAGE_SIDE} pixels.`, field);
  }
}

/**
 * Box-filter resize (each target pixel averages the source pixels it covers; nearest pixel when
 * enlarging). Transparent pixels are composited over black, the background of the digits data.
 * Returns RGB floats in 0..255.
 */
function resize(src: Rgba, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height * 3);
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
          const p = (y * src.width + x) * 4;
          const a = src.data[p + 3] / 255;
          r += src.data[p] * a;
          g += src.data[p + 1] * a;
          b += src.data[p + 2] * a;
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
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < channels; c++) {
      let v = channels === 1 ? 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2] : rgb[i * 3 + c];
      if (pre.invert) v = 255 - v;
      const mean = pre.mean[c] ?? pre.mean[0];
      const std = pre.std[c] ?? pre.std[0];
      // NCHW keeps each channel's plane together; flat and NHWC interleave channels per pixel.
      const o = layout === 'NCHW' ? c * pixels + i : i * channels + c;
      row[o] = (v * pre.scale - mean) / std;
    }
  }
  return row;
}
