/**
 * Bundle size and cold-start cost of each Lambda handler: the production bundle, built exactly as the
 * CDK functions build it (lib/constructs/lambda-bundle.ts: ES modules split so rarely used clients load
 * only when used, minified, tree-shaken, the SDK's ES module builds) side by side with a naive
 * bundle (esbuild's defaults: the SDK's CommonJS builds, which hold every command of a client, not
 * minified). Each measurement runs in a fresh node process: time to load the module, then time of the
 * first call against real local services (dynalite, s3rver, the local SQS and the model server). The
 * production bundle runs as deployed, with its source map read at load (`--enable-source-maps`); the
 * naive one has none.
 *
 *   npx tsx bench/bundles/bench.ts [--runs 7] [--only predict] [--profile DIR]
 *
 * `--profile DIR` writes a V8 CPU profile of every measured process into DIR (open it in Chrome's
 * DevTools) to see where a cold start spends its time.
 */

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { startServer } from '../../container/src/server';
import { ANALYTICS_OFF, ENV } from '../../contract/env';
import { ENTRY_NAME, lambdaBuildOptions } from '../../lib/constructs/lambda-bundle';
import { dynamoClient, ensureTable, startDynamoDb } from '../../local/dynamodb';
import { startS3 } from '../../local/s3';
import { startSqsServer } from '../../local/sqs-server';

const ROOT = resolve(__dirname, '../..');
const HANDLERS = ['predict', 'query', 'feedback', 'meta', 'replay'] as const;
type Handler = (typeof HANDLERS)[number];
const MODEL_DIR = join(ROOT, 'models/breast-cancer');
const flag = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runs = Number(flag('--runs')) || 7;
const only = flag('--only');
const profileDir = flag('--profile');
if (only !== undefined && !(HANDLERS as readonly string[]).includes(only)) throw new Error(`--only takes one of ${HANDLERS.join(', ')}`);

const naive: BuildOptions = { bundle: true, platform: 'node', format: 'cjs', logLevel: 'error' };

