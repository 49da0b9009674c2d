/**
 * Inputs kept in the data bucket: instances sent as `{"s3Key": "datasets/..."}` are fetched before the
 * model call (images as base64, tabular rows as JSON), and inputs too large to keep inline in the log
 * are written under `predictions/` so the log item holds only their key.
 */
import { ApiError, isApiError } from '../../contract/errors';
import { validateInstances, type ModelManifest } from '../../contract/manifest';
import type { S3Handle } from './lazy-clients';

export async function fetchInstance(s3: () => Promise<S3Handle>, bucket: string, m: ModelManifest, key: string, field: string, maxBytes: number): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    const { sdk, client } = await s3();
    const out = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
    if (out.ContentLength !== undefined && out.ContentLength > maxBytes) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `The object ${key} is ${out.ContentLength} bytes; at most ${maxBytes}.`, field);
    }
    if (out.Body === undefined) throw new ApiError('INVALID_S3_KEY', `The object ${key} is empty.`, field);
    bytes = await out.Body.transformToByteArray();
  } catch (e) {
    if (isApiError(e)) throw e;
    const name = (e as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') throw new ApiError('INVALID_S3_KEY', `No object ${key} in the data bucket.`, field);
    throw new ApiError('STORAGE_UNAVAILABLE', `Reading ${key} from the data bucket failed; retry shortly.`);
  }
  if (m.input.kind === 'image') return { b64: Buffer.from(bytes).toString('base64') };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ApiError('INVALID_S3_KEY', `The object ${key} is not a JSON instance.`, field);
  }
  try {
    validateInstances(m, { instances: [parsed] }, { maxInstances: 1 });
  } catch (e) {
    if (isApiError(e)) throw new ApiError(e.code, `In ${key}: ${e.message}`, field);
    throw e;
  }
  return parsed;
}

export async function storeInput(s3: () => Promise<S3Handle>, bucket: string, key: string, input: unknown): Promise<void> {
  try {
    const { sdk, client } = await s3();
    await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(input), ContentType: 'application/json' }));
  } catch {
    throw new ApiError('STORAGE_UNAVAILABLE', 'Storing the prediction input failed; retry shortly.');
  }
}
