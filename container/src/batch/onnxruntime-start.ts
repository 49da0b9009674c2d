/**
 * onnxruntime keeps one environment per process (its native library loaded and relocated, its logging
 * and kernel tables set up: about 25 ms here), made by whichever thread opens the first session while
 * every other thread opening one waits. The batch workers each open a session as soon as they have
 * started, so the main thread makes that environment meanwhile, while the workers' threads boot, and
 * their sessions open in about a millisecond.
 */

/**
 * Makes onnxruntime's process-wide environment now, on this thread. Returns false when the installed
 * onnxruntime-node does not offer its initializer where this looks for it: the first session then
 * makes the environment, as it would have anyway.
 */
export function startOnnxruntime(): boolean {
  let binding: { initOrt?: unknown };
  try {
    // Not part of the package's typed surface: the same call every session's constructor makes first.
    binding = require('onnxruntime-node/dist/binding') as { initOrt?: unknown };
  } catch {
    return false;
  }
  if (typeof binding.initOrt !== 'function') return false;
  binding.initOrt();
  return true;
}
