/**
 * V8 compiles code that reads typed arrays on the promise that no ArrayBuffer of the thread was ever
 * detached, and throws all of that code away the first time one is. A batch thread detaches buffers all
 * the time (each transfer of a chunk or of answers does), so it breaks the promise at once, at its start,
 * before anything is optimized: left to the first transfer, a chunk into the run, it cost every hot
 * function of the worker (the row reader, the answer writer) a second compilation.
 */
export function detachOnce(): void {
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
}
