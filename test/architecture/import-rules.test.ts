/**
 * The layering in one table: which top-level folder may import which. The contract is shared by all and
 * imports nothing of ours; the runtime (lambda, container), the infrastructure (lib) and the dashboard
 * (web) build on the contract alone; the local runner assembles the runtime and the dashboard on one
 * machine; the command line (cli) drives the local runner and deployed stacks, reading the app's
 * configuration but never building the app; the apps (bin), the benchmarks and the tests may use anything (tests never bench: shared test
 * helpers live in test/support). Every import of every .ts file is read with the TypeScript compiler's
 * own pre-processor, so `import type`, `export … from`, `require()` and `import()` count too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';

const ROOT = resolve(__dirname, '../..');

type Folder = 'contract' | 'lambda' | 'container' | 'lib' | 'web' | 'local' | 'cli' | 'bin' | 'bench' | 'test' | 'examples';
const EVERYTHING: readonly Folder[] = ['contract', 'lambda', 'container', 'lib', 'web', 'local', 'cli', 'bin', 'bench', 'test', 'examples'];

/** Which of our folders each folder may import (its own always). */
const MAY_IMPORT: Record<Folder, readonly Folder[]> = {
  contract: [],
  lambda: ['contract'],
  container: ['contract'],
  // Synth builds nothing: bin hands the app the built dashboard, and the manifest-vs-ONNX check is in the contract.
  lib: ['contract'],
  web: ['contract'],
  // `npm start` runs the handlers, the model server and the dashboard in one process; it never needs the CDK app.
  local: ['contract', 'lambda', 'container', 'web'],
  // `mlship` starts and talks to the local system, runs the replay handler and the batch code itself, and
  // finds the configured model in the app's configuration (lib/config.ts alone: see below).
  cli: ['contract', 'lambda', 'container', 'local', 'lib'],
  bin: EVERYTHING,
  examples: ['contract', 'lib', 'web'],
  bench: EVERYTHING,
  test: EVERYTHING.filter((f) => f !== 'bench'),
};

/**
 * Packages that only the infrastructure may load: the runtime, the dashboard, the local runner and the
 * command line never carry the CDK.
 */
const CDK_PACKAGES = /^(aws-cdk-lib|constructs|cdk-nag)(\/|$)/;
const NO_CDK: readonly Folder[] = ['contract', 'lambda', 'container', 'web', 'local', 'cli'];
/** The one file of lib the command line reads: the configuration, which carries no CDK. */
const CLI_READS_OF_LIB = ['lib/config.ts'];

const SKIP = new Set(['node_modules', 'dist', 'cdk.out', '.mlship', 'fixtures', '__snapshots__']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name) || e.name.startsWith('.')) return [];
    const full = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

interface Import {
  readonly file: string;
  readonly specifier: string;
  readonly line: number;
}

function importsOf(file: string, text = readFileSync(file, 'utf8')): Import[] {
  const info = ts.preProcessFile(text, true, true);
  const lines = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  return info.importedFiles.map((f) => ({
    file: relative(ROOT, file),
    specifier: f.fileName,
    line: lines.getLineAndCharacterOfPosition(f.pos).line + 1,
  }));
}

/** The repository path a relative specifier names, as a .ts file (`lib/config.ts`). */
function targetOf(imp: Import): string {
  return `${relative(ROOT, resolve(ROOT, dirname(imp.file), imp.specifier))
    .split(sep)
    .join('/')}.ts`;
}

/** The top-level folder a relative specifier lands in, or a note when it leaves the repository. */
function folderOf(imp: Import): string {
  const target = relative(ROOT, resolve(ROOT, dirname(imp.file), imp.specifier));
  return target.startsWith('..') ? '(outside the repository)' : target.split(sep)[0];
}

const FOLDERS = Object.keys(MAY_IMPORT) as Folder[];
const present = FOLDERS.filter((f) => readdirSync(ROOT).includes(f));
const all = present.flatMap((folder) =>
  tsFiles(join(ROOT, folder))
    .flatMap((f) => importsOf(f))
    .map((imp) => ({ folder, imp })),
);
const where = (imp: Import) => `${imp.file}:${imp.line} imports '${imp.specifier}'`;

