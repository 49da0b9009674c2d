/**
 * The start banner's example request: a real row (the parity file's first, else each feature's training
 * median or most common value from the baseline) that the running model answers; a model folder with
 * neither file asks for one of the user's rows instead of sending made-up values.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readManifestFile } from '../../contract/model-files';
import { exampleLines, exampleRow } from '../../local/example';
import { PROJECT_ROOT } from '../../local/paths';
import { startLocal } from '../../local/system';
import { defined } from '../support/defined';
import { withTools } from '../support/external-tools';

const MODEL_DIR = join(PROJECT_ROOT, 'models', 'diabetes-risk');
const manifest = readManifestFile(join(MODEL_DIR, 'model.json'));
const parity = JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: unknown[] }[] };
const baseline = JSON.parse(readFileSync(join(MODEL_DIR, 'baseline.json'), 'utf8')) as {
  features: { name: string; edges?: number[]; proportions: number[]; categories?: string[] }[];
};

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'mlship-example-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the model folder with only the given files beside model.json and model.onnx. */
function modelFolder(name: string, files: string[]): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  for (const f of ['model.json', 'model.onnx', ...files]) copyFileSync(join(MODEL_DIR, f), join(dir, f));
  return dir;
}

test("takes the parity file's first row", () => {
  expect(exampleRow(MODEL_DIR, manifest)).toEqual({ instance: parity.rows[0].input, from: 'the first row of parity.json' });
});

test('without a usable parity file, takes the training medians and most common values of the baseline', () => {
  // GIVEN a folder with a baseline and a parity file that is not JSON
  const dir = modelFolder('baseline-only', ['baseline.json']);
  writeFileSync(join(dir, 'parity.json'), '{ not json');
  const example = defined(exampleRow(dir, manifest), 'the example row');
  const row = example.instance as unknown[];
  // THEN each numeric feature is the upper edge of the bin holding the middle training row, sex its most common value
  const age = baseline.features[0];
  expect(age.name).toBe('age');
  const cumulative = age.proportions.map((_p, i) => age.proportions.slice(0, i + 1).reduce((a, b) => a + b, 0));
  expect(row).toHaveLength(10);
  expect(row[0]).toBe(age.edges?.[cumulative.findIndex((c) => c >= 0.5)]);
  expect(row[9]).toBe('1');
  expect(example.from).toBe("each feature's training median or most common value (baseline.json)");
});

test('with neither file, asks for a row of the user, naming the features in order, and sends no made-up values', () => {
  const dir = modelFolder('bare', []);
  expect(exampleRow(dir, manifest)).toBeUndefined();
  const lines = exampleLines('http://127.0.0.1:3000', 'k', manifest, undefined);
  expect(lines.join('\n')).toContain('has no parity.json or baseline.json');
  expect(lines.join('\n')).toContain('{"instances": [ROW]}, ROW being [10 values in the order age, bmi, bp, s1, s2, s3, s4, s5, s6, sex]');
  expect(lines[lines.length - 1]).toBe(
    "  curl -s -X POST http://127.0.0.1:3000/predict -H 'x-api-key: k' -H 'content-type: application/json' -d @row.json",
  );
});

test("the banner's curl for the baseline row, pasted as is, gets the model's answer", async () => {
  const dir = modelFolder('served', ['baseline.json']);
  const local = await startLocal({
    port: 0,
    inMemory: true,
    modelDir: dir,
    apiKey: 'example-test-key-0123456789abcdef',
    replayIntervalMs: 0,
  });
  try {
    const [title, curl] = exampleLines(local.url, local.apiKey, manifest, exampleRow(dir, manifest));
    expect(title).toContain('baseline.json');
    await withTools(['curl'], "the start banner's example curl", async () => {
      // Asynchronously: the server answering it runs in this process.
      const out = await promisify(execFile)('bash', ['-c', curl], { encoding: 'utf8' });
      expect(JSON.parse(out.stdout)).toMatchObject({ predictions: [{ label: expect.stringMatching(/^(high|low)$/) }] });
    });
  } finally {
    await local.stop();
  }
});
