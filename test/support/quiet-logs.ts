/**
 * The in-process handlers write one JSON line per request to stdout; under load that is thousands of
 * lines. This keeps them out of the terminal (they are still counted), leaving other output alone.
 */
export function quietHandlerLogs(): { lines: () => number; restore: () => void } {
  const original = process.stdout.write.bind(process.stdout);
  let count = 0;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.startsWith('{')) {
      count += text.split('\n').filter((l) => l !== '').length;
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }
    return (original as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  return {
    lines: () => count,
    restore: () => {
      process.stdout.write = original;
    },
  };
}
