/**
 * `mlship preflight`: before a first deploy, checks the account's Lambda quotas against what the kit needs
 * (lambda:GetAccountSettings). A new account may allow 10 concurrent executions in total instead of the
 * default 1,000: the deploy succeeds (nothing reserves concurrency), but the API then throttles at a
 * handful of parallel requests. The call is a signed HTTPS GET (the Lambda REST API); `settings` is
 * injectable so a test can aim it at a local stand-in or a recorded fault.
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html
 */
import { createHash, createHmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider, Checksum, SourceData } from '@smithy/types';
import { errorMessage } from '../contract/errors';

/** The part of GetAccountSettings' answer the checks read. */
export interface LambdaAccountSettings {
  AccountLimit?: { ConcurrentExecutions?: number; UnreservedConcurrentExecutions?: number; TotalCodeSize?: number };
  AccountUsage?: { TotalCodeSize?: number; FunctionCount?: number };
}

export type GetAccountSettings = () => Promise<LambdaAccountSettings>;

/** What the kit needs of an account's Lambda quotas (docs/deploying.md, "Before your first deploy"). */
export const KIT_LAMBDA_QUOTAS = {
  /**
   * Unreserved concurrent executions: every request of the API runs a function, the log replay, the
   * analytics writer and the quality job run beside it. Lambda itself keeps 100 unreserved in any account
   * that reserves concurrency, and new accounts may start at 10.
   */
  unreservedConcurrency: 100,
  /** Free code storage for the kit's function bundles (a few MB each, with versions kept by updates). */
  freeCodeStorageBytes: 100 * 1024 * 1024,
} as const;

export interface PreflightCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export async function preflight(settings: GetAccountSettings): Promise<PreflightCheck[]> {
  let s: LambdaAccountSettings;
  try {
    s = await settings();
  } catch (e) {
    return [
      {
        name: 'lambda:GetAccountSettings',
        ok: false,
        detail: `could not read the account's Lambda settings (${errorMessage(e)}); the deploying identity needs lambda:GetAccountSettings, and a region.`,
      },
    ];
  }
  const unreserved = s.AccountLimit?.UnreservedConcurrentExecutions ?? 0;
  const total = s.AccountLimit?.ConcurrentExecutions ?? 0;
  const freeCode = (s.AccountLimit?.TotalCodeSize ?? 0) - (s.AccountUsage?.TotalCodeSize ?? 0);
  const need = KIT_LAMBDA_QUOTAS;
  return [
    {
      name: 'Lambda unreserved concurrency',
      ok: unreserved >= need.unreservedConcurrency,
      detail:
        unreserved >= need.unreservedConcurrency
          ? `${unreserved} unreserved of ${total} (at least ${need.unreservedConcurrency} needed)`
          : `${unreserved} unreserved of ${total}; at least ${need.unreservedConcurrency} needed: request "Concurrent executions" ≥ 1000 in Service Quotas (AWS Lambda) before serving traffic`,
    },
    {
      name: 'Lambda code storage',
      ok: freeCode >= need.freeCodeStorageBytes,
      detail: `${mib(freeCode)} MiB free (at least ${mib(need.freeCodeStorageBytes)} MiB needed)${freeCode >= need.freeCodeStorageBytes ? '' : ': delete old function versions or request more "Function and layer storage"'}`,
    },
  ];
}

const mib = (bytes: number) => Math.floor(bytes / 1024 / 1024);

export function formatPreflight(checks: readonly PreflightCheck[]): string {
  return checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}`).join('\n');
}

/** sha256 for the signer, from node:crypto. */
class Sha256 implements Checksum {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    throw new Error('not reusable');
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export interface AccountSettingsOptions {
  readonly region: string;
  /** @default - Lambda's regional endpoint (a local stand-in's in tests) */
  readonly endpoint?: string;
  /** @default - the SDK's credential chain */
  readonly credentials?: AwsCredentialIdentityProvider;
  /** @default 10000 */
  readonly timeoutMs?: number;
}

/** GetAccountSettings as a signed GET of `/2016-08-19/account-settings/`. */
export function lambdaAccountSettings(opts: AccountSettingsOptions): GetAccountSettings {
  return async () => {
    const url = new URL('/2016-08-19/account-settings/', opts.endpoint ?? `https://lambda.${opts.region}.amazonaws.com`);
    const signer = new SignatureV4({
      credentials: opts.credentials ?? defaultProvider(),
      region: opts.region,
      service: 'lambda',
      sha256: Sha256,
    });
    const signed = await signer.sign({
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname,
      query: {},
      headers: { host: url.host, accept: 'application/json' },
    });
    const lib = url.protocol === 'https:' ? https : http;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = lib.request(url, { method: 'GET', headers: signed.headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      });
      req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error('no answer from Lambda in time')));
      req.on('error', reject);
      req.end();
    });
    if (status !== 200) {
      const type = (safeJson(body) as { Type?: string; message?: string; Message?: string } | undefined) ?? {};
      throw new Error(
        `Lambda answered ${status}${type.Type ? ` ${type.Type}` : ''}: ${type.message ?? type.Message ?? body.slice(0, 200)}`,
      );
    }
    return safeJson(body) as LambdaAccountSettings;
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
