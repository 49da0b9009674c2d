/** The value, or a thrown `Error('expected <what>')` when it is undefined or null: a test fails with a clear message instead of a TypeError further on. */
export function defined<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}`);
  return value;
}
