/**
 * The instances of a predict request: its body parsed against the manifest (JSON, or CSV rows for a
 * tabular model), and what the model is sent for each. Inputs kept in the data bucket. Instances sent as `{"s3Key": …}` are fetched before the model call and
 * checked like inline ones: an encoded image (PNG/JPEG bytes) is sent on as base64, anything else is read
 * as one JSON instance. Inputs too large to keep inline in the log are written under `predictions/` in
 * the same forms (numbers as a JSON array, images as their own bytes), so a stored input can be sent back
 * as an s3Key — by the key that sent it (the object names its owner) or an operator's: a client key
 * cannot run the model on another tenant's stored input. Other prefixes keep the bucket's own rules.
 */
import { INPUT_OWNER_METADATA, PREFIX } from '../../contract/bucket';
import { ApiError, isApiError } from '../../contract/errors';
import { LIMITS } from '../../contract/limits';
import {
  csvRecords,
  csvRow,
  type FeatureValue,
  type Instance,
  type ModelManifest,
  packsFloat32,
  validateInstances,
} from '../../contract/manifest';
import { scoringInstances } from '../../contract/protocols/scoring-formats';
import { parseJsonBody } from '../http/api-handler';
import type { S3Handle } from '../runtime/lazy-clients';

/** The data bucket as the predict function uses it: inputs given as keys, inputs too large to log inline. */
export interface StoredInputs {
  readonly s3: () => Promise<S3Handle>;
  readonly bucket: string;
  /** Keys that may read any stored input back. @default - none: each stored input only by its owner */
  readonly operatorKeyIds?: ReadonlySet<string>;
}

/** An instance with its values ready for the model: numbers or a base64 image. */
export type ResolvedInstance = Exclude<Instance, { s3Key: string }>;

/**
 * The instances of a predict body of media type `type`: JSON in any of the scoring formats (MLflow's and
 * TF-Serving's), or CSV rows whose header row is matched by feature names.
 */
export function parseInstances(manifest: ModelManifest, type: string, bytes: Buffer): Instance[] {
  if (type === 'application/json') return scoringInstances(manifest, parseJsonBody(bytes), { allowS3Keys: true });
  if (type === 'text/csv' && manifest.input.kind === 'tabular') {
    // Parsing stops after the rows one request may hold.
    const features = manifest.input.features;
    const float32 = packsFloat32(manifest);
    return csvRecords(manifest, bytes.toString('utf8'), LIMITS.maxInstancesPerRequest).map((r) => ({
      values: csvRow(features, r.cells, `rows[${r.line}]`, float32),
    }));
  }
  const accepted = manifest.input.kind === 'tabular' ? 'application/json or text/csv' : 'application/json';
  throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type} is not accepted; send ${accepted}.`, 'Content-Type');
}

/**
 * What the model is sent for an instance: the checked values (float32, as the model server reads them,
 * so the log and the model see the same numbers whatever form the caller used) or the encoded image.
 */
export function modelInput(inst: ResolvedInstance): FeatureValue[] | { b64: string } {
  return 'values' in inst ? Array.from(inst.values) : { b64: inst.image };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** `png`, `jpg` or undefined, from the first bytes of an encoded image. */
export function imageFormatOf(bytes: Uint8Array): 'png' | 'jpg' | undefined {
  if (bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).equals(PNG_SIGNATURE)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpg';
  return undefined;
}

/**
 * The instance kept at `key`, for the caller with API key id `apiKeyId`. A stored prediction input
 * (`predictions/…`) is refused to any key but its owner's and the operators' as if it were missing (403,
 * as S3 answers for a missing key), so one tenant can neither use nor probe another's inputs.
 */
export async function fetchInstance(
  inputs: StoredInputs,
  m: ModelManifest,
  key: string,
  field: string,
  maxBytes: number,
  apiKeyId: string | undefined,
): Promise<ResolvedInstance> {
  let bytes: Uint8Array;
  try {
    const { sdk, client } = await inputs.s3();
    const out = await client.send(new sdk.GetObjectCommand({ Bucket: inputs.bucket, Key: key }));
    try {
      if (!mayRead(inputs, key, out.Metadata?.[INPUT_OWNER_METADATA], apiKeyId)) {
        throw new ApiError(
          'S3_ACCESS_DENIED',
          `The API may not read ${key} for this API key: it does not exist or is not this key's.`,
          field,
        );
      }
      if (out.ContentLength !== undefined && out.ContentLength > maxBytes) {
        throw new ApiError('PAYLOAD_TOO_LARGE', `The object ${key} is ${out.ContentLength} bytes; at most ${maxBytes}.`, field);
      }
      if (out.Body === undefined) throw new ApiError('INVALID_S3_KEY', `The object ${key} is empty.`, field);
    } catch (e) {
      // An answer left unread holds its connection: let it go.
      (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw e;
    }
    bytes = await out.Body.transformToByteArray();
  } catch (e) {
    throw s3ReadError(e, key, field);
  }
  if (m.input.kind === 'image' && imageFormatOf(bytes) !== undefined) return { image: Buffer.from(bytes).toString('base64') };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    const what = m.input.kind === 'image' ? 'a PNG or JPEG image or a JSON instance' : 'a JSON instance';
    throw new ApiError('INVALID_S3_KEY', `The object ${key} is not ${what}.`, field);
  }
  try {
    return validateInstances(m, { instances: [parsed] }, { maxInstances: 1 })[0] as ResolvedInstance;
  } catch (e) {
    if (isApiError(e)) throw new ApiError(e.code, `In ${key}: ${e.message}`, field);
    throw e;
  }
}

