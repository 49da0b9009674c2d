/**
 * The image installs its own dependency list (container/package.json and its lockfile), not the kit's.
 * The list is held against what the server loads: the Dockerfile's own esbuild commands are run with a
 * metafile, and the packages the project's sources import (bundled or left external) must be exactly the
 * list's dependencies, esbuild its only devDependency, at the versions the kit itself pins and tests. The
 * lockfile must agree with the list, hold nothing the list does not reach, and lock the versions the
 * kit's own lockfile locks.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerfileInstructions } from '../support/server-bundle';
import { ROOT } from './helpers';

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

interface Lockfile {
  packages: Record<string, LockEntry>;
}

interface Metafile {
  inputs: Record<string, { imports: { path: string; kind: string; external?: boolean; original?: string }[] }>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as T;
const imageList = readJson<PackageJson>('container/package.json');
const imageLock = readJson<Lockfile>('container/package-lock.json');
const kitList = readJson<PackageJson>('package.json');
const kitLock = readJson<Lockfile>('package-lock.json');

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** The packages the project's own sources import, from the metafile of each esbuild step of the Dockerfile. */
function importedPackages(): { bundled: Set<string>; external: Set<string> } {
  const steps = dockerfileInstructions().filter((l) => l.startsWith('RUN npx esbuild '));
  const scratch = mkdtempSync(join(tmpdir(), 'mlship-image-deps-'));
  const bundled = new Set<string>();
  const external = new Set<string>();
  try {
    steps.forEach((step, i) => {
      const args = step
        .replace(/^RUN npx esbuild /, '')
        .split(/\s+/)
        .filter((a) => !a.startsWith('--outfile='));
      const metafile = join(scratch, `meta-${i}.json`);
      execFileSync(
        join(ROOT, 'node_modules/.bin/esbuild'),
        [...args, `--outfile=${join(scratch, `out-${i}.js`)}`, `--metafile=${metafile}`, '--log-level=error'],
        { cwd: ROOT },
      );
      const meta = JSON.parse(readFileSync(metafile, 'utf8')) as Metafile;
      for (const [file, input] of Object.entries(meta.inputs)) {
        if (file.includes('node_modules/')) continue;
        for (const imp of input.imports) {
          const spec = imp.original ?? imp.path;
          if (spec.startsWith('.') || spec.startsWith('node:') || imp.path.startsWith('node:')) continue;
          if (imp.external) external.add(packageOf(spec));
          else if (imp.path.includes('node_modules/')) bundled.add(packageOf(spec));
        }
      }
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  expect(steps.length).toBeGreaterThanOrEqual(3);
  return { bundled, external };
}

/** Where npm finds `name` for the package installed at `from` (`''` is the root): its own node_modules, then each parent's. */
function resolveIn(lock: Lockfile, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (dir === '') return undefined;
    const parent = dir.lastIndexOf('/node_modules/');
    dir = parent === -1 ? '' : dir.slice(0, parent);
  }
}

/** Every lock entry `npm ci` installs for the root's dependencies (optional ones where the lock has them). */
function reachable(lock: Lockfile): Set<string> {
  const seen = new Set<string>();
  const queue: string[] = [''];
  while (queue.length > 0) {
    const at = queue.shift() as string;
    const entry = lock.packages[at] ?? {};
    const required = { ...entry.dependencies, ...(at === '' ? entry.devDependencies : {}) };
    const names = [
      ...Object.keys(required),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}),
    ];
    for (const name of names) {
      const found = resolveIn(lock, at, name);
      if (found === undefined) {
        // A required dependency must be in the lock; optional and peer ones may be absent.
        expect({ from: at, missing: name, required: name in required }).toEqual({ from: at, missing: name, required: false });
        continue;
      }
      if (!seen.has(found)) {
        seen.add(found);
        queue.push(found);
      }
    }
  }
  return seen;
}

describe("the image's dependency list", () => {
  const { bundled, external } = importedPackages();

  test('is exactly the packages the server, its commands and its workers import; esbuild is its only build tool', () => {
    // The image's onnxruntime copy step and the runtime stage rely on onnxruntime-node being the one external.
    expect([...external]).toEqual(['onnxruntime-node']);
    expect(Object.keys(imageList.dependencies ?? {}).sort()).toEqual([...bundled, ...external].sort());
    expect(Object.keys(imageList.devDependencies ?? {})).toEqual(['esbuild']);
    // No CDK, CLI or local-runner package reaches the image.
    for (const name of ['aws-cdk-lib', 'constructs', 'dynalite', 's3rver', 'tsx']) expect(bundled.has(name)).toBe(false);
  });

  test('pins the versions the kit pins (the image runs what the tests ran)', () => {
    const all = { ...imageList.dependencies, ...imageList.devDependencies };
    const kit = { ...kitList.dependencies, ...kitList.devDependencies };
    for (const [name, version] of Object.entries(all)) expect({ name, version }).toEqual({ name, version: kit[name] });
  });
});

describe("the image's lockfile", () => {
  const root = imageLock.packages[''] ?? {};

  test('agrees with the list, as `npm ci` requires', () => {
    expect(root.dependencies).toEqual(imageList.dependencies);
    expect(root.devDependencies).toEqual(imageList.devDependencies);
    for (const [name, version] of Object.entries({ ...imageList.dependencies, ...imageList.devDependencies }))
      expect({ name, locked: imageLock.packages[`node_modules/${name}`]?.version }).toEqual({ name, locked: version });
  });

  test('holds nothing the list does not reach, and only esbuild and its binaries as build tools', () => {
    const installed = Object.keys(imageLock.packages).filter((p) => p !== '');
    expect(installed.filter((p) => !reachable(imageLock).has(p))).toEqual([]);
    const dev = installed.filter((p) => imageLock.packages[p]?.dev);
    expect(dev).toContain('node_modules/esbuild');
    for (const p of dev) expect(p).toMatch(/^node_modules\/(esbuild|@esbuild\/[\w-]+)$/);
  });

  test('locks the versions the kit’s own lockfile locks', () => {
    const differs = Object.entries(imageLock.packages)
      .filter(([p]) => p !== '')
      .filter(([p, e]) => kitLock.packages[p]?.version !== e.version)
      .map(([p, e]) => `${p}: ${e.version} here, ${kitLock.packages[p]?.version ?? 'absent'} in package-lock.json`);
    expect(differs).toEqual([]);
  });
});
