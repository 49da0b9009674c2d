/**
 * The model server as the image ships it: the Dockerfile's own `RUN npx esbuild container/src/main.ts …`
 * command run into a scratch folder, with only onnxruntime beside the bundle (as in the runtime stage).
 * Tests start it to prove the image's entry point serves; benchmarks measure it, since what runs under
 * tsx (a module per file, exports read through getters) is not what a deployment runs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** The Dockerfile's instructions, continuation lines joined, comments and blank lines dropped. */
export function dockerfileInstructions(root = ROOT): string[] {
  return readFileSync(path.join(root, 'container/Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export interface ServerBundle {
  /** The bundle's entry point (`server.js`), started as `node server.js serve`. */
  readonly file: string;
  /** The esbuild arguments the Dockerfile gives, outfile excluded. */
  readonly args: readonly string[];
  /** Removes the scratch folder. */
  remove(): void;
}

/**
 * Builds the model server bundle with the Dockerfile's esbuild command into a new scratch folder: of this
 * checkout, or of the commit `ref` names (its own sources and Dockerfile, this checkout's node_modules), so
 * a benchmark can run an earlier release beside this one.
 */
export function buildServerBundle(ref?: string): ServerBundle {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-bundle-'));
  try {
    let root = ROOT;
    if (ref !== undefined) {
      root = path.join(dir, 'src');
      mkdirSync(root);
      execFileSync('sh', ['-c', `git -C "${ROOT}" archive "$REF" | tar -x -C "${root}"`], { env: { ...process.env, REF: ref } });
      symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
    }
    const command = dockerfileInstructions(root).find((l) => l.startsWith('RUN npx esbuild container/src/main.ts'));
    if (command === undefined) throw new Error('container/Dockerfile has no `RUN npx esbuild container/src/main.ts` step');
    const args = command
      .replace(/^RUN npx esbuild /, '')
      .split(/\s+/)
      .filter((a) => !a.startsWith('--outfile='));
    const file = path.join(dir, 'server.js');
    execFileSync(path.join(ROOT, 'node_modules/.bin/esbuild'), [...args, `--outfile=${file}`, '--log-level=warning'], { cwd: root });
    mkdirSync(path.join(dir, 'node_modules'));
    for (const pkg of ['onnxruntime-node', 'onnxruntime-common'])
      symlinkSync(path.join(ROOT, 'node_modules', pkg), path.join(dir, 'node_modules', pkg));
    return { file, args, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

export interface RunningBundle {
  readonly port: number;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts a server bundle as the image does (`node server.js serve`) on `model`, one worker on a free port, once it logs ready. */
export async function startBundle(file: string, model: string): Promise<RunningBundle> {
  const child = spawn(process.execPath, [file, 'serve', '--model', model, '--port', '0', '--workers', '1', '--host', '127.0.0.1'], {
    cwd: path.dirname(file),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = () => {
    child.kill('SIGTERM');
    return exited;
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /"msg":"ready".*?"port":(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      void exited.then((code) => reject(new Error(`the bundle exited ${code}: ${out}`)));
    });
    return { port, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
