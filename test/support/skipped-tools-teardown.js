/**
 * Jest's global teardown, which runs after the summary: one line naming each check skipped for want of
 * an external tool and the command that installs it, from the records of skipped-tools-setup.js's folder.
 */
const { readdirSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { SKIPPED_DIR_VAR } = require('./skipped-tools-setup');

/** The same name as REQUIRE_TOOLS_VAR in external-tools.ts. */
const REQUIRE_TOOLS_VAR = 'MLSHIP_REQUIRE_TOOLS';

/** The one line for the skips of a run, or undefined when nothing was skipped. */
function summaryLine(records) {
  if (records.length === 0) return undefined;
  const checks = [...new Set(records.map((r) => `${r.check} [${r.tools.map((t) => `${t.name}: ${t.install}`).join('; ')}]`))].sort();
  return `Skipped ${checks.length} check(s) whose external tool is missing (${REQUIRE_TOOLS_VAR}=1 makes them fail): ${checks.join(', ')}`;
}

function readRecords(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
}

module.exports = function reportSkips() {
  const dir = process.env[SKIPPED_DIR_VAR];
  if (!dir) return;
  const line = summaryLine(readRecords(dir));
  rmSync(dir, { recursive: true, force: true });
  if (line !== undefined) process.stderr.write(`\n${line}\n`);
};
module.exports.summaryLine = summaryLine;
module.exports.REQUIRE_TOOLS_VAR = REQUIRE_TOOLS_VAR;
