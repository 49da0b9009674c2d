/**
 * Narrowing in tests without `!`: a value a test expects to be there is checked, and the test fails naming
 * what was missing instead of a TypeError further down.
 */

/** Returns `value` when it is neither `undefined` nor `null`; throws naming `what` otherwise. */
export function defined<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`Expected ${what} to be defined, got ${value}`);
  return value;
}
