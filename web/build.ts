/**
 * Builds the dashboard into `web/dist/`: the TypeScript bundled by esbuild into one `app-<hash>.js`, the
 * page's styles and uPlot's styles beside it under content-hashed names, and `index.html` pointing at
 * them. The page is served at the API's root and its files under `dashboard/` (see contract/routes.ts),
 * so the hashed files can be cached forever and only `index.html` is revalidated.
 * `npm run build:web` runs it; the CDK app, the local runner and the browser test call `ensureWebBuilt*()`
 * so the page is there right after `npm ci`.
 */

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { type BuildOptions, buildSync } from 'esbuild';
import { errorMessage } from '../contract/errors';
import { DASHBOARD_PATH_PREFIX } from '../contract/routes';

export const WEB_DIR = __dirname;
export const WEB_DIST = join(WEB_DIR, 'dist');
export const INDEX_FILE = 'index.html';

/** Stylesheets linked by the page, by the name `index.html` uses. */
const STYLESHEETS: [nameInPage: string, source: string][] = [
  ['uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css')],
  ['styles.css', join(WEB_DIR, 'styles.css')],
];

const esbuildOptions = (outDir: string): BuildOptions => ({
  entryPoints: [join(WEB_DIR, 'src', 'main.ts')],
  outdir: outDir,
  entryNames: 'app-[hash]',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
});

/** Builds the dashboard (synchronously: the CDK app builds it during synth). */
export function buildWebSync(outDir = WEB_DIST): string {
  // Old hashed files must not linger: the folder is bundled into the meta function as is.
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = buildSync(esbuildOptions(outDir));
  const script = Object.keys(result.metafile?.outputs ?? {})
    .map((f) => basename(f))
    .find((f) => f.endsWith('.js'));
  if (script === undefined) throw new Error('esbuild wrote no script for the dashboard');

  let page = readFileSync(join(WEB_DIR, INDEX_FILE), 'utf8').replace('src="app.js"', `src="${DASHBOARD_PATH_PREFIX}${script}"`);
  for (const [name, source] of STYLESHEETS) {
    const content = readFileSync(source);
    const hashed = `${basename(name, extname(name))}-${createHash('sha256').update(content).digest('hex').slice(0, 10)}${extname(name)}`;
    writeFileSync(join(outDir, hashed), content);
    page = page.replace(`href="${name}"`, `href="${DASHBOARD_PATH_PREFIX}${hashed}"`);
  }
  if (/(src|href)="(?!dashboard\/)[^"]+\.(js|css)"/.test(page)) throw new Error(`${INDEX_FILE} links a file the build does not produce`);
  writeFileSync(join(outDir, INDEX_FILE), page);
  return outDir;
}

export async function buildWeb(outDir = WEB_DIST): Promise<string> {
  return buildWebSync(outDir);
}

/** True when the page is missing or older than any source file. */
export function webBuildIsStale(outDir = WEB_DIST): boolean {
  const index = join(outDir, INDEX_FILE);
  return !existsSync(index) || newestSource() > statSync(index).mtimeMs;
}

/** Builds when the page is missing or stale. */
export function ensureWebBuiltSync(outDir = WEB_DIST): string {
  if (webBuildIsStale(outDir)) buildWebSync(outDir);
  return outDir;
}

export async function ensureWebBuilt(outDir = WEB_DIST): Promise<string> {
  return ensureWebBuiltSync(outDir);
}

function newestSource(): number {
  const files = [
    join(WEB_DIR, INDEX_FILE),
    join(WEB_DIR, 'styles.css'),
    ...readdirSync(join(WEB_DIR, 'src')).map((f) => join(WEB_DIR, 'src', f)),
  ];
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

if (require.main === module) {
  buildWeb()
    .then((dir) => process.stdout.write(`dashboard built in ${dir}\n`))
    .catch((e: unknown) => {
      process.stderr.write(`${errorMessage(e)}\n`);
      process.exit(1);
    });
}
