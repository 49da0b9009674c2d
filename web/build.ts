/**
 * Builds the dashboard into `web/dist/`: the TypeScript bundled by esbuild into one `app.js`, with the
 * page, its styles and uPlot's styles beside it. `npm run build:web` runs it; the local runner and the
 * browser test call `ensureWebBuilt()` so the page is there right after `npm ci`.
 */
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const WEB_DIR = __dirname;
export const WEB_DIST = join(WEB_DIR, 'dist');

const STATIC_FILES: [from: string, to: string][] = [
  [join(WEB_DIR, 'index.html'), 'index.html'],
  [join(WEB_DIR, 'styles.css'), 'styles.css'],
  [require.resolve('uplot/dist/uPlot.min.css'), 'uPlot.min.css'],
];

export async function buildWeb(outDir = WEB_DIST): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(WEB_DIR, 'src', 'main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const [from, to] of STATIC_FILES) copyFileSync(from, join(outDir, to));
  return outDir;
}

/** Builds when `app.js` is missing or older than any source file. */
export async function ensureWebBuilt(outDir = WEB_DIST): Promise<string> {
  const app = join(outDir, 'app.js');
  if (!existsSync(app) || newestSource() > statSync(app).mtimeMs) await buildWeb(outDir);
  return outDir;
}

function newestSource(): number {
  const files = [join(WEB_DIR, 'index.html'), join(WEB_DIR, 'styles.css'), ...readdirSync(join(WEB_DIR, 'src')).map((f) => join(WEB_DIR, 'src', f))];
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

if (require.main === module) {
  buildWeb()
    .then((dir) => process.stdout.write(`dashboard built in ${dir}\n`))
    .catch((e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    });
}
