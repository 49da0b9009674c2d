/**
 * The image-decoding thread of a model server process: PNG/JPEG decoding is CPU work that would
 * otherwise hold the event loop that answers `/ping` and every other request. Started by
 * `image-decoder.ts`; in the bundled image this file is its own entry (`decode-worker.js`).
 */
import { parentPort } from 'node:worker_threads';
import { errorMessage, isApiError } from '../../contract/errors';
import { decodeImage, PixelBudget } from './image';
import type { DecodeJob, DecodeResult } from './image-decoder';

const port = parentPort;
if (port) {
  port.on('message', (job: DecodeJob) => {
    let result: DecodeResult;
    try {
      const budget = new PixelBudget(job.input);
      const rows = job.images.map((img) => decodeImage(job.input, img.b64, img.field, budget));
      result = { id: job.id, rows };
      port.postMessage(
        result,
        rows.map((r) => r.buffer as ArrayBuffer),
      );
      return;
    } catch (e) {
      result = isApiError(e)
        ? { id: job.id, error: { code: e.code, message: e.message, field: e.field } }
        : { id: job.id, error: { code: 'INVALID_IMAGE', message: `The image cannot be decoded: ${errorMessage(e)}`.slice(0, 200) } };
    }
    port.postMessage(result);
  });
}
