/**
 * A folder laid out like the bucket as compaction's object store: the tests and the benchmark compact a
 * store of plain files with the same code the function runs against S3.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { ObjectStore } from '../../lambda/analytics/compact';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

export function folderObjectStore(root: string): ObjectStore {
  return {
    async list(prefix) {
      // The prefixes compaction lists end in "/": the folder of that name.
      return filesUnder(join(root, prefix))
        .map((f) => relative(root, f).split(sep).join('/'))
        .filter((k) => k.startsWith(prefix))
        .sort();
    },
    async get(key) {
      return new Uint8Array(readFileSync(join(root, key)));
    },
    async put(key, body) {
      const file = join(root, key);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, body);
    },
    async delete(keys) {
      for (const k of keys) rmSync(join(root, k), { force: true });
    },
  };
}
