/**
 * Waiting for a condition instead of sleeping a fixed time: a test proceeds as soon as what it waits for
 * holds, and fails naming it when it never does.
 */

export interface UntilOptions {
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default 25 */
  readonly everyMs?: number;
}

/** Resolves once `check` holds (checked every `everyMs`); rejects after `timeoutMs` naming `what`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, opts: UntilOptions = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 25));
  }
}