async function main(): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'mlship-bundles-'));
  const dir = mkdtempSync(join(tmpdir(), 'mlship-bench-'));
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const [ddb, s3, sqs, model] = await Promise.all([
    startDynamoDb({}),
    startS3({ dir: join(dir, 's3'), bucket: 'mlship-bench-data' }),
    startSqsServer({ queues: ['dlq'] }),
    startServer({ modelDir: MODEL_DIR, workers: 0 }),
  ]);
  await ensureTable(dynamoClient(ddb.url), 'bench-predictions');
  const env: Record<string, string> = {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    [ENV.PREDICTION_TABLE]: 'bench-predictions',
    [ENV.DATA_BUCKET]: 'mlship-bench-data',
    [ENV.BACKEND]: 'fargate',
    [ENV.MODEL_URL]: model.url,
    [ENV.LOG_DLQ_URL]: sqs.queueUrl('dlq'),
    [ENV.MODEL_MANIFEST_PATH]: join(MODEL_DIR, 'model.json'),
    [ENV.MODEL_BASELINE_PATH]: join(MODEL_DIR, 'baseline.json'),
    [ENV.DASHBOARD_DIR]: join(ROOT, 'web', 'dist'),
    [ENV.LOG_TTL_DAYS]: '0',
    [ENV.OPERATOR_KEY_IDS]: 'bench',
    // No analytics store: the query function's long windows are off, as with analytics=false.
    [ENV.ANALYTICS_WORKGROUP]: ANALYTICS_OFF,
    [ENV.ANALYTICS_DATABASE]: ANALYTICS_OFF,
    [ENV.DYNAMODB_URL]: ddb.url,
    [ENV.S3_URL]: s3.url,
    [ENV.SQS_URL]: sqs.url,
  };
  const rows: string[] = [];
  const results: Record<string, unknown> = {};
  let floor: Figures | undefined;
  try {
    for (const h of HANDLERS.filter((x) => only === undefined || x === only)) {
      const entry = join(ROOT, 'lambda', `${h}.ts`);
      const prod = await buildProduction(entry, join(out, 'production', h));
      const files: Record<'production' | 'naive', string> = { production: prod.file, naive: join(out, 'naive', `${h}.js`) };
      await build({ ...naive, entryPoints: [entry], outfile: files.naive });
      const m: Record<string, Figures> = {};
      for (const variant of ['production', 'naive'] as const) {
        const samples: Sample[] = [];
        for (let i = 0; i < runs; i++) samples.push(await measure(files[variant], h, env));
        m[variant] = {
          bytes: variant === 'production' ? prod.coldBytes : statSync(files[variant]).size,
          loadMs: median(samples.map((s) => s.load)),
          firstCallMs: median(samples.map((s) => s.first)),
          cpuMs: median(samples.map((s) => s.loadCpu + s.firstCpu)),
        };
      }
      const wall = (v: Figures) => v.loadMs + v.firstCallMs;
      const ratio = wall(m.production) / wall(m.naive);
      const cpuRatio = m.production.cpuMs / m.naive.cpuMs;
      results[h] = { ...m, ratio, cpuRatio };
      rows.push(
        [
          h.padEnd(9),
          kb(m.production.bytes),
          kb(m.naive.bytes),
          ms(m.production.loadMs),
          ms(m.production.firstCallMs),
          ms(m.naive.loadMs),
          ms(m.naive.firstCallMs),
          ratio.toFixed(2).padStart(6),
          ms(m.production.cpuMs),
          ms(m.naive.cpuMs),
          cpuRatio.toFixed(2).padStart(6),
        ].join(' '),
      );
    }
    if (only === undefined || only === 'predict') floor = await measureFloor(out, env);
  } finally {
    await Promise.all([ddb.close(), s3.close(), sqs.close(), model.close()]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
  console.log(`median of ${runs} fresh processes each; node ${process.version}; first call against local dynalite/s3rver/SQS/model server`);
  console.log('handler     prod KB naive KB  prod load   prod 1st naive load  naive 1st  wall×   prod CPU  naive CPU   CPU×');
  for (const r of rows) console.log(r);
  const naivePredict = results.predict as { naive: Figures } | undefined;
  if (floor !== undefined && naivePredict !== undefined) {
    const naiveWall = naivePredict.naive.loadMs + naivePredict.naive.firstCallMs;
    console.log(
      `floor: a bundle holding only the DynamoDB client (${kb(floor.bytes).trim()} KB), one PutItem: load ${ms(floor.loadMs).trim()} + first call ${ms(floor.firstCallMs).trim()}` +
        ` = ${((floor.loadMs + floor.firstCallMs) / naiveWall).toFixed(2)}× the naive predict bundle's load + first call`,
    );
    results.floor = floor;
  }
  if (only !== undefined) return; // results.json holds whole runs only
  mkdirSync(__dirname, { recursive: true });
  writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify({ node: process.version, runs, results }, null, 2)}\n`);
}

/**
 * The bundle exactly as the CDK functions build it (lib/constructs/lambda-bundle.ts). Its size is what
 * a cold start loads: the entry and the chunks it imports statically, not the lazily imported ones.
 */
async function buildProduction(entry: string, outdir: string, nodePaths?: string[]): Promise<{ file: string; coldBytes: number }> {
  const result = await build({ ...lambdaBuildOptions(entry, outdir), metafile: true, ...(nodePaths ? { nodePaths } : {}) });
  const file = join(outdir, `${ENTRY_NAME}.mjs`);
  return { file, coldBytes: staticClosureBytes(result.metafile, file) };
}

/** Bytes of an output file and every output it imports statically, transitively. */
function staticClosureBytes(meta: Metafile, file: string): number {
  const byPath = new Map(Object.entries(meta.outputs).map(([p, o]) => [resolve(p), o]));
  const seen = new Set<string>();
  const visit = (p: string): number => {
    if (seen.has(p)) return 0;
    seen.add(p);
    const o = byPath.get(p);
    if (o === undefined) return 0;
    // Paths in the metafile, keys and imports alike, are relative to the working directory.
    return o.bytes + o.imports.filter((i) => i.kind === 'import-statement' && !i.external).reduce((n, i) => n + visit(resolve(i.path)), 0);
  };
  return visit(resolve(file));
}

/**
 * What no bundling can beat: every predict call writes its log item before answering, so a cold start
 * holds at least the DynamoDB client's load and its first PutItem.
 */
async function measureFloor(out: string, env: Record<string, string>): Promise<Figures> {
  const source = join(out, 'floor.ts');
  writeFileSync(
    source,
    [
      `import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';`,
      `const client = new DynamoDBClient({ endpoint: process.env.${ENV.DYNAMODB_URL} });`,
      `export const handler = () => client.send(new PutItemCommand({ TableName: process.env.${ENV.PREDICTION_TABLE}, Item: { id: { S: 'floor-' + Date.now() } } }));`,
    ].join('\n'),
  );
  // The cheapest form to load: one minified CommonJS file, no source map.
  const file = join(out, 'floor', 'floor.js');
  await build({
    ...naive,
    entryPoints: [source],
    outfile: file,
    target: 'node22',
    minify: true,
    mainFields: ['module', 'main'],
    nodePaths: [join(ROOT, 'node_modules')],
  });
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(await measure(file, 'floor', env));
  return {
    bytes: statSync(file).size,
    loadMs: median(samples.map((x) => x.load)),
    firstCallMs: median(samples.map((x) => x.first)),
    cpuMs: median(samples.map((x) => x.loadCpu + x.firstCpu)),
  };
}