/** The repository file a relative specifier names (`x` is `x.ts` or `x/index.ts`), or undefined. */
function fileOf(imp: Import): string | undefined {
  const base = relative(ROOT, resolve(ROOT, dirname(imp.file), imp.specifier));
  const files = new Set(all.map((a) => a.imp.file));
  return [`${base}.ts`, join(base, 'index.ts'), base].find((f) => files.has(f));
}

/** Every import cycle among the files of `folder`, each as its files in order (first repeated last). */
function cyclesIn(folder: Folder): string[][] {
  const edges = new Map<string, string[]>();
  for (const { folder: f, imp } of all) {
    if (f !== folder || !imp.specifier.startsWith('.')) continue;
    const target = fileOf(imp);
    if (target?.startsWith(`${folder}${sep}`)) edges.set(imp.file, [...(edges.get(imp.file) ?? []), target]);
  }
  const cycles: string[][] = [];
  const done = new Set<string>();
  const visit = (file: string, path: string[]) => {
    const at = path.indexOf(file);
    if (at >= 0) return void cycles.push([...path.slice(at), file]);
    if (done.has(file)) return;
    for (const next of edges.get(file) ?? []) visit(next, [...path, file]);
    done.add(file);
  };
  for (const file of edges.keys()) visit(file, []);
  return cycles;
}

describe('import rules', () => {
  it('reads the imports of every folder in the table', () => {
    for (const folder of ['contract', 'lambda', 'container', 'lib', 'web', 'local', 'cli', 'bin', 'test'] as const) {
      expect(all.filter((a) => a.folder === folder).length).toBeGreaterThan(0);
    }
    // A top-level folder with TypeScript the table does not name would escape the rules.
    const unlisted = readdirSync(ROOT, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !SKIP.has(e.name) && !e.name.startsWith('.') && e.name !== 'models')
      .map((e) => e.name)
      .filter((name) => !(FOLDERS as string[]).includes(name) && tsFiles(join(ROOT, name)).length > 0);
    expect(unlisted).toEqual([]);
  });

  it.each(FOLDERS)('%s imports only the folders it may', (folder) => {
    const allowed = new Set<string>([folder, ...MAY_IMPORT[folder]]);
    const offending = all
      .filter((a) => a.folder === folder && a.imp.specifier.startsWith('.'))
      .filter((a) => !allowed.has(folderOf(a.imp)))
      .map((a) => `${where(a.imp)} (${folderOf(a.imp)}; ${folder} may import ${[...allowed].join(', ')})`);
    expect(offending).toEqual([]);
  });

  it.each(NO_CDK)('%s never loads the CDK', (folder) => {
    const offending = all.filter((a) => a.folder === folder && CDK_PACKAGES.test(a.imp.specifier)).map((a) => where(a.imp));
    expect(offending).toEqual([]);
  });

  it('cli reads only the configuration of lib, so the command line never loads the CDK app', () => {
    const offending = all
      .filter((a) => a.folder === 'cli' && a.imp.specifier.startsWith('.') && folderOf(a.imp) === 'lib')
      .filter((a) => !CLI_READS_OF_LIB.includes(targetOf(a.imp)))
      .map((a) => where(a.imp));
    expect(offending).toEqual([]);
  });

  it('lib, lambda and container have no import cycles, type-only imports included', () => {
    // A cycle makes a module's meaning depend on load order and keeps its parts from being read alone.
    expect(['lib', 'lambda', 'container'].flatMap((f) => cyclesIn(f as Folder)).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('sees every form of import', () => {
    // GIVEN a lib file that reaches into the runtime in each way TypeScript allows
    const file = join(ROOT, 'lib', 'leaky.ts');
    const text = [
      "import type { A } from '../lambda/a';",
      "export { B } from '../lambda/b';",
      "const c = require('../lambda/c');",
      "const d = await import('../lambda/d');",
    ].join('\n');
    // WHEN its imports are read
    const imports = importsOf(file, text);
    // THEN each is found, on its line, landing in a folder lib may not import
    expect(imports.map((i) => [i.specifier, i.line, folderOf(i)])).toEqual([
      ['../lambda/a', 1, 'lambda'],
      ['../lambda/b', 2, 'lambda'],
      ['../lambda/c', 3, 'lambda'],
      ['../lambda/d', 4, 'lambda'],
    ]);
    expect(MAY_IMPORT.lib).not.toContain('lambda');
  });
});
