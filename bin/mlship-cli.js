#!/usr/bin/env node
/**
 * The `mlship` bin. It runs the command line (bin/mlship-cli.ts) from one JavaScript file that esbuild
 * bundles from the TypeScript sources, as the Lambda functions are bundled, so no command waits for
 * TypeScript. The bundle is kept in .mlship/cli/ and built again whenever a source it holds is newer;
 * `npm ci` runs no install scripts in this project (.npmrc), so the first command after it builds it.
 * Packages stay outside the bundle and load from node_modules, each when a command needs it.
 */

const { mkdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const { dirname, join, relative, resolve, sep } = require('node:path');

const ROOT = resolve(__dirname, '..');
const ENTRY = join(__dirname, 'mlship-cli.ts');
const OUT_DIR = join(ROOT, '.mlship', 'cli');
const BUNDLE = join(OUT_DIR, 'mlship.js');
/** The files the bundle was built from (repository-relative), this file included: any newer one makes it stale. */
const INPUTS = join(OUT_DIR, 'inputs.json');

function isFresh() {
  try {
    const built = JSON.parse(readFileSync(INPUTS, 'utf8'));
    // The sources' own folders are written into the bundle (below): a moved checkout builds again.
    if (built.root !== ROOT) return false;
    const builtAt = statSync(BUNDLE).mtimeMs;
    return built.files.every((file) => statSync(join(ROOT, file)).mtimeMs <= builtAt);
  } catch {
    // No bundle yet, or an input is gone.
    return false;
  }
}

/**
 * Sources find files beside themselves (`__dirname`: the project root, the dashboard, worker threads run
 * from their TypeScript source): each keeps its own folder inside the bundle.
 */
const ownFolder = {
  name: 'own-folder',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(source)) return undefined;
      // One line, so the source's line numbers stay as they are.
      const prelude = `const __dirname = ${JSON.stringify(dirname(args.path))}; const __filename = ${JSON.stringify(args.path)};`;
      return { contents: prelude + source, loader: 'ts' };
    });
  },
};

async function build() {
  const esbuild = require('esbuild');
  // The bundle is dated when its sources were read: a source saved during the build makes it stale.
  const startedAt = new Date();
  mkdirSync(OUT_DIR, { recursive: true });
  // Written beside and renamed: two first runs at once each leave a whole bundle.
  const tmp = `${BUNDLE}.${process.pid}.tmp`;
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    plugins: [ownFolder],
    metafile: true,
    logLevel: 'error',
    // `require.main === module` in a script's own entry code: false here, as the bundle is never the main module.
    logOverride: { 'commonjs-variable-in-esm': 'silent' },
  });
  // The metafile names the inputs relative to absWorkingDir.
  const files = [...Object.keys(result.metafile.inputs), relative(ROOT, __filename)];
  writeFileSync(`${INPUTS}.${process.pid}.tmp`, JSON.stringify({ root: ROOT, files }));
  utimesSync(tmp, startedAt, startedAt);
  renameSync(tmp, BUNDLE);
  renameSync(`${INPUTS}.${process.pid}.tmp`, INPUTS);
}

if (isFresh()) {
  require(BUNDLE);
} else {
  build().then(
    () => require(BUNDLE),
    (e) => {
      process.stderr.write(`mlship: the command line could not be built: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
