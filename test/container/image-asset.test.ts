/**
 * The image is built at deploy time from the folder CDK stages into the cloud assembly (after applying
 * .dockerignore), with the Dockerfile the asset manifest names. No Docker engine runs here, so this test
 * checks that staged folder as `docker build` would use it: the Dockerfile is there, every COPY/ADD source
 * of every stage resolves inside it, and the build stage's own steps (npm ci of the image's own lockfile,
 * each esbuild command, the onnxruntime trim) succeed from a copy of it. The runtime stage is then put
 * together from what the build left, and every command of its entry point runs from it: nothing it loads
 * may come from the kit's own install.
 */
import { execFileSync, execSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { PNG } from 'pngjs';
import { synthBackend } from '../infra/synth';
import { csvToParquet } from '../support/dataset-parquet';
import { defined } from '../support/defined';
import { startBundle } from '../support/server-bundle';
import { BREAST_CANCER, DIGITS, parity } from './helpers';

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

interface Stage {
  readonly name?: string;
  readonly workdir?: string;
  /** The stage's instructions after FROM. */
  readonly steps: string[];
}

/** The stages of a Dockerfile, with their names and last WORKDIR. */
function stagesOf(instructions: string[]): Stage[] {
  const stages: { name?: string; workdir?: string; steps: string[] }[] = [];
  for (const line of instructions) {
    if (/^FROM\s/i.test(line)) stages.push({ name: /\sAS\s+(\S+)$/i.exec(line)?.[1], steps: [] });
    else {
      const stage = defined(stages.at(-1), 'a FROM before the first instruction');
      if (/^WORKDIR\s/i.test(line)) stage.workdir = line.split(/\s+/)[1];
      stage.steps.push(line);
    }
  }
  return stages;
}

/**
 * A COPY into `workdir` (a folder standing for the stage's WORKDIR), from `context`; with `from`, only a
 * `COPY --from=<from>` whose absolute sources lie under that stage's `root`, which `context` stands for.
 */
function copyInto(copy: string, context: string, workdir: string, from?: { from: string; root: string }): void {
  const words = copy.split(/\s+/).slice(1);
  const flag = words.find((w) => w.startsWith('--from='));
  expect(flag).toBe(from && `--from=${from.from}`);
  const [dest, ...sources] = words.filter((w) => !w.startsWith('--')).reverse();
  const target = join(workdir, defined(dest, 'a COPY destination'));
  for (const s of sources.reverse()) {
    const path = from ? join(context, posix.relative(from.root, s)) : join(context, s);
    expect({ copy, source: s, exists: existsSync(path) }).toEqual({ copy, source: s, exists: true });
    // A single source to a destination not ending in / is renamed; several land in the folder by name.
    const into = dest?.endsWith('/') || sources.length > 1 ? join(target, basename(s)) : target;
    cpSync(path, into, { recursive: true });
  }
}

/** Starts `node server.js serve` on a model, posts one body to /invocations, and stops it with SIGTERM. */
async function servesFrom(file: string, model: string, body: unknown): Promise<void> {
  const server = await startBundle(file, model);
  let code: number | null | undefined;
  try {
    const ping = await fetch(`http://127.0.0.1:${server.port}/ping`);
    expect(ping.status).toBe(200);
    const reply = await fetch(`http://127.0.0.1:${server.port}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect({ model, status: reply.status, text: reply.status === 200 ? '' : await reply.text() }).toEqual({ model, status: 200, text: '' });
    expect(((await reply.json()) as { predictions: unknown[] }).predictions).toHaveLength(1);
  } finally {
    code = await server.stop();
  }
  expect(code).toBe(0);
}

/** An 8x8 PNG of the first digit of the digits model's parity file (0..16 pixels scaled to 0..255). */
function digitPng(): string {
  const pixels = defined(parity(DIGITS).rows[0], 'a parity row').input;
  const img = new PNG({ width: 8, height: 8 });
  pixels.forEach((p, i) => {
    const v = Math.round((p * 255) / 16);
    img.data.set([v, v, v, 255], i * 4);
  });
  return PNG.sync.write(img).toString('base64');
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

  test('the build stage runs from a copy of the staged folder, and every command of the runtime stage loads from what it installed', async () => {
    const { source } = defined(images[0], 'the first staged image');
    const staged = join(outdir, source.directory);
    const instructions = instructionsOf(readFileSync(join(staged, source.dockerFile ?? 'Dockerfile'), 'utf8'));
    scratch = mkdtempSync(join(tmpdir(), 'mlship-image-build-'));
    const stages = stagesOf(instructions);
    expect(stages.map((s) => s.name)).toEqual(['build', undefined]);
    const [build, runtime] = stages as [Stage, Stage];

    // WHEN the build stage runs here, each COPY from the staged context and each RUN verbatim (npm ci from
    // the npm cache where it can: CI has just run npm ci)
    const src = join(scratch, 'src');
    for (const step of build.steps) {
      if (step.startsWith('COPY ')) copyInto(step, staged, src);
      else if (step.startsWith('RUN '))
        execSync(step.slice(4) + (/^RUN npm ci\b/.test(step) ? ' --prefer-offline' : ''), { cwd: src, stdio: 'pipe', timeout: 240_000 });
    }
    expect(build.workdir).toBe('/src');

    // AND the runtime stage is assembled from what the build stage left (its only COPYs are --from=build)
    const app = join(scratch, 'app');
    expect(runtime.workdir).toBe('/app');
    const copies = runtime.steps.filter((l) => l.startsWith('COPY '));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) copyInto(copy, src, app, { from: 'build', root: '/src' });
    // Nothing of the kit's install is there: the bundle and onnxruntime only.
    expect(readdirSync(join(app, 'node_modules')).sort()).toEqual(['onnxruntime-common', 'onnxruntime-node']);

    // THEN the entry point offers serve, batch, snapshot and evaluate, and each loads
    const entry = JSON.parse(
      defined(
        runtime.steps.find((l) => l.startsWith('ENTRYPOINT ')),
        'ENTRYPOINT',
      ).slice(11),
    ) as string[];
    expect(entry).toEqual(['node', '/app/server.js']);
    const server = join(app, 'server.js');
    const run = (args: string[]) =>
      execFileSync(process.execPath, [server, ...args], { cwd: app, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const commands = [...run(['--help']).matchAll(/^ {2}(\w+)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    expect(commands.sort()).toEqual(['batch', 'evaluate', 'serve', 'snapshot']);
    for (const command of commands) expect(run([command, '--help'])).toMatch(new RegExp(`^Usage: \\S+ ${command} `));

    // AND serve answers an image (its decoding worker) and a row (onnxruntime), as the image starts it
    await servesFrom(server, DIGITS, { instances: [{ b64: digitPng() }] });
    await servesFrom(server, BREAST_CANCER, { instances: [parity(BREAST_CANCER).rows[0]?.input] });

    // AND batch scores rows on its worker threads, from CSV into Parquet and from Parquet (zstd-capable reader)
    const rows = parity(BREAST_CANCER).rows;
    const manifest = JSON.parse(readFileSync(join(BREAST_CANCER, 'model.json'), 'utf8')) as { input: { features: { name: string }[] } };
    const csv = join(scratch, 'rows.csv');
    writeFileSync(
      csv,
      `id,${manifest.input.features.map((f) => f.name).join(',')}\n${rows.map((r, i) => `r${i},${r.input.join(',')}`).join('\n')}\n`,
    );
    csvToParquet(csv, join(scratch, 'rows.parquet'));
    const batch = (input: string, output: string) =>
      JSON.parse(run(['batch', '--input', input, '--output', output, '--model', BREAST_CANCER, '--workers', '1', '--json'])) as {
        rows: number;
        rejected: number;
      };
    expect(batch(csv, join(scratch, 'scored.parquet'))).toMatchObject({ rows: rows.length, rejected: 0 });
    expect(batch(join(scratch, 'rows.parquet'), join(scratch, 'scored.jsonl'))).toMatchObject({ rows: rows.length, rejected: 0 });
    const labels = readFileSync(join(scratch, 'scored.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { label: string }).label);
    expect(labels).toEqual(rows.map((r) => r.label));
  }, 300_000);
});
