/** A second version of an example model for the side-by-side tests: the same files under a new manifest version. */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * Copies `modelDir` to a fresh folder with `version` in its manifest (and `edit` applied to it), so it
 * answers exactly what the original answers unless the edit says otherwise.
 */
export function modelVersionCopy(modelDir: string, version: string, edit: (manifest: Record<string, unknown>) => void = () => {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), `mlship-${version}-`));
  for (const f of readdirSync(modelDir))
    if (f.endsWith('.onnx') || f.endsWith('.json')) copyFileSync(path.join(modelDir, f), path.join(dir, f));
  const manifest = JSON.parse(readFileSync(path.join(modelDir, 'model.json'), 'utf8')) as Record<string, unknown>;
  manifest.version = version;
  edit(manifest);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest, null, 1));
  return dir;
}

/**
 * `model` whose every run first waits `ms`: a challenger slower than the shadow's grace, served by the real
 * model server (its batcher, its answer) with nothing else changed.
 */
export function slowedModel<M extends { run(rows: never[]): Promise<unknown> }>(model: M, ms: number): M {
  return new Proxy(model, {
    get(target, key) {
      if (key === 'run')
        return async (rows: never[]) => {
          await new Promise((r) => setTimeout(r, ms));
          return target.run(rows);
        };
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
