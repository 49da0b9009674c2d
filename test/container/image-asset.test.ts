/**
 * The image is built at deploy time from the folder CDK stages into the cloud assembly (after applying
 * .dockerignore), with the Dockerfile the asset manifest names. No Docker engine runs here, so this test
 * checks that staged folder as `docker build` would use it: the Dockerfile is there, every COPY/ADD source
 * of every stage resolves inside it, and the build stage's own steps (npm ci of what it copies, then each
 * esbuild command) succeed from a copy of it.
 */
import { execSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthBackend } from '../infra/synth';
import { defined } from '../support/defined';

interface DockerImageSource {
  directory: string;
  dockerFile?: string;
}

/** Every Docker image asset of the assembly, with its staged folder. */
function stagedImages(outdir: string): { stack: string; source: DockerImageSource }[] {
  return readdirSync(outdir)
    .filter((f) => f.endsWith('.assets.json'))
    .flatMap((f) => {
      const manifest = JSON.parse(readFileSync(join(outdir, f), 'utf8')) as {
        dockerImages?: Record<string, { source: DockerImageSource }>;
      };
      return Object.values(manifest.dockerImages ?? {}).map((a) => ({ stack: f, source: a.source }));
    });
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructionsOf(dockerfile: string): string[] {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The context sources of COPY/ADD (not `--from=` copies between stages), flags and destination dropped. */
function contextSources(instructions: string[]): string[] {
  return instructions
    .filter((l) => /^(COPY|ADD)\s/i.test(l) && !/\s--from=/.test(l))
    .flatMap((l) => {
      const words = l
        .split(/\s+/)
        .slice(1)
        .filter((w) => !w.startsWith('--'));
      return words.slice(0, -1);
    });
}

describe('the staged Docker image asset', () => {
  // GIVEN the app synthesized as `cdk synth` does (the image is the same for every backend)
  const synth = synthBackend('fargate');
  const outdir = synth.app.outdir;
  const images = stagedImages(outdir);
  let scratch: string | undefined;
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    rmSync(outdir, { recursive: true, force: true });
  });

  test('the assembly stages exactly one image, the model server', () => {
    expect(synth.synthError).toBeUndefined();
    expect(images).toHaveLength(1);
  });

  test('holds the Dockerfile the asset manifest names, and every COPY/ADD source of every stage', () => {
    for (const { source } of images) {
      const dir = join(outdir, source.directory);
      const dockerfile = join(dir, source.dockerFile ?? 'Dockerfile');
      // THEN docker build --file <dockerFile> . finds its Dockerfile
      expect(existsSync(dockerfile)).toBe(true);
      const sources = contextSources(instructionsOf(readFileSync(dockerfile, 'utf8')));
      expect(sources.length).toBeGreaterThan(0);
      const missing = sources.filter((s) => !existsSync(join(dir, s)));
      expect(missing).toEqual([]);
      // AND nothing that must never be sent was staged
      for (const never of ['node_modules', 'cdk.out', '.mlship', '.git']) expect(existsSync(join(dir, never))).toBe(false);
    }
  });

  test("the build stage's npm ci and esbuild commands succeed from a copy of the staged folder", () => {
    const { source } = defined(images[0], 'the first staged image');
    const staged = join(outdir, source.directory);
    const instructions = instructionsOf(readFileSync(join(staged, source.dockerFile ?? 'Dockerfile'), 'utf8'));
    scratch = mkdtempSync(join(tmpdir(), 'mlship-image-build-'));
    cpSync(staged, scratch, { recursive: true });

    // WHEN the Dockerfile's own install step runs there (from the npm cache where it can: CI has just run npm ci)
    const install = instructions.find((l) => /^RUN npm ci\b/.test(l));
    execSync(`${defined(install, 'the npm ci RUN line').replace(/^RUN /, '')} --prefer-offline`, {
      cwd: scratch,
      stdio: 'pipe',
      timeout: 240_000,
    });

    // AND each esbuild step of the Dockerfile, verbatim
    const bundles = instructions.filter((l) => /^RUN npx esbuild /.test(l));
    expect(bundles.length).toBeGreaterThanOrEqual(2);
    for (const step of bundles) execSync(step.replace(/^RUN /, ''), { cwd: scratch, stdio: 'pipe', timeout: 120_000 });

    // THEN the files the runtime stage copies from the build stage exist
    const fromBuild = instructions
      .filter((l) => /^COPY --from=build /.test(l))
      .flatMap((l) => l.split(/\s+/).slice(2, -1))
      .filter((p) => p.startsWith('/src/'));
    expect(fromBuild.length).toBeGreaterThan(0);
    for (const file of fromBuild) expect(existsSync(join(scratch, file.slice('/src/'.length)))).toBe(true);
  }, 300_000);
});
