/**
 * Records every AWS SDK call made in a process: patches `Client.prototype.send` of `@smithy/core/client`,
 * the one base class every v3 client of this project extends. Each call is passed to a sink with the
 * client, the command, its input and the source files on the caller's stack (for attribution).
 *
 * In-process: `require('./record-aws-calls').install(call => ...)`.
 * In a child process: `NODE_OPTIONS="--require <this file>"` with MLSHIP_AWS_CALL_LOG=<file> appends
 * one JSON line per call to that file (set the variable only after installing in the parent).
 */

const { appendFileSync } = require('node:fs');

const PROJECT_FILE = /\((\/[^():]+\.(?:ts|js)):\d+:\d+\)|at (\/[^():]+\.(?:ts|js)):\d+:\d+/g;

function callerFiles() {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  const stack = new Error().stack || '';
  Error.stackTraceLimit = limit;
  const files = [];
  for (const m of stack.matchAll(PROJECT_FILE)) {
    const file = m[1] || m[2];
    if (!file.includes('/node_modules/') && file !== __filename && !files.includes(file)) files.push(file);
  }
  return files;
}

function install(sink) {
  const { Client } = require('@smithy/core/client');
  const original = Client.prototype.send;
  // Module registries may share one SDK copy: one recorder per copy is enough.
  if (original.__mlshipRecorded) return () => undefined;
  const patched = function send(command, ...rest) {
    try {
      sink({
        client: this.constructor.name,
        command: command.constructor.name,
        input: command.input,
        files: callerFiles(),
        pid: process.pid,
      });
    } catch (e) {
      process.stderr.write(`aws call recorder: ${e?.message}\n`);
    }
    return original.call(this, command, ...rest);
  };
  patched.__mlshipRecorded = true;
  Client.prototype.send = patched;
  return () => {
    Client.prototype.send = original;
  };
}

module.exports = { install };

const logFile = process.env.MLSHIP_AWS_CALL_LOG;
if (logFile) {
  // Preloaded with --require: record to the file (inputs are dropped to keep the file small and clean).
  install((call) => appendFileSync(logFile, `${JSON.stringify({ ...call, input: pick(call.input) })}\n`));
}

/** The input fields that name a resource; nothing else (no item values, no bodies). */
function pick(input) {
  const out = {};
  for (const k of ['TableName', 'IndexName', 'Bucket', 'Key', 'Prefix', 'QueueUrl', 'EndpointName', 'ReturnValues'])
    if (input && input[k] !== undefined) out[k] = input[k];
  return out;
}
