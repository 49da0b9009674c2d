import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readBaselineFile, readManifestFile } from '../../contract/model-files';

const MODEL_DIR = resolve(__dirname, '../../models/breast-cancer');

describe('readManifestFile and readBaselineFile', () => {
  it('read a model folder by absolute path, or relative to a base folder', () => {
    expect(readManifestFile(join(MODEL_DIR, 'model.json')).name).toBe('breast-cancer');
    expect(readManifestFile('model.json', MODEL_DIR).name).toBe('breast-cancer');
    expect(readBaselineFile('baseline.json', MODEL_DIR).features).toHaveLength(30);
  });

  it('name the file that cannot be read, is not JSON or does not fit its schema', () => {
    // GIVEN a folder with a manifest that is not JSON and a baseline that does not fit the schema
    const dir = mkdtempSync(join(tmpdir(), 'mlship-model-files-'));
    writeFileSync(join(dir, 'model.json'), '{ not json');
    writeFileSync(join(dir, 'baseline.json'), '{"rows": 0}');
    // THEN each error names the file and what is wrong with it
    expect(() => readManifestFile('model.json', dir)).toThrow(`Cannot read the model manifest ${join(dir, 'model.json')}: `);
    expect(() => readManifestFile('missing.json', dir)).toThrow(/Cannot read the model manifest .*missing\.json: ENOENT/);
    expect(() => readBaselineFile('baseline.json', dir)).toThrow(`Invalid model baseline ${join(dir, 'baseline.json')}`);
    expect(() => readBaselineFile('none.json', dir)).toThrow(/none\.json does not exist; the training script writes it beside model\.json/);
  });
});
