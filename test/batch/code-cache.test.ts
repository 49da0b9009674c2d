/**
 * @jest-environment ./test/container/onnx-environment.js
 */
/**
 * The batch worker as the image ships it: the Dockerfile's esbuild command for `batch-worker.js`, V8's
 * code cache written beside it, and runs from that bundle answering exactly as the run from source —
 * with the cache, and with a cache V8 must refuse (the bundle then compiles as usual).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { codeCacheOf, writeCodeCache } from '../../container/src/batch/code-cache';
import { runBatch } from '../../container/src/batch/run-batch';
import { writeDataset } from '../support/dataset';
import { dockerfileInstructions } from '../support/server-bundle';

const ROOT = path.resolve(__dirname, '../..');
const MODEL_DIR = path.join(ROOT, 'models/breast-cancer');

let dir: string;
let bundle: string;
let input: string;
let fromSource: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-batch-cache-'));
  // GIVEN the worker bundled with the Dockerfile's own command, onnxruntime beside it as in the image
  const command = dockerfileInstructions().find((l) => l.startsWith('RUN npx esbuild container/src/batch/worker.ts'));
  if (command === undefined) throw new Error('container/Dockerfile has no `RUN npx esbuild container/src/batch/worker.ts` step');
  const args = command
    .replace(/^RUN npx esbuild /, '')
    .split(/\s+/)
    .filter((a) => !a.startsWith('--outfile='));
  bundle = path.join(dir, 'batch-worker.js');
  execFileSync(path.join(ROOT, 'node_modules/.bin/esbuild'), [...args, `--outfile=${bundle}`, '--log-level=warning'], { cwd: ROOT });
  mkdirSync(path.join(dir, 'node_modules'));
  for (const pkg of ['onnxruntime-node', 'onnxruntime-common'])
    symlinkSync(path.join(ROOT, 'node_modules', pkg), path.join(dir, 'node_modules', pkg));
  input = path.join(dir, 'in.csv');
  await writeDataset(input, { modelDir: MODEL_DIR, rows: 5000, format: 'csv', seed: 3, badEvery: 97 });
  fromSource = path.join(dir, 'from-source.csv');
  await runBatch({ model: MODEL_DIR, input, output: fromSource, workers: 2, progress: false });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the Dockerfile writes the code cache beside the worker bundle and copies both into the image', () => {
  const steps = dockerfileInstructions();
  expect(steps.some((l) => l.includes('writeCodeCache') && l.includes('dist/batch-worker.js'))).toBe(true);
  expect(steps.find((l) => l.startsWith('COPY --from=build /src/dist/server.js'))).toContain('/src/dist/batch-worker.js.cache');
});

test('a run from the bundle with its code cache answers as the run from source', async () => {
  // WHEN the cache is written and a run starts its workers from the bundle
  expect(writeCodeCache(bundle)).toBeGreaterThan(0);
  expect(statSync(codeCacheOf(bundle)).size).toBeGreaterThan(0);
  const output = path.join(dir, 'cached.csv');
  const summary = await runBatch({ model: MODEL_DIR, input, output, workers: 2, progress: false, workerScript: bundle });
  // THEN every answer is the same, byte for byte
  expect(summary.rows).toBe(5000);
  expect(readFileSync(output)).toEqual(readFileSync(fromSource));
});

test('a cache V8 refuses (not one it made) is ignored and the bundle compiles as usual', async () => {
  // GIVEN bytes in place of the cache that no V8 wrote
  writeFileSync(codeCacheOf(bundle), Buffer.alloc(4096, 7));
  const output = path.join(dir, 'refused.csv');
  // WHEN a run starts its workers from the bundle
  await runBatch({ model: MODEL_DIR, input, output, workers: 2, progress: false, workerScript: bundle });
  // THEN the answers are still the same
  expect(existsSync(output)).toBe(true);
  expect(readFileSync(output)).toEqual(readFileSync(fromSource));
});
