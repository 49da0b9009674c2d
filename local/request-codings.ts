/**
 * The codings of a request body as the local gateway takes them, like API Gateway: one content coding
 * (gzip or deflate; identity is none) is decompressed before the function sees the body; a list of codings
 * is refused with 415, as API Gateway accepts "one of the supported content codings". So the decode work
 * of a request is one pass whose output is bounded by the payload limit, run off the event loop: a body
 * of 1,000 stacked gzip layers is refused before any of them is opened.
 *
 * Transfer codings other than `chunked` (`Transfer-Encoding: gzip, chunked`) are refused with 501, as
 * RFC 9112 §6.1 asks of a server that does not implement one; Node's parser removes only the chunking,
 * so without the check the function would be handed the still-compressed bytes.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { ApiError } from '../contract/errors';
import { LIMITS } from '../contract/limits';

type Decoder = (body: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

/** The content codings API Gateway decompresses; each runs on libuv's pool, not on the event loop. */
const DECODERS: Readonly<Record<string, Decoder>> = {
  gzip: promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
};

/** The listed codings, lower-cased, without `identity` (which is no coding at all). */
function codingsOf(header: string): string[] {
  return header
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

/**
 * The 501 for a body with a transfer coding besides `chunked`; undefined when there is none. Node has
 * already refused the malformed forms (a final coding that is not `chunked`) with 400.
 */
export function unsupportedTransferCoding(header: string | undefined): ApiError | undefined {
  if (header === undefined) return undefined;
  const other = codingsOf(header).find((c) => c !== 'chunked');
  if (other === undefined) return undefined;
  return new ApiError(
    'UNSUPPORTED_TRANSFER_ENCODING',
    `Transfer-Encoding ${other.slice(0, 40)} is not implemented: send the body chunked or with a Content-Length, and compress it with Content-Encoding.`,
    'transfer-encoding',
  );
}

/**
 * The body as the function sees it: a gzip or deflate body decompressed to at most `limit` bytes (413
 * beyond); 415 for another coding, for more than `LIMITS.maxContentCodings` of them, or for a body that is
 * not what the header says.
 */
export async function decodeContent(body: Buffer, header: string | undefined, limit: number): Promise<Buffer> {
  if (header === undefined) return body;
  const codings = codingsOf(header);
  if (codings.length > LIMITS.maxContentCodings) {
    throw new ApiError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding lists ${codings.length} codings: send the body with at most ${LIMITS.maxContentCodings} (gzip or deflate).`,
      'content-encoding',
    );
  }
  let out = body;
  // Codings are listed in the order they were applied: undo them from the last.
  for (const coding of codings.reverse()) {
    const decode = DECODERS[coding];
    if (decode === undefined)
      throw new ApiError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Content-Encoding ${coding.slice(0, 40)} is not supported: send gzip, deflate or identity.`,
        'content-encoding',
      );
    try {
      out = await decode(out, { maxOutputLength: limit });
    } catch (e) {
      if (e instanceof RangeError || (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        throw new ApiError('PAYLOAD_TOO_LARGE', `The request body is larger than ${limit} bytes once decompressed.`);
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `The body is not ${coding} data, as its Content-Encoding says.`, 'content-encoding');
    }
  }
  return out;
}
