/**
 * Jest's global setup: a fresh folder for this run's records of checks skipped for want of an external
 * tool (test/support/external-tools.ts writes one JSON file a skip). Its path reaches the test workers,
 * which jest starts after this, through the environment; skipped-tools-teardown.js reads the folder.
 */
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

/** The same name as SKIPPED_DIR_VAR in external-tools.ts (test/support/external-tools.test.ts holds them together). */
const SKIPPED_DIR_VAR = 'MLSHIP_SKIPPED_TOOLS_DIR';

module.exports = function startSkipRecords() {
  process.env[SKIPPED_DIR_VAR] = mkdtempSync(join(tmpdir(), 'mlship-skipped-tools-'));
};
module.exports.SKIPPED_DIR_VAR = SKIPPED_DIR_VAR;
