/**
 * `mlship preflight`: before a first deploy, checks the account's Lambda quotas against what the kit needs
 * (lambda:GetAccountSettings). A new account may allow 10 concurrent executions in total instead of the
 * default 1,000: the deploy succeeds (nothing reserves concurrency), but the API then throttles at a
 * handful of parallel requests. `settings` is injectable; the default sends GetAccountSettings with the
 * Lambda client, which a test aims at a local stand-in.
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html
 */
import { GetAccountSettingsCommand, LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
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

export interface AccountSettingsOptions {
  readonly region: string;
  /** @default - Lambda's regional endpoint (a local stand-in's in tests) */
  readonly endpoint?: string;
  /** @default - the SDK's credential chain */
  readonly credentials?: LambdaClientConfig['credentials'];
  /** @default 10000 */
  readonly timeoutMs?: number;
}

/** GetAccountSettings through the Lambda client (one attempt: a preflight reports, it does not wait). */
export function lambdaAccountSettings(opts: AccountSettingsOptions): GetAccountSettings {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const client = new LambdaClient({
    region: opts.region,
    endpoint: opts.endpoint,
    credentials: opts.credentials,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
  });
  return async () => {
    try {
      return await client.send(new GetAccountSettingsCommand({}));
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === undefined) throw e;
      throw new Error(`Lambda answered ${status} ${(e as Error).name}: ${errorMessage(e)}`);
    }
  };
}
