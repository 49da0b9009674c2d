import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { modelPackageFiles, packModel, packModelSync } from '../../contract/model-package';
import { defined } from '../support/defined';
import { TINY_MANIFEST, tinyLinearOnnx } from '../support/tiny-onnx';

const manifest = TINY_MANIFEST;

function modelDir(mtime: Date, mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlship-pkg-'));
  writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'tiny.onnx'), tinyLinearOnnx(2).model);
  writeFileSync(join(dir, 'notes.txt'), 'not part of the package');
  for (const f of ['model.json', 'tiny.onnx']) {
    chmodSync(join(dir, f), mode);
    utimesSync(join(dir, f), mtime, mtime);
  }
  return dir;
}

describe('packModel', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const make = (mtime: Date, mode: number) => {
    const d = modelDir(mtime, mode);
    dirs.push(d);
    return d;
  };

  it('gives the same bytes whatever the files mtime and mode, sync or async', async () => {
    // GIVEN two copies of one model written at different times with different modes
    const a = make(new Date('2021-05-01T10:00:00Z'), 0o644);
    const b = make(new Date('2024-11-30T23:59:59Z'), 0o775);
    // WHEN both are packed
    const pa = await packModel(a, join(a, 'out', 'model.tar.gz'));
    const pb = packModelSync(b, join(b, 'out', 'model.tar.gz'));
    // THEN the archives are identical
    expect(pa.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(pb.sha256).toBe(pa.sha256);
    expect(readFileSync(join(a, 'out', 'model.tar.gz')).equals(readFileSync(join(b, 'out', 'model.tar.gz')))).toBe(true);
  });

  it('writes a gzip header without timestamp and with the "unknown" OS byte', async () => {
    const d = make(new Date(), 0o644);
    await packModel(d, join(d, 'model.tar.gz'));
    const gz = readFileSync(join(d, 'model.tar.gz'));
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    expect(gz.readUInt32LE(4)).toBe(0);
    expect(gz[9]).toBe(255);
  });

  it('holds exactly the manifest and the ONNX file, with fixed metadata', async () => {
    const d = make(new Date(), 0o755);
    const out = join(d, 'model.tar.gz');
    await packModel(d, out);
    const entries: { path: string; mode?: number; mtime?: Date; size?: number }[] = [];
    await tar.list({ file: out, onReadEntry: (e) => entries.push({ path: e.path, mode: e.mode, mtime: e.mtime, size: e.size }) });
    expect(entries.map((e) => e.path)).toEqual(['model.json', 'tiny.onnx']);
    expect(entries.map((e) => e.mode)).toEqual([0o644, 0o644]);
    expect(entries.every((e) => e.mtime?.toISOString() === '2000-01-01T00:00:00.000Z')).toBe(true);
    expect(entries[1].size).toBe(tinyLinearOnnx(2).model.length);
  });

  it('holds the files the ONNX file keeps its tensors in (external data), and nothing else beside them', async () => {
    // GIVEN a model whose weight is kept in weights/w.bin, as exporters write large models
    const d = make(new Date(), 0o644);
    const tiny = tinyLinearOnnx(2, 'weights/w.bin');
    writeFileSync(join(d, 'tiny.onnx'), tiny.model);
    mkdirSync(join(d, 'weights'));
    writeFileSync(join(d, 'weights/w.bin'), defined(tiny.external, 'the external data'));
    // WHEN it is packed THEN the package holds the data file beside the manifest and the graph
    expect(modelPackageFiles(d)).toEqual(['model.json', 'tiny.onnx', 'weights/w.bin']);
    const out = join(d, 'model.tar.gz');
    await packModel(d, out);
    const entries: string[] = [];
    await tar.list({ file: out, onReadEntry: (e) => entries.push(e.path) });
    expect(entries).toEqual(['model.json', 'tiny.onnx', 'weights/w.bin']);
    // AND a missing data file, or one outside the model's folder, is refused by name
    rmSync(join(d, 'weights/w.bin'));
    expect(() => modelPackageFiles(d)).toThrow(/weights\/w\.bin/);
    writeFileSync(join(d, 'tiny.onnx'), tinyLinearOnnx(2, '../w.bin').model);
    expect(() => modelPackageFiles(d)).toThrow(/tensor "w" is kept in "\.\.\/w\.bin", outside the model's folder/);
  });

  it('refuses a directory whose manifest is invalid or whose ONNX file is missing', () => {
    const bad = make(new Date(), 0o644);
    writeFileSync(join(bad, 'model.json'), JSON.stringify({ ...manifest, file: 'tiny.bin' }));
    expect(() => modelPackageFiles(bad)).toThrow(/file: a file name ending in \.onnx/);
    const missing = make(new Date(), 0o644);
    rmSync(join(missing, 'tiny.onnx'));
    expect(() => modelPackageFiles(missing)).toThrow(/ENOENT/);
  });
});
