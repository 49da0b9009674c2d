/** `--name value` flags for the reliability scripts; unknown flags and non-numbers fail fast. */
export function numberFlags<T extends Record<string, number>>(argv: string[], defaults: T): T {
  const out: Record<string, number> = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (!(name in defaults))
      throw new Error(
        `Unknown flag ${argv[i]}; known: ${Object.keys(defaults)
          .map((k) => `--${k}`)
          .join(' ')}`,
      );
    if (!Number.isFinite(value) || value < 0) throw new Error(`${argv[i]} needs a non-negative number, got "${argv[i + 1]}"`);
    out[name] = value;
  }
  return out as T;
}
