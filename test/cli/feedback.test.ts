/** `mlship feedback`: a second label is refused with the way to replace it, and `--replace` replaces it. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { feedback, invoke } from '../../cli/commands';
import { resolveTarget } from '../../cli/target';
import { PROJECT_ROOT } from '../../local/paths';
import { type LocalSystem, startLocal } from '../../local/system';

const MODEL_DIR = join(PROJECT_ROOT, 'models', 'breast-cancer');
const parity = JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[] }[] };

describe('mlship feedback', () => {
  let local: LocalSystem;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mlship-cli-feedback-'));
    local = await startLocal({
      port: 0,
      dataDir,
      modelDir: MODEL_DIR,
      apiKey: 'cli-feedback-key-0123456789abcd',
      clientApiKey: 'cli-feedback-client-0123456789ab',
      replayIntervalMs: 0,
      analyticsCompactionIntervalMs: 0,
    });
  });

  afterAll(async () => {
    await local?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a second label, naming --replace, and replaces it with --replace', async () => {
    // GIVEN a prediction with a label
    const target = await resolveTarget({ dataDir, apiKey: local.apiKey });
    const answer = (await invoke(target, [JSON.stringify({ instances: [parity.rows[0].input] })], {})) as { predictions: { id: string }[] };
    const id = answer.predictions[0].id;
    await feedback(target, id, 'benign');
    // WHEN a second label is sent without and then with --replace
    const refused = feedback(target, id, 'malignant');
    // THEN the first is refused with the command that replaces it, the second replaces the label
    await expect(refused).rejects.toThrow(`FEEDBACK_EXISTS (409)`);
    await expect(refused).rejects.toThrow(`mlship feedback ${id} malignant --replace`);
    expect(await feedback(target, id, 'malignant', { replace: true })).toMatchObject({ id, feedback: { label: 'malignant' } });
  });
});