/** One cold start in a fresh process: module load, then the first call of a representative request. */
/** Runs asynchronously: the model server and the local services answer from this process meanwhile. */
async function measure(bundle: string, h: Handler | 'floor', env: Record<string, string>): Promise<Sample> {
  const esm = bundle.endsWith('.mjs');
  const script = `(async () => {
    const { performance } = require('node:perf_hooks');
    const event = ${JSON.stringify(firstEvent(h))};
    // The Lambda runtime client is itself an ES module: Node's module loader is up before any handler
    // loads. Start it here too, so neither variant is charged for it.
    await import('node:path');
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    // As the Lambda runtime loads them: an ES module with import(), CommonJS with require().
    const mod = ${esm ? `await import(${JSON.stringify(pathToFileURL(bundle).href)})` : `require(${JSON.stringify(bundle)})`};
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    const res = await mod.handler(event);
    const t2 = performance.now();
    const c2 = process.cpuUsage();
    const cpu = (a, b) => (b.user - a.user + b.system - a.system) / 1000;
    const status = res && res.statusCode;
    if (status !== undefined && status >= 500) throw new Error('first call failed: ' + JSON.stringify(res));
    process.stderr.write(JSON.stringify({ load: t1 - t0, first: t2 - t1, loadCpu: cpu(c0, c1), firstCpu: cpu(c1, c2) }) + '\\n');
    process.exit(0);
  })().catch((e) => { console.error(e); process.exit(1); });`;
  const profile = profileDir
    ? [
        '--cpu-prof',
        '--cpu-prof-interval',
        '100',
        '--cpu-prof-dir',
        resolve(profileDir),
        '--cpu-prof-name',
        `${h}-${variantOf(bundle)}-${Date.now()}.cpuprofile`,
      ]
    : [];
  const sourceMaps = variantOf(bundle) === 'production' ? ['--enable-source-maps'] : [];
  const { stderr: outText } = await promisify(execFile)(process.execPath, ['--no-deprecation', ...sourceMaps, ...profile, '-e', script], {
    // Only PATH from this process: the handler sees the environment its function would have, nothing more.
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = outText
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{"load"'))
    .pop();
  if (line === undefined) throw new Error(`no measurement from ${bundle}: ${outText}`);
  return JSON.parse(line) as Sample;
}

/** `production`, `naive` or `floor`, from the bundle's folder. */
function variantOf(bundle: string): string {
  return ['production', 'naive', 'floor'].find((v) => bundle.includes(`/${v}/`)) ?? 'unknown';
}

/** Wall-clock and CPU milliseconds of one cold start (CPU time is steadier on a busy machine). */
interface Sample {
  load: number;
  first: number;
  loadCpu: number;
  firstCpu: number;
}

function firstEvent(h: Handler | 'floor'): unknown {
  const row = (JSON.parse(readFileSync(join(MODEL_DIR, 'parity.json'), 'utf8')) as { rows: { input: number[] }[] }).rows[0].input;
  const api = (method: string, resource: string, extra: Record<string, unknown> = {}) => ({
    resource,
    path: resource,
    httpMethod: method,
    headers: { 'content-type': 'application/json' },
    queryStringParameters: null,
    pathParameters: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'bench', identity: { apiKeyId: 'bench' } },
    ...extra,
  });
  switch (h) {
    case 'predict':
      return api('POST', '/predict', { body: JSON.stringify({ instances: [row] }) });
    case 'query':
      return api('GET', '/predictions', { queryStringParameters: { limit: '5' } });
    case 'feedback':
      return api('POST', '/predictions/{id}/feedback', {
        pathParameters: { id: '01JBENCH0000000000000000AA' },
        body: '{"label":"benign"}',
      });
    case 'meta':
      return api('GET', '/model');
    case 'replay':
      return { Records: [] };
    case 'floor':
      return {};
  }
}

interface Figures {
  bytes: number;
  loadMs: number;
  firstCallMs: number;
  /** CPU time of load + first call. */
  cpuMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
const kb = (b: number) => (b / 1024).toFixed(0).padStart(8);
const ms = (x: number) => `${x.toFixed(1)}ms`.padStart(10);

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
