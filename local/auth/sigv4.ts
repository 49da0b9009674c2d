/**
 * SigV4 for the `execute-api` service, both ways, with the AWS SDK's own signer: the CLI signs its calls
 * to IAM routes, and the local gateway checks them as API Gateway does — the signature over the method,
 * path, query, signed headers and body hash, the credential scope (access key, region, service) and a
 * clock difference of at most 15 minutes. Locally there is one principal: the credentials the CLI uses
 * against the local system; IAM policies have nothing to evaluate (docs/auth.md).
 */
import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, HttpRequest, SourceData } from '@smithy/types';
import { EXECUTE_API_SERVICE, SIGV4_MAX_SKEW_MS } from '../../contract/auth';
import { ApiError } from '../../contract/errors';

/** SHA-256 (and its HMAC) for the signer, from node:crypto. */
class Sha256 implements Checksum {
  private hash: Hash | Hmac;
  private readonly secret?: string | Uint8Array;
  constructor(secret?: SourceData) {
    this.secret =
      secret instanceof ArrayBuffer
        ? new Uint8Array(secret)
        : ArrayBuffer.isView(secret)
          ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength)
          : secret;
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export interface SignableCall {
  readonly method: string;
  /** The full URL, as the request will be sent. */
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
}

/** The headers to send for `call` signed by `credentials` for execute-api in `region` (`host`, `x-amz-date`, `authorization`…). */
export async function signCall(
  call: SignableCall,
  credentials: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>),
  region: string,
): Promise<Record<string, string>> {
  const url = new URL(call.url);
  const signer = new SignatureV4({ credentials, region, service: EXECUTE_API_SERVICE, sha256: Sha256 });
  const signed = await signer.sign({
    method: call.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port === '' ? undefined : Number(url.port),
    path: url.pathname,
    query: queryOf(url.search),
    headers: { ...call.headers, host: url.host },
    body: call.body,
  } satisfies HttpRequest);
  // fetch sets the host itself.
  const { host: _host, ...headers } = signed.headers;
  return headers;
}

/** What the gateway has of a request to check. */
export interface ReceivedCall {
  readonly method: string;
  /** The request target as sent: path and query string. */
  readonly url: string;
  /** Node's raw header list: name, value, name, value… */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

export interface SigV4CheckOptions {
  /** The one principal the local system knows. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly region: string;
  /** @default Date.now */
  readonly now?: () => number;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, *SignedHeaders=([a-z0-9;-]+), *Signature=([0-9a-f]{64})$/;

/** Checks a request's SigV4 signature; undefined when it is good, else the refusal API Gateway would give. */
export async function checkSigV4(call: ReceivedCall, opts: SigV4CheckOptions): Promise<ApiError | undefined> {
  const headers = headerMap(call.rawHeaders);
  const m = AUTHORIZATION.exec(headers.get('authorization') ?? '');
  if (m === null)
    return new ApiError('FORBIDDEN', 'Missing or malformed SigV4 authorization: this route needs a SigV4-signed request (docs/auth.md).');
  const [, accessKeyId, day, region, service, signedList, signature] = m as unknown as string[];
  if (accessKeyId !== opts.credentials.accessKeyId)
    return new ApiError('FORBIDDEN', 'The security token included in the request is invalid: unknown access key.');
  if (region !== opts.region || service !== EXECUTE_API_SERVICE)
    return new ApiError('FORBIDDEN', `The credential scope must be ${opts.region}/${EXECUTE_API_SERVICE}; got ${region}/${service}.`);
  const amzDate = headers.get('x-amz-date') ?? '';
  const signingDate = dateOf(amzDate);
  if (signingDate === undefined || amzDate.slice(0, 8) !== day)
    return new ApiError('FORBIDDEN', 'The signed request needs an x-amz-date matching its credential scope.');
  if (Math.abs((opts.now ?? Date.now)() - signingDate.getTime()) > SIGV4_MAX_SKEW_MS)
    return new ApiError('FORBIDDEN', 'Signature expired: the request was signed more than 15 minutes from now.');
  const signedNames = (signedList as string).split(';');
  if (!signedNames.includes('host')) return new ApiError('FORBIDDEN', 'The signature must cover the host header.');
  const bodyHash = createHash('sha256').update(call.body).digest('hex');
  const declared = headers.get('x-amz-content-sha256');
  if (declared !== undefined && declared !== bodyHash) return new ApiError('FORBIDDEN', 'The body does not match its signed hash.');

  const q = call.url.indexOf('?');
  const signer = new SignatureV4({
    credentials: opts.credentials,
    region: opts.region,
    service: EXECUTE_API_SERVICE,
    sha256: Sha256,
    applyChecksum: false,
  });
  const resigned = await signer.sign(
    {
      method: call.method,
      protocol: 'http:',
      hostname: '',
      path: q === -1 ? call.url : call.url.slice(0, q),
      query: queryOf(q === -1 ? '' : call.url.slice(q)),
      headers: Object.fromEntries(signedNames.map((n) => [n, headers.get(n) ?? ''])),
      body: call.body,
    } satisfies HttpRequest,
    { signingDate, signableHeaders: new Set(signedNames) },
  );
  const expected = /Signature=([0-9a-f]{64})$/.exec(resigned.headers.authorization ?? '')?.[1] ?? '';
  const same = expected.length === signature?.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
  return same
    ? undefined
    : new ApiError('FORBIDDEN', 'The request signature (SigV4) does not match: sign the request for execute-api in the API region.');
}

/** Lower-cased header names to their values (repeated headers joined with commas, as SigV4 canonicalizes them). */
function headerMap(raw: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = (raw[i + 1] as string).trim();
    const had = out.get(name);
    out.set(name, had === undefined ? value : `${had},${value}`);
  }
  return out;
}

function queryOf(search: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(search)) {
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

/** `20261207T160000Z` as a date. */
function dateOf(amzDate: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
}
