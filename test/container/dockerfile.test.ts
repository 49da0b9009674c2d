/**
 * The image cannot be built here (no Docker engine), so its invariants are linted, and the exact
 * esbuild command of the Dockerfile is run: the bundle must start as the ENTRYPOINT starts it, answer
 * /ping and /invocations, and exit 0 on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { buildServerBundle, dockerfileInstructions, type ServerBundle, startBundle } from '../support/server-bundle';
import { BREAST_CANCER, parity, ROOT } from './helpers';

const dockerfile = readFileSync(path.join(ROOT, 'container/Dockerfile'), 'utf8');
// Instructions with their continuation lines joined.
const instructions = dockerfileInstructions(ROOT);
const dockerignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

describe('Dockerfile invariants', () => {
  const froms = instructions.filter((l) => /^FROM /i.test(l));
  // The last stage, with continuation lines joined.
  const runtime = instructions.slice(instructions.lastIndexOf(froms[froms.length - 1])).join('\n');

  test('is multi-stage on node:22 slim images pinned by digest, the tag kept for readers, never `latest`', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) {
      expect(f).toMatch(/^FROM node:22[\w.-]*-slim@sha256:[0-9a-f]{64}(\s+AS\s+\w+)?$/);
      expect(f).not.toMatch(/:latest\b/);
    }
    // One base for both stages: the bundle is built by the Node it runs on.
    expect(new Set(froms.map((f) => f.split(/\s+/)[1])).size).toBe(1);
  });

  test('the runtime stage runs as a non-root user with a HEALTHCHECK on /ping', () => {
    const user = /^USER\s+(\S+)/m.exec(runtime)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime).toMatch(/^HEALTHCHECK .*CMD .*\/ping/m);
    expect(runtime).toMatch(/^EXPOSE 8080$/m);
  });

  test('starts as SageMaker starts it: `node /app/server.js serve`', () => {
    expect(instructions).toContain('ENTRYPOINT ["node", "/app/server.js"]');
    expect(instructions[instructions.length - 1]).toBe('CMD ["serve"]');
  });

  test("installs the image's own locked dependencies with the repository .npmrc and keeps only linux/x64 onnxruntime binaries", () => {
    expect(dockerfile).toMatch(/^COPY container\/package\.json container\/package-lock\.json \.npmrc \.\/$/m);
    expect(dockerfile).toMatch(/RUN npm ci /);
    expect(dockerfile).toMatch(/! -name linux/);
    expect(dockerfile).toMatch(/! -name x64/);
    // Only the bundle and onnxruntime reach the runtime stage.
    const copies = runtime.split('\n').filter((l) => l.startsWith('COPY'));
    expect(copies.every((l) => l.startsWith('COPY --from=build'))).toBe(true);
  });

  test('.dockerignore allow-lists what the build copies and never sends node_modules or cdk.out', () => {
    expect(dockerignore[0]).toBe('*');
    const allowed = dockerignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
    for (const bad of ['node_modules', 'cdk.out']) {
      expect(allowed.some((a) => a.startsWith(bad))).toBe(false);
      expect(dockerignore).toContain(`**/${bad}`);
    }
    const sources = instructions.filter((l) => /^COPY /.test(l) && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    for (const src of sources) expect(allowed.some((a) => a === src || a === `${src}/`)).toBe(true);
  });
});

describe('the bundle the Dockerfile builds', () => {
  let bundle: ServerBundle | undefined;
  afterAll(() => bundle?.remove());

  test('the Dockerfile esbuild command bundles main.ts, and the bundle serves and stops like the image', async () => {
    // GIVEN the Dockerfile's own esbuild command, writing into a scratch /app with only onnxruntime beside it
    bundle = buildServerBundle();
    expect(bundle.args.find((a) => !a.startsWith('--'))).toBe('container/src/main.ts');
    const outfile = bundle.file;

    // WHEN it starts as `node /app/server.js serve`
    const server = await startBundle(outfile, BREAST_CANCER);
    let code: number | null | undefined;
    try {
      // THEN it answers /ping and /invocations
      expect(await get(server.port, '/ping')).toMatchObject({ status: 200 });
      const row = parity(BREAST_CANCER).rows[0];
      const reply = await post(server.port, JSON.stringify({ instances: [row.input] }));
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.text).predictions[0].label).toBe(row.label);
    } finally {
      code = await server.stop();
    }
    // AND exits 0 on SIGTERM
    expect(code).toBe(0);
  });
});

function get(port: number, route: string): Promise<{ status: number; text: string }> {
  return call(port, 'GET', route);
}

function post(port: number, body: string): Promise<{ status: number; text: string }> {
  return call(port, 'POST', '/invocations', body);
}

function call(port: number, method: string, route: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: route, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
