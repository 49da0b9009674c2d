/**
 * The programs outside node_modules that some tests drive: a browser, a template linter, other HTTP
 * clients and Python's training stack. A check that needs one goes through `describeWithTools` or
 * `withTools`: where a tool is missing the check is skipped, and jest's global teardown
 * (skipped-tools-teardown.js) names it with the command that installs the tool in one line at the end of
 * the run. With MLSHIP_REQUIRE_TOOLS=1 (set by .ci/run, which installs them all) a missing tool fails.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ExternalTool {
  /** A command that exits 0 when the tool is there and usable. */
  probe: [string, ...string[]];
  /** The Debian packages that bring it (what .ci/run installs). */
  apt?: string[];
  /** The pip packages that bring it. */
  pip?: string[];
}

export const CHROMIUM = '/usr/bin/chromium';
export const PYTHON = '/usr/bin/python3';

export const EXTERNAL_TOOLS = {
  chromium: { probe: [CHROMIUM, '--version'], apt: ['chromium'] },
  'cfn-lint': { probe: ['cfn-lint', '--version'], pip: ['cfn-lint'] },
  curl: { probe: ['curl', '--version'], apt: ['curl'] },
  python3: { probe: [PYTHON, '-c', ''], apt: ['python3'] },
  'python3-sklearn': {
    // Submodules: an empty folder named sklearn would still import as a namespace package.
    probe: [PYTHON, '-c', 'import numpy.linalg, onnx.helper, sklearn.base'],
    apt: ['python3-numpy', 'python3-sklearn', 'python3-onnx'],
  },
} satisfies Record<string, ExternalTool>;

export type ToolName = keyof typeof EXTERNAL_TOOLS;

/** Set to 1, a missing tool fails its checks instead of skipping them. */
export const REQUIRE_TOOLS_VAR = 'MLSHIP_REQUIRE_TOOLS';
/** The folder jest's global setup made for this run; each skip leaves one JSON file there. */
export const SKIPPED_DIR_VAR = 'MLSHIP_SKIPPED_TOOLS_DIR';

export interface SkipMarker {
  check: string;
  tools: { name: ToolName; install: string }[];
}

export function installCommand(name: ToolName): string {
  const tool: ExternalTool = EXTERNAL_TOOLS[name];
  if (tool.apt) return `sudo apt-get install ${tool.apt.join(' ')}`;
  return `pip install ${(tool.pip ?? []).join(' ')}`;
}

const present = new Map<ToolName, boolean>();

export function toolPresent(name: ToolName): boolean {
  let ok = present.get(name);
  if (ok === undefined) {
    const [command, ...args] = EXTERNAL_TOOLS[name].probe;
    const res = spawnSync(command, args, { stdio: 'ignore', timeout: 60_000 });
    ok = res.error === undefined && res.status === 0;
    present.set(name, ok);
  }
  return ok;
}

function missingHint(missing: ToolName[]): string {
  return missing.map((t) => `${t} (${installCommand(t)})`).join(', ');
}

/** The tools of `tools` that are missing, after recording the skip of `check`; throws when tools are required. */
function missingFor(tools: ToolName[], check: string): ToolName[] {
  const missing = tools.filter((t) => !toolPresent(t));
  if (missing.length === 0) return missing;
  if (process.env[REQUIRE_TOOLS_VAR] === '1')
    throw new Error(`${check} needs ${missingHint(missing)}, and ${REQUIRE_TOOLS_VAR}=1 makes every external tool required.`);
  const marker: SkipMarker = { check, tools: missing.map((name) => ({ name, install: installCommand(name) })) };
  const dir = process.env[SKIPPED_DIR_VAR];
  if (dir) writeFileSync(join(dir, `${randomUUID()}.json`), JSON.stringify(marker));
  else process.stderr.write(`skipped: ${check}, for want of ${missingHint(missing)}\n`);
  return missing;
}

/** `describe(name, fn)` where every tool is there; skipped and reported where one is missing. */
export function describeWithTools(tools: ToolName[], name: string, fn: () => void): void {
  let missing: ToolName[];
  try {
    missing = missingFor(tools, name);
  } catch (e) {
    const error = e as Error;
    describe(name, () =>
      test(`needs ${tools.join(', ')}`, () => {
        throw error;
      }),
    );
    return;
  }
  (missing.length === 0 ? describe : describe.skip)(name, fn);
}

/** Runs the part of a test that needs the tools, or records its skip; a test body's own steps run either way. */
export async function withTools(tools: ToolName[], check: string, fn: () => Promise<void> | void): Promise<void> {
  if (missingFor(tools, check).length === 0) await fn();
}
