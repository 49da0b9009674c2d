/**
 * How a handler is bundled, in one place for the CDK functions and the cold-start benchmark.
 *
 * ES modules with code splitting: every `import()` the handlers make (the S3 and SQS clients of rare
 * paths, the SageMaker runtime client of the other backend, the SDK's SSO/STS credential providers)
 * becomes a chunk file loaded only when that path runs, so a cold start parses only what the common
 * path needs. `NodejsFunction` writes a single file (`--outfile`) and cannot split, hence our own
 * local bundling with the same esbuild.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { BundlingOptions, ILocalBundling } from 'aws-cdk-lib';
import type { BuildOptions } from 'esbuild';

/** The entry file inside the asset; the Lambda handler is `index.handler`. */
export const ENTRY_NAME = 'index';
export const LAMBDA_HANDLER = `${ENTRY_NAME}.handler`;

/**
 * ES modules have no `require`, `__dirname` or `__filename`; bundled CommonJS dependencies (and the
 * handlers, which find their data files beside the code) use them. Each output file defines its own.
 */
const COMMONJS_GLOBALS = [
  "import { createRequire as __mlshipRequire } from 'node:module';",
  "import { dirname as __mlshipDirname } from 'node:path';",
  "import { fileURLToPath as __mlshipFileUrl } from 'node:url';",
  'const require = __mlshipRequire(import.meta.url);',
  'const __filename = __mlshipFileUrl(import.meta.url);',
  'const __dirname = __mlshipDirname(__filename);',
].join('');

/** esbuild options of a handler bundle: `entry` (a `lambda/<name>.ts`) into `outdir`. */
export function lambdaBuildOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: { [ENTRY_NAME]: entry },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    target: 'node22',
    minify: true,
    treeShaking: true,
    // Prefer the packages' ES module builds, which esbuild can tree-shake (the SDK's CJS builds cannot be).
    mainFields: ['module', 'main'],
    // Stack traces name the TypeScript file and line (the functions run with --enable-source-maps); the
    // maps leave out the sources themselves, which halves them and the time Node spends reading them.
    sourcemap: 'linked',
    sourcesContent: false,
    banner: { js: COMMONJS_GLOBALS },
    legalComments: 'none',
    logLevel: 'error',
  };
}

export interface FileCopy {
  /** Absolute path of the file or folder to copy. */
  readonly from: string;
  /** Name inside the bundle. */
  readonly to: string;
}

/** Bundles a handler with the project's esbuild at synth (never Docker), then copies its data files beside it. */
export class LocalLambdaBundling implements ILocalBundling {
  constructor(
    private readonly entry: string,
    private readonly copies: readonly FileCopy[],
  ) {}

  tryBundle(outputDir: string, _options: BundlingOptions): boolean {
    // Loaded here, not at module scope: synthesizing a stack without functions needs no esbuild.
    const esbuild = require('esbuild') as typeof import('esbuild');
    esbuild.buildSync(lambdaBuildOptions(this.entry, outputDir));
    for (const c of this.copies) cpSync(c.from, join(outputDir, c.to), { recursive: true });
    return true;
  }
}