/** Whether the key `apiKeyId` may use the object at `key`, kept for `owner` (inputs stored before owners were kept: operators only). */
function mayRead(inputs: StoredInputs, key: string, owner: string | undefined, apiKeyId: string | undefined): boolean {
  if (!key.startsWith(PREFIX.predictions)) return true;
  if (apiKeyId !== undefined && inputs.operatorKeyIds?.has(apiKeyId)) return true;
  return owner !== undefined && owner === apiKeyId;
}

/**
 * What a failed read means to the caller. Only throttling, S3's own 5xx and no answer at all are worth a
 * retry (503); a missing key is 404, a refused one 403 (S3 answers AccessDenied for a missing key to a
 * caller without s3:ListBucket, as the API's role is), and any other 4xx is the key's fault (400).
 */
export function s3ReadError(e: unknown, key: string, field: string): ApiError {
  if (isApiError(e)) return e;
  const name = (e as { name?: string }).name ?? '';
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new ApiError('S3_OBJECT_NOT_FOUND', `No object ${key} in the data bucket.`, field);
  }
  if (name === 'AccessDenied' || status === 403) {
    return new ApiError(
      'S3_ACCESS_DENIED',
      `The API may not read ${key}: the object does not exist (S3 answers "access denied" for a missing key) or is not readable with the API's role.`,
      field,
    );
  }
  if (status !== undefined && status >= 400 && status < 500 && status !== 429 && name !== 'SlowDown') {
    return new ApiError('INVALID_S3_KEY', `S3 refused the key ${key} (${name || status}).`, field);
  }
  return new ApiError('STORAGE_UNAVAILABLE', `Reading ${key} from the data bucket failed; retry shortly.`);
}

/**
 * Stores an input too large for the log item: numbers as a JSON array, an encoded image as its bytes,
 * with the API key id it belongs to (`owner`), which alone may send it back as an s3Key.
 */
export async function storeInput(
  inputs: StoredInputs,
  key: string,
  body: Uint8Array | string,
  contentType: string,
  owner: string | undefined,
): Promise<void> {
  try {
    const { sdk, client } = await inputs.s3();
    const Metadata = owner === undefined ? undefined : { [INPUT_OWNER_METADATA]: owner };
    await client.send(new sdk.PutObjectCommand({ Bucket: inputs.bucket, Key: key, Body: body, ContentType: contentType, Metadata }));
  } catch {
    throw new ApiError('STORAGE_UNAVAILABLE', 'Storing the prediction input failed; retry shortly.');
  }
}
