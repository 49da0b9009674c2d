/**
 * `mlship invoke rows.csv` against a local system serving a model with a string column: the file goes to
 * the API as text/csv, so its cells are read by the manifest's feature types (the sex column holds "1"
 * and "2" as strings) and its header by feature name, the answers those of the same rows sent as JSON.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiCallError } from '../../cli/api';
import { invoke } from '../../cli/commands';
import { resolveTarget, type Target } from '../../cli/target';
import type { PredictResponse } from '../../contract/prediction';
import { PROJECT_ROOT } from '../../local/paths';
import { type LocalSystem, startLocal } from '../../local/system';

const MODEL_DIR = join(PROJECT_ROOT, 'models', 'diabetes-risk');
const parity = JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: unknown[]; label: string }[] };
const FEATURES = ['age', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6', 'sex'];
const ROWS = parity.rows.slice(0, 3);

const labels = (r: PredictResponse) => r.predictions.map((p) => ('label' in p ? p.label : undefined));

describe('mlship invoke with a CSV file', () => {
  let local: LocalSystem;
  let dataDir: string;
  let target: Target;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mlship-cli-invoke-'));
    local = await startLocal({
      port: 0,
      dataDir,
      modelDir: MODEL_DIR,
      apiKey: 'cli-invoke-key-0123456789abcdef',
      replayIntervalMs: 0,
      analyticsCompactionIntervalMs: 0,
    });
    target = await resolveTarget({ dataDir, apiKey: local.apiKey });
  });

  afterAll(async () => {
    await local?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const csvFile = (name: string, lines: string[]) => {
    const file = join(dataDir, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };

  it('predicts rows with a string column, with a header in any column order or without one, as JSON does', async () => {
    // GIVEN the rows as JSON, as CSV without a header, and as CSV with the columns reversed under a header
    const fromJson = await invoke(target, [JSON.stringify({ instances: ROWS.map((r) => r.input) })], {});
    const plain = csvFile(
      'plain.csv',
      ROWS.map((r) => r.input.join(',')),
    );
    const reversed = csvFile('reversed.csv', [[...FEATURES].reverse().join(','), ...ROWS.map((r) => [...r.input].reverse().join(','))]);
    // WHEN each is invoked, THEN every answer is the parity file's label
    expect(labels(fromJson)).toEqual(ROWS.map((r) => r.label));
    expect(labels(await invoke(target, [plain], {}))).toEqual(ROWS.map((r) => r.label));
    expect(labels(await invoke(target, [reversed], {}))).toEqual(ROWS.map((r) => r.label));
  });

  it("answers a header naming a column the model does not have with the API's error", async () => {
    const file = csvFile('extra.csv', [[...FEATURES, 'label'].join(','), `${ROWS[0].input.join(',')},low`]);
    const call = invoke(target, [file], {});
    await expect(call).rejects.toBeInstanceOf(ApiCallError);
    await expect(call).rejects.toMatchObject({ status: 400, code: 'INVALID_HEADER' });
  });
});
