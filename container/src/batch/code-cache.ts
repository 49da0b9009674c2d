/**
 * V8's code cache for the bundled batch worker. Every worker compiles the ~950 KB bundle and the
 * functions its start runs (zod's schemas, the ONNX reader), about 8 ms of the 60 a worker takes to be
 * ready; with the cache written beside the bundle at build time, V8 reads that code compiled. V8 rejects
 * a cache made for other source or another Node, and the bundle then compiles as it would without one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Script } from 'node:vm';

/** Where a bundle's code cache sits: beside it. */
export const codeCacheOf = (bundle: string): string => `${bundle}.cache`;

/** CommonJS's own wrapper: a cache holds for exactly the source it was made from, so both sides wrap alike. */
const HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const TAIL = '\n})';

/**
 * A worker's entry (`eval: true`) that runs the CommonJS bundle `bundle` from its code cache when there
 * is one V8 takes, with the `require`, `module` and file names the bundle would have had.
 */
export function cachedEntry(bundle: string): string {
  return `
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');
const file = ${JSON.stringify(bundle)};
let cachedData;
try { cachedData = readFileSync(${JSON.stringify(codeCacheOf(bundle))}); } catch {}
const script = new Script(${JSON.stringify(HEAD)} + readFileSync(file, 'utf8') + ${JSON.stringify(TAIL)}, { filename: file, cachedData });
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
`;
}

/**
 * Runs the bundle's top level once here (outside a worker thread the batch worker starts nothing) and
 * writes V8's code cache of all it compiled beside it. A build step: the image's Dockerfile and the
 * batch bench call it on the bundle they make.
 */
export function writeCodeCache(bundle: string): number {
  const script = new Script(`${HEAD}${readFileSync(bundle, 'utf8')}${TAIL}`, { filename: bundle });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, path.dirname(bundle));
  const data = script.createCachedData();
  writeFileSync(codeCacheOf(bundle), data);
  return data.byteLength;
}
